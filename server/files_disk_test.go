//go:build linux

package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"huddle/internal/testutil"
	"huddle/protocol"
)

// TestFileUploadDiskFull: an upload that runs out of disk space mid-way is
// answered 507 and keeps exactly the bytes it could write (the file and
// the running hash agree), so that once there is room again the client
// resumes from the server's offset and the stored file is the one sent.
// The data directory is a 4 MiB tmpfs the test mounts (as root only).
func TestFileUploadDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v): run as root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Data = mnt // the database stays on the TempDir TestConfig chose
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("nina")
	b, _ := e.newUser("omar")

	// Leave a little more than 1 MiB free for an upload of 2 MiB, not a
	// multiple of the reads, so that the write that fails writes part of
	// its bytes first.
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*int64(st.Bsize)-(1<<20+3*4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(2 << 20)
	up := upload(t, a, protocol.Conversation{User: "omar"}, "big.bin", data)
	resp := patch(t, up, 0, data)
	wantStatus(t, "upload onto a full disk", resp, http.StatusInsufficientStorage)
	var body struct{ Error protocol.Error }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != protocol.CodeUnavailable {
		t.Fatalf("error body %+v (%v), want code %s", body, err, protocol.CodeUnavailable)
	}
	have, err := strconv.Atoi(head(t, up).Get("Upload-Offset"))
	if err != nil || have <= 0 || have >= len(data) {
		t.Fatalf("after the full disk the server has %d bytes (%v), want some of %d", have, err, len(data))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	resp = patch(t, up, int64(have), data[have:])
	wantStatus(t, "the rest, with room again", resp, http.StatusCreated)
	var info protocol.FileInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.SHA256 != sum(data) {
		t.Fatalf("stored %+v (%v), want sha256 %s", info, err, sum(data))
	}
	d := download(t, b, info.File)
	if resp, got := get(t, d.URL, d.Token); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("download %s, %d bytes; want the %d sent", resp.Status, len(got), len(data))
	}
}
