// Package pipehash hashes bytes on a goroutine of its own while the caller
// reads (and writes) the next ones. SHA-256 runs at about 1.3 GiB/s on one
// core here: done on the goroutine that moves the bytes, it was half of
// that goroutine's time, and a transfer ran at the speed of the two in
// series.
package pipehash

import (
	"hash"
	"sync"
)

// buffers is how many buffers a Pipe goes round with: one being hashed,
// one being filled, one spare.
const buffers = 3

// Pipe feeds h from a goroutine of its own. Buffers go round: Buffer, then
// Sum (hashed, then free again); Close waits until everything handed to
// Sum is hashed. One goroutine at a time may use a Pipe.
type Pipe struct {
	h    hash.Hash
	free chan []byte
	full chan []byte
	wg   sync.WaitGroup
}

// New starts a Pipe into h with buffers of size bytes. Until Close returns
// h is the Pipe's.
func New(h hash.Hash, size int) *Pipe {
	p := &Pipe{h: h, free: make(chan []byte, buffers), full: make(chan []byte, buffers)}
	for range buffers {
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

// Buffer returns a free buffer, waiting for the hash to release one.
func (p *Pipe) Buffer() []byte { return <-p.free }

// Sum hands b, a buffer from Buffer (empty or not), to the hash. Every
// buffer taken must be handed back, so that Buffer does not wait forever.
func (p *Pipe) Sum(b []byte) { p.full <- b }

// Close waits until every byte handed to Sum is hashed; h is then the
// caller's again.
func (p *Pipe) Close() {
	close(p.full)
	p.wg.Wait()
}
