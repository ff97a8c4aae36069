// Package writeback has the kernel write a file being appended to as the
// bytes arrive (Linux: fdatasync every few MiB, on a goroutine of its
// own), so that the fsync that makes it durable waits for the tail only.
// Uploads on the server and downloads in the client use it; it promises no
// durability itself.
package writeback

import (
	"os"
	"sync"
)

// Chunk is how many bytes of a file arrive between two fdatasyncs (see
// File). Small enough that the final fsync has little left to wait for and
// that the dirty pages a transfer holds stay a few chunks; big enough that
// there are few of them (128 per GiB), and they run off the copying
// goroutine.
const Chunk = 8 << 20

// File follows the bytes appended to a file and, every Chunk, has the
// kernel write what the file holds so far to disk and the disk flush its
// cache (Linux: fdatasync). Without it the bytes of a big file pile up in
// memory and the fsync before the rename writes them all at once, after
// the last byte: 0.5–0.8 s per GiB that an upload or a download waited for.
// With it the fsync waits for the last chunk. The fsync stays: what is
// done here is no promise of durability, it only leaves the fsync less to
// do.
//
// Why a flush and not only write-back (sync_file_range, used before): on a
// virtual disk whose host caches writes, the pages reach the host's cache
// as they come, but the host writes its cache out only when the guest
// flushes, so the final fsync still waited ~0.5 s per GiB for the host;
// flushing along the way spreads that over the transfer.
//
// The system calls run on a goroutine of their own: made by the goroutine
// that copies, they would cost it the kernel's walk over the pages and
// make it wait for the disk. When that goroutine falls behind, chunks
// merge, and the chunks queued while it synced are covered by one more
// fdatasync (it syncs the whole file). With drop the chunks on disk also
// leave the page cache (posix_fadvise DONTNEED), so that the file holds
// about two chunks of memory however big it is: a download drops them, as
// a big file just fetched is seldom read right away; the server keeps an
// upload's, as a recipient usually downloads a new file soon. Elsewhere
// than Linux it does nothing.
type File struct {
	f      *os.File
	drop   bool
	from   int64 // bytes before from were handed to the goroutine
	at     int64 // the file's size
	chunks chan [2]int64
	wg     sync.WaitGroup
	err    error // the goroutine's first, read after close
}

// New follows f, which holds size bytes now. Close must be called before
// f is closed.
func New(f *os.File, size int64, drop bool) *File {
	w := &File{f: f, drop: drop, from: size, at: size, chunks: make(chan [2]int64, 4)}
	w.wg.Go(w.run)
	return w
}

// Wrote tells that n more bytes were appended.
func (w *File) Wrote(n int) {
	w.at += int64(n)
	if w.at-w.from < Chunk {
		return
	}
	select {
	case w.chunks <- [2]int64{w.from, w.at - w.from}:
		w.from = w.at
	default: // behind: the next chunk is bigger
	}
}

func (w *File) run() {
	off := false
	for c := range w.chunks {
		if off || w.err != nil {
			continue
		}
		c = w.merge(c)
		if err := syncData(w.f); err != nil {
			if unsupported(err) {
				off = true // the file system cannot: leave it to the fsync
			} else {
				w.err = err
			}
			continue
		}
		if w.drop {
			dropCache(w.f, c[0], c[1])
		}
	}
}

// merge extends c, the first chunk taken, over the chunks queued behind
// it (they follow it in the file), so that one fdatasync covers them.
func (w *File) merge(c [2]int64) [2]int64 {
	for {
		select {
		case next, ok := <-w.chunks:
			if !ok {
				return c
			}
			c[1] = next[0] + next[1] - c[0]
		default:
			return c
		}
	}
}

// Close waits for the goroutine. An error means a chunk could not be
// written to disk, whatever a later fsync says (it may not report the
// error again): the caller must not keep the file.
func (w *File) Close() error {
	close(w.chunks)
	w.wg.Wait()
	return w.err
}
