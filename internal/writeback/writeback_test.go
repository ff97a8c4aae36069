package writeback

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestWriteBack: a file appended to in pieces, synced along the way (from
// an offset, as a resumed upload is), holds exactly the bytes written.
func TestWriteBack(t *testing.T) {
	for _, drop := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "f")
		head := []byte("bytes of an earlier request")
		if err := os.WriteFile(path, head, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(head)
		wb := New(f, int64(len(head)), drop)
		r := rand.NewChaCha8([32]byte{1})
		for len(want) < 3*Chunk+12345 {
			b := make([]byte, 100_000+r.Uint64()%300_000)
			_, _ = r.Read(b)
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
			wb.Wrote(len(b))
			want = append(want, b...)
		}
		if err := wb.Close(); err != nil {
			t.Fatalf("drop %v: %v", drop, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("drop %v: the file holds %d bytes (%v), not the %d written", drop, len(got), err, len(want))
		}
	}
}

// TestWriteBackError: a chunk that cannot be synced is reported by close.
func TestWriteBackError(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("write-back along the way is Linux's")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every system call on it fails now
	wb := New(f, 0, false)
	wb.Wrote(Chunk)
	if err := wb.Close(); err == nil {
		t.Fatal("close: no error")
	}
}
