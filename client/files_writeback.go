package client

import "os"

// writeBackChunk is how many bytes of a download arrive between two hand-offs
// to the kernel's write-back (see writeBack). Small enough that the final
// fsync has little left to wait for and that the dirty pages a download
// holds stay a few chunks; big enough that the system calls cost nothing
// next to the copy (128 per GiB).
const writeBackChunk = 8 << 20

// writeBack follows the bytes appended to a file and, every writeBackChunk,
// asks the kernel to start writing them to disk (Linux: sync_file_range),
// then waits for the chunk before that one, which has had a chunk's time to
// get there. Without it the bytes of a big file pile up dirty in memory and
// the fsync before the rename writes them all at once, after the last
// byte: 0.55–0.7 s per GiB that the caller waited for. With it the fsync
// waits for the last chunk or two. The fsync stays: write-back started
// here is no promise of durability, it only leaves the fsync less to do.
// With drop the chunks on disk also leave the page cache (posix_fadvise
// DONTNEED), so that the file holds about two chunks of memory however big
// it is; a download drops them, as a big file just fetched is seldom
// read right away (and the server's copy keeps its own). Elsewhere than
// Linux it does nothing.
//
// The server's files package has the same type; client imports only
// protocol, so it keeps its own.
type writeBack struct {
	f       *os.File
	drop    bool
	from    int64 // bytes before from were handed to write-back
	written int64 // bytes before written are on disk
	at      int64 // the file's size
	off     bool  // the file system cannot do it: leave it to the fsync
}

// newWriteBack follows f, which holds size bytes now.
func newWriteBack(f *os.File, size int64, drop bool) *writeBack {
	return &writeBack{f: f, drop: drop, from: size, written: size, at: size}
}

// wrote tells that n more bytes were appended. An error means a chunk
// could not be written to disk: the caller must not keep the file.
func (w *writeBack) wrote(n int) error {
	w.at += int64(n)
	if w.off || w.at-w.from < writeBackChunk {
		return nil
	}
	if err := startWriteBack(w.f, w.from, w.at-w.from); err != nil {
		if unsupported(err) {
			w.off = true
			return nil
		}
		return err
	}
	if w.from > w.written {
		if err := waitWriteBack(w.f, w.written, w.from-w.written); err != nil {
			return err
		}
		if w.drop {
			dropCache(w.f, w.written, w.from-w.written)
		}
		w.written = w.from
	}
	w.from = w.at
	return nil
}
