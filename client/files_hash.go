package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// hashBuffer is the size of the reads that hash a file: 1 MiB reads cost a
// thousand system calls per GiB instead of 32 KiB's thirty thousand.
const hashBuffer = 1 << 20

// HashFile returns the hex SHA-256 of the file at path and its size, as
// UploadFile declares them in file.upload. A caller that keeps the sum of a
// file it may send again (by the file's identity: path, size, times, inode)
// passes it to UploadFileSum and saves this pass over the whole file.
func HashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashAll(ctx, f)
}

// hashAll reads f from its start to its end and hashes it, the reads on
// this goroutine and the hashing on pipeHash's, so that the copy out of the
// page cache (or the disk) overlaps the hashing, which alone runs about as
// fast as one core allows (1.3 GiB/s with SHA-NI).
func hashAll(ctx context.Context, f *os.File) (string, int64, error) {
	readAhead(f)
	h := sha256.New()
	p := newPipeHash(h, hashBuffer)
	var size int64
	var err error
	for err == nil {
		if err = ctx.Err(); err != nil {
			break
		}
		b := p.buffer()
		var n int
		n, err = io.ReadFull(f, b)
		p.sum(b[:n])
		size += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
			break
		}
	}
	p.close()
	if err != nil {
		return "", size, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// hashBuffers is how many buffers a pipeHash goes round with: one being
// hashed, one being filled, one spare.
const hashBuffers = 3

// pipeHash hashes bytes on a goroutine of its own while the next ones are
// read (and, for a download, written): the SHA-256 of a download was half
// of its goroutine's CPU time, which moved the bytes at the speed of the
// two in series. Buffers go round: buffer, then sum (hashed, then free
// again); close waits until everything handed to sum is hashed.
type pipeHash struct {
	h    hash.Hash
	free chan []byte
	full chan []byte
	wg   sync.WaitGroup
}

func newPipeHash(h hash.Hash, size int) *pipeHash {
	p := &pipeHash{h: h, free: make(chan []byte, hashBuffers), full: make(chan []byte, hashBuffers)}
	for range hashBuffers {
		p.free <- make([]byte, size)
	}
	p.wg.Go(func() {
		for b := range p.full {
			p.h.Write(b)
			p.free <- b[:cap(b)] // never blocks: free holds every buffer
		}
	})
	return p
}

// buffer returns a free buffer, waiting for the hash to release one.
func (p *pipeHash) buffer() []byte { return <-p.free }

// sum hands b, a buffer from buffer (empty or not), to the hash.
func (p *pipeHash) sum(b []byte) { p.full <- b }

// close waits until every byte handed to sum is hashed; h is then the
// caller's again.
func (p *pipeHash) close() {
	close(p.full)
	p.wg.Wait()
}
