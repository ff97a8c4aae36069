package client

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestHashFile: HashFile's sum and size for sizes around its read size,
// and the errors of a missing file and of a context that ended.
func TestHashFile(t *testing.T) {
	for _, n := range []int{0, 1, hashBuffer - 1, hashBuffer, hashBuffer + 1, 3*hashBuffer + 7} {
		data := randomBytes(n)
		path := writeTemp(t, "f", data)
		got, size, err := HashFile(context.Background(), path)
		if err != nil || got != sum(data) || size != int64(n) {
			t.Errorf("%d bytes: HashFile = %s, %d, %v; want %s", n, got, size, err, sum(data))
		}
	}
	if _, _, err := HashFile(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("HashFile of a missing file: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := writeTemp(t, "g", randomBytes(2*hashBuffer))
	if _, _, err := HashFile(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("HashFile with a cancelled context: %v", err)
	}
}
