package pipehash

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// TestPipeHashesInOrder: what goes through the pipe, in pieces of every
// size and with empty ones among them, hashes as the same bytes at once.
func TestPipeHashesInOrder(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	h := sha256.New()
	p := New(h, 4096)
	for rest, n := data, 0; len(rest) > 0; n++ {
		b := p.Buffer()
		k := copy(b[:min(len(b), n%5000)], rest)
		rest = rest[k:]
		p.Sum(b[:k])
	}
	p.Close()
	if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatalf("sha256 through the pipe %x, want %x", got, want)
	}
}
