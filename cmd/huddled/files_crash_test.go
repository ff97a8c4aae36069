package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil"
	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

// TestCrashDuringUpload holds the data channel to issue 5: huddled killed
// with SIGKILL while an upload is half done leaves no record of the file,
// the restart clears the unfinished upload's bytes away, and the upload can
// be made again from the start; on each backend.
func TestCrashDuringUpload(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) { testCrashDuringUpload(t, b) })
	}
}

func testCrashDuringUpload(t *testing.T, backend string) {
	bin, dir, args := crashSetup(t, backend)
	uploads := filepath.Join(dir, "files", "tmp")
	ctx := t.Context()

	data := make([]byte, 4<<20+5)
	_, _ = rand.NewChaCha8([32]byte{5}).Read(data)
	src := filepath.Join(t.TempDir(), "crash.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	ask := protocol.FileUpload{Conversation: client.UserChat("bob"), Name: "crash.bin", Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])}

	first := startHuddled(t, bin, args...)
	setup := crashClient(t, first.addr)
	for _, u := range []string{"alice", "bob"} {
		if _, err := setup.Register(ctx, u, u+"@example.com", crashPassword); err != nil {
			t.Fatal(err)
		}
	}
	alice := crashLogin(t, ctx, first.addr, "alice")
	up, err := alice.FileUpload(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}

	// Half the bytes go out, then the PATCH stalls with its connection open.
	// (The server writes whole chunks of 256 KiB while they come: half is
	// a multiple of that, so that all of it reaches the disk.)
	half := 2 << 20
	body, feed := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, up.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", "0")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	patched := make(chan error, 1)
	go func() {
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		patched <- err
	}()
	if _, err := feed.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(uploads, up.File)
	wait.For(t, 15*time.Second, "half the upload on the server's disk", func() bool {
		fi, err := os.Stat(tmp)
		return err == nil && fi.Size() == int64(half)
	})
	first.Kill()
	feed.CloseWithError(io.ErrClosedPipe)
	if err := <-patched; err == nil {
		t.Fatal("the PATCH succeeded although huddled was killed during it")
	}

	second := startHuddled(t, bin, args...)
	if entries, err := os.ReadDir(uploads); err != nil || len(entries) != 0 {
		t.Fatalf("after the restart %s holds %v (%v); want it empty", uploads, entries, err)
	}
	alice = crashLogin(t, ctx, second.addr, "alice")
	bob := crashLogin(t, ctx, second.addr, "bob")
	for name, c := range map[string]*client.Client{"alice": alice, "bob": bob} {
		if files, err := c.FileList(ctx, protocol.FileList{}); err != nil || len(files) != 0 {
			t.Fatalf("%s's files after the crash: %+v, %v", name, files, err)
		}
	}
	if _, err := bob.FileDownload(ctx, up.File); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("download of the unfinished upload after the crash: %v, want not_found", err)
	}

	// Asked again, the upload starts over, and completes.
	again, err := alice.FileUpload(ctx, ask)
	if err != nil || again.Offset != 0 || again.File == up.File {
		t.Fatalf("upload after the crash: %+v, %v; want a new upload from byte 0", again, err)
	}
	info, err := alice.UploadFileSum(ctx, ask.Conversation, src, ask.SHA256, nil)
	if err != nil || info.File != again.File || info.SHA256 != ask.SHA256 {
		t.Fatalf("UploadFileSum after the crash: %+v, %v; want file %s", info, err, again.File)
	}
	dst := filepath.Join(t.TempDir(), "crash.bin")
	if _, err := bob.DownloadFile(ctx, info.File, dst, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes (%v), want the %d uploaded", len(got), err, len(data))
	}
	if err := second.Stop(15 * time.Second); err != nil {
		t.Errorf("huddled did not stop cleanly on SIGTERM: %v", err)
	}
}

// sqliteCrashSetup is crashSetup on SQLite.
func sqliteCrashSetup(t *testing.T) (bin, dir string, args []string) {
	t.Helper()
	return crashSetup(t, "sqlite")
}

// crashSetup skips where huddled cannot be killed with SIGKILL and stopped
// with SIGTERM (and in -short mode), builds it, and returns the arguments
// of a huddled with its data in dir, on backend: "sqlite" (a database file
// in dir) or "mysql" (a fresh database).
func crashSetup(t *testing.T, backend string) (bin, dir string, args []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("kills huddled with SIGKILL and stops it with SIGTERM")
	}
	bin, dir = buildHuddled(t), t.TempDir()
	config := filepath.Join(dir, "huddled.yaml")
	if err := os.WriteFile(config, []byte(crashConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	store := "sqlite:" + filepath.Join(dir, "huddle.db")
	if backend == "mysql" {
		store = "mysql:" + testutil.MySQLDSN(t)
	}
	return bin, dir, []string{"--config", config, "--store", store, "--data", dir}
}

func crashClient(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
