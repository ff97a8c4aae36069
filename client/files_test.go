package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/internal/writeback"
	"huddle/protocol"
)

// The file tests run against a real server on SQLite: the client is only
// as right as its reading of the server's HTTP protocol.

const testPassword = "correct horse battery"

func startFileServer(t *testing.T) string {
	t.Helper()
	srv := testutil.StartServer(t, testutil.TestConfig(t, "sqlite"))
	return srv.Addr().String()
}

// newUser registers name on the server at addr and returns a logged-in
// client.
func newUser(t *testing.T, addr, name string) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Register(testCtx(t), name, name+"@example.com", testPassword); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if _, err := c.Login(testCtx(t), name, testPassword); err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)})
	_, _ = r.Read(b)
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// progressLog records progress calls.
type progressLog struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (p *progressLog) record(done, total int64) {
	p.mu.Lock()
	p.calls = append(p.calls, [2]int64{done, total})
	p.mu.Unlock()
}

// at returns call i, or from the end when i < 0.
func (p *progressLog) at(t *testing.T, i int) [2]int64 {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		t.Fatal("progress was never called")
	}
	if i < 0 {
		i += len(p.calls)
	}
	return p.calls[i]
}

func expectFileNew(t *testing.T, c *Client, id string) protocol.FileInfo {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.Pushes():
			if p.Type != protocol.PushFileNew {
				continue
			}
			var info protocol.FileInfo
			if err := json.Unmarshal(p.Data, &info); err != nil {
				t.Fatal(err)
			}
			if info.File == id {
				return info
			}
		case <-deadline:
			t.Fatalf("no file.new for %s", id)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFileRoundTrip(t *testing.T) {
	addr := startFileServer(t)
	alice, bob := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	if _, err := alice.GroupCreate(testCtx(t), "devs"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.GroupAdd(testCtx(t), "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		size int
		to   protocol.Conversation
	}{{0, UserChat("bob")}, {1, UserChat("bob")}, {3<<20 + 7, UserChat("bob")},
		{2*writeback.Chunk + 5, UserChat("bob")}, // past two write-back chunks on both sides
		{100_000, GroupChat("devs")}} {
		data := randomBytes(tc.size)
		name := fmt.Sprintf("blob-%d.json", tc.size)
		var up progressLog
		info, err := alice.UploadFile(testCtx(t), tc.to, writeTemp(t, name, data), up.record)
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		if info.Name != name || info.Size != int64(tc.size) || info.SHA256 != sum(data) || info.From != "alice" ||
			info.To != tc.to.User+tc.to.Group || info.Type != "application/json" {
			t.Fatalf("uploaded %+v", info)
		}
		if got := up.at(t, -1); got != [2]int64{int64(tc.size), int64(tc.size)} {
			t.Fatalf("last upload progress %v", got)
		}
		expectFileNew(t, bob, info.File)

		path := filepath.Join(out, name)
		var down progressLog
		got, err := bob.DownloadFile(testCtx(t), info.File, path, down.record)
		if err != nil {
			t.Fatalf("download %s: %v", name, err)
		}
		if got.File != info.File || !bytes.Equal(readFile(t, path), data) {
			t.Fatalf("download %s: %+v, bytes equal %v", name, got, bytes.Equal(readFile(t, path), data))
		}
		if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
			t.Fatalf("%s.part left behind: %v", name, err)
		}
		if got := down.at(t, -1); got[0] != int64(tc.size) {
			t.Fatalf("last download progress %v", got)
		}
	}
	files, err := bob.FileList(testCtx(t), protocol.FileList{Limit: 2})
	if err != nil || len(files) != 2 || files[0].Group != "devs" {
		t.Fatalf("bob's files %+v, %v", files, err)
	}

	// Server errors come back as *protocol.Error.
	carol := newUser(t, addr, "carol")
	if _, err := carol.DownloadFile(testCtx(t), files[0].File, filepath.Join(out, "x"), nil); protocol.CodeOf(err) != protocol.CodeForbidden {
		t.Fatalf("carol downloads bob's file: %v", err)
	}
	if _, err := alice.UploadFile(testCtx(t), UserChat("nobody"), writeTemp(t, "x", []byte("x")), nil); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("upload to nobody: %v", err)
	}
	if _, err := alice.UploadFile(testCtx(t), UserChat("bob"), t.TempDir(), nil); err == nil {
		t.Fatal("uploaded a directory")
	}
}

// TestUploadFileSum: a sum the caller knows is declared as it is; a wrong
// one costs the upload, which stores nothing.
func TestUploadFileSum(t *testing.T) {
	addr := startFileServer(t)
	alice, _ := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	data := randomBytes(300_000)
	path := writeTemp(t, "f.bin", data)
	got, size, err := HashFile(testCtx(t), path)
	if err != nil || got != sum(data) || size != int64(len(data)) {
		t.Fatalf("HashFile = %s, %d, %v", got, size, err)
	}
	if _, err := alice.UploadFileSum(testCtx(t), UserChat("bob"), path, sum([]byte("other")), nil); protocol.CodeOf(err) != protocol.CodeBadRequest {
		t.Fatalf("upload with a wrong sum: %v", err)
	}
	if files, err := alice.FileList(testCtx(t), protocol.FileList{Limit: 10}); err != nil || len(files) != 0 {
		t.Fatalf("after a wrong sum alice has files %+v, %v", files, err)
	}
	info, err := alice.UploadFileSum(testCtx(t), UserChat("bob"), path, got, nil)
	if err != nil || info.SHA256 != sum(data) || info.Size != int64(len(data)) {
		t.Fatalf("upload with its sum: %+v, %v", info, err)
	}
}

// patchRaw sends body as the PATCH at offset that an interrupted upload
// got through.
func patchRaw(t *testing.T, up protocol.FileUploadReply, offset int64, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true // no idle connection to outlive the test
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("partial PATCH: %s", resp.Status)
	}
}

// TestUploadResumes: an upload an earlier run left unfinished goes on
// from the bytes the server has, whether it declared its sum (UploadFileSum)
// or gives it at the end (UploadFile, which hashes the part it does not send).
func TestUploadResumes(t *testing.T) {
	addr := startFileServer(t)
	alice, bob := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	data := randomBytes(1 << 20)
	for _, declared := range []bool{false, true} {
		// Another name each time: the first, stored, is the file asked for
		// again with its sum.
		name := fmt.Sprintf("big-%v.bin", declared)
		path := writeTemp(t, name, data)
		ask := protocol.FileUpload{Conversation: UserChat("bob"), Name: name, Size: int64(len(data)), Type: fileType(path)}
		if declared {
			ask.SHA256 = sum(data)
		}
		first, err := alice.FileUpload(testCtx(t), ask)
		if err != nil {
			t.Fatal(err)
		}
		patchRaw(t, first, 0, data[:300_000])

		var p progressLog
		info, err := alice.UploadFileSum(testCtx(t), UserChat("bob"), path, ask.SHA256, p.record)
		if err != nil {
			t.Fatal(err)
		}
		if info.File != first.File || info.SHA256 != sum(data) || p.at(t, 0) != [2]int64{300_000, int64(len(data))} {
			t.Fatalf("declared %v: resumed upload %+v from %v; want file %s from 300000", declared, info, p.at(t, 0), first.File)
		}
		got, err := bob.DownloadFile(testCtx(t), info.File, filepath.Join(t.TempDir(), name), nil)
		if err != nil || got.SHA256 != sum(data) {
			t.Fatalf("declared %v: download %+v, %v", declared, got, err)
		}
	}
}

// TestUploadResumesAtTheEnd: an earlier run sent every byte but died
// before the sum: the next sends no byte again, only the sum, which it
// hashes from the file, on an empty PATCH.
func TestUploadResumesAtTheEnd(t *testing.T) {
	addr := startFileServer(t)
	alice, bob := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	data := randomBytes(300_000)
	path := writeTemp(t, "all.bin", data)
	first, err := alice.FileUpload(testCtx(t), protocol.FileUpload{Conversation: UserChat("bob"), Name: "all.bin",
		Size: int64(len(data)), Type: fileType(path)})
	if err != nil {
		t.Fatal(err)
	}
	patchRaw(t, first, 0, data) // 204: no sum yet

	var p progressLog
	info, err := alice.UploadFile(testCtx(t), UserChat("bob"), path, p.record)
	if err != nil {
		t.Fatal(err)
	}
	if info.File != first.File || info.SHA256 != sum(data) || p.at(t, 0) != [2]int64{int64(len(data)), int64(len(data))} {
		t.Fatalf("upload after all bytes went: %+v from %v; want file %s from the end", info, p.at(t, 0), first.File)
	}
	got, err := bob.DownloadFile(testCtx(t), info.File, filepath.Join(t.TempDir(), "all.bin"), nil)
	if err != nil || got.SHA256 != sum(data) {
		t.Fatalf("download %+v, %v", got, err)
	}
}

// TestUploadResumeOfOtherBytes: when what an earlier run sent is not the
// start of the file now (it changed in between, same name and size), the
// server refuses the whole and UploadFile sends the file anew, once.
func TestUploadResumeOfOtherBytes(t *testing.T) {
	addr := startFileServer(t)
	alice, bob := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	data := randomBytes(1 << 20)
	path := writeTemp(t, "big.bin", data)
	first, err := alice.FileUpload(testCtx(t), protocol.FileUpload{Conversation: UserChat("bob"), Name: "big.bin",
		Size: int64(len(data)), Type: fileType(path)})
	if err != nil {
		t.Fatal(err)
	}
	patchRaw(t, first, 0, randomBytes(300_000)) // the file's start as it was

	var p progressLog
	info, err := alice.UploadFile(testCtx(t), UserChat("bob"), path, p.record)
	if err != nil {
		t.Fatal(err)
	}
	if info.File == first.File || info.SHA256 != sum(data) {
		t.Fatalf("upload after a stale start: %+v; want a new file (not %s) of sha256 %s", info, first.File, sum(data))
	}
	if p.at(t, 0) != [2]int64{300_000, int64(len(data))} || p.at(t, -1) != [2]int64{int64(len(data)), int64(len(data))} {
		t.Fatalf("progress %v … %v: want the resume from 300000, then the whole file", p.at(t, 0), p.at(t, -1))
	}
	got, err := bob.DownloadFile(testCtx(t), info.File, filepath.Join(t.TempDir(), "big.bin"), nil)
	if err != nil || got.SHA256 != sum(data) {
		t.Fatalf("download %+v, %v", got, err)
	}
	if files, err := bob.FileList(testCtx(t), protocol.FileList{Limit: 10}); err != nil || len(files) != 1 {
		t.Fatalf("bob has %+v, %v; want the one file", files, err)
	}
}

func TestDownloadResumes(t *testing.T) {
	addr := startFileServer(t)
	alice, bob := newUser(t, addr, "alice"), newUser(t, addr, "bob")
	data := randomBytes(2<<20 + 3)
	info, err := alice.UploadFile(testCtx(t), UserChat("bob"), writeTemp(t, "f.bin", data), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		part   []byte
		resume int64 // where the first GET starts
	}{
		{"a beginning of the file", data[:700_000], 700_000},
		{"the whole file", data, int64(len(data))},
		{"other content", randomBytes(700_000), 700_000},
		{"longer than the file", randomBytes(len(data) + 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.bin")
			if err := os.WriteFile(path+".part", tc.part, 0o600); err != nil {
				t.Fatal(err)
			}
			var p progressLog
			if _, err := bob.DownloadFile(testCtx(t), info.File, path, p.record); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readFile(t, path), data) {
				t.Fatal("downloaded bytes differ")
			}
			if tc.resume < int64(len(data)) && p.at(t, 0)[0] != tc.resume {
				t.Fatalf("first GET from %v, want %d", p.at(t, 0), tc.resume)
			}
		})
	}
}
