package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"huddle/configs"
	"huddle/internal/testutil/leak"
	"huddle/protocol"
	"huddle/storage"
	"huddle/storage/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leak.Options()...) }

func newService(t *testing.T, dataDir string, cfg configs.Files) (*Service, storage.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "huddle.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := New(cfg, store, dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, store
}

// TestStartRemovesDebris: what unfinished uploads a crash left behind is
// gone at the next start; stored blobs stay.
func TestStartRemovesDebris(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "files", "tmp")
	blob := filepath.Join(dir, "files", "ab", "abcd")
	for _, p := range []string{filepath.Join(tmp, "leftover"), blob} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	newService(t, dir, configs.DefaultConfig().Files)
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Fatalf("tmp after start: %v, %v", entries, err)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("stored blob: %v", err)
	}
}

// TestSweepDropsStaleUploads: an upload that gets no bytes for upload_ttl
// is dropped with its temporary file, and its quota is free again.
func TestSweepDropsStaleUploads(t *testing.T) {
	cfg := configs.DefaultConfig().Files
	cfg.UploadTTL = time.Minute
	cfg.Quota = 100
	s, store := newService(t, t.TempDir(), cfg)
	ctx := context.Background()
	for _, u := range []string{"ann", "ben"} {
		if err := store.CreateUser(ctx, storage.User{Name: u, Email: u + "@example.com", PasswordHash: "x", Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte("data"))
	in := protocol.FileUpload{Conversation: protocol.Conversation{User: "ben"}, Name: "a", Size: 100, SHA256: hex.EncodeToString(sum[:]), Type: "text/plain"}
	up, err := s.Upload(ctx, "ann", in)
	if err != nil {
		t.Fatal(err)
	}
	in.Name = "b"
	if _, err := s.Upload(ctx, "ann", in); protocol.CodeOf(err) != protocol.CodeTooLarge {
		t.Fatalf("second upload over quota: %v", err)
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	s.sweep()
	if _, err := os.Stat(filepath.Join(s.dir, "tmp", up.File)); !os.IsNotExist(err) {
		t.Fatalf("temporary file after sweep: %v", err)
	}
	s.now = time.Now
	if _, err := s.Upload(ctx, "ann", in); err != nil {
		t.Fatalf("upload after the stale one was dropped: %v", err)
	}
}
