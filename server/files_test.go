package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n)})
	_, _ = r.Read(b)
	return b
}

// patch sends body to an upload at offset and returns the response.
func patch(t *testing.T, up protocol.FileUploadReply, offset int64, body []byte) *http.Response {
	t.Helper()
	req := patchRequest(t, up, offset, body)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	return doPatch(t, req)
}

// head is the HEAD of an upload: how much the server has.
func head(t *testing.T, up protocol.FileUploadReply) http.Header {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, up.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+up.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s: %s", up.URL, resp.Status)
	}
	return resp.Header
}

// patchRequest is the PATCH of body to an upload at offset, to send with
// doPatch.
func patchRequest(t *testing.T, up protocol.FileUploadReply, offset int64, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	return req
}

func doPatch(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PATCH: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// get downloads with token and extra headers (e.g. Range).
func get(t *testing.T, url, token string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET body: %v", err)
	}
	return resp, body
}

func wantStatus(t *testing.T, what string, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, want, body)
	}
}

func upload(t *testing.T, c *clientT, to protocol.Conversation, name string, data []byte) protocol.FileUploadReply {
	t.Helper()
	var up protocol.FileUploadReply
	call(t, c, protocol.TypeFileUpload, protocol.FileUpload{Conversation: to, Name: name, Size: int64(len(data)), SHA256: sum(data), Type: "application/x-test"}, &up)
	return up
}

// send uploads data whole and returns the stored file's info.
func sendFile(t *testing.T, c *clientT, to protocol.Conversation, name string, data []byte) protocol.FileInfo {
	t.Helper()
	up := upload(t, c, to, name, data)
	resp := patch(t, up, 0, data)
	wantStatus(t, "upload "+name, resp, http.StatusCreated)
	var info protocol.FileInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("upload reply: %v", err)
	}
	return info
}

// stallPatch starts a PATCH from offset 0 that sends first and then nothing,
// its connection open until the test ends.
func stallPatch(t *testing.T, up protocol.FileUploadReply, first []byte) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, err := http.NewRequest(http.MethodPatch, up.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", "0")
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write(first); err != nil {
		t.Fatal(err)
	}
}

// cutPatch starts a PATCH of all of data from offset 0, sends the first n
// bytes, waits until the server has them, and breaks the connection.
func cutPatch(t *testing.T, up protocol.FileUploadReply, data []byte, n int) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPatch, up.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", "0")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("PATCH answered %s", resp.Status)
		}
		done <- err
	}()
	if _, err := pw.Write(data[:n]); err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(n)
	wait.For(t, 5*time.Second, want+" bytes on the server", func() bool { return head(t, up).Get("Upload-Offset") == want })
	pw.CloseWithError(errors.New("connection broken by the test"))
	if err := <-done; err == nil || !strings.Contains(err.Error(), "broken by the test") {
		t.Fatalf("the broken PATCH: %v, want it broken", err)
	}
}

func download(t *testing.T, c *clientT, id string) protocol.FileDownloadReply {
	t.Helper()
	var d protocol.FileDownloadReply
	call(t, c, protocol.TypeFileDownload, protocol.FileID{File: id}, &d)
	return d
}

func TestFileTransfer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a, _ := e.newUser("alice")
		b, _ := e.newUser("bob")
		c, _ := e.newUser("carol")
		dan, _ := e.newUser("dan")
		// Every online session of a recipient hears of a file, and so do
		// the sender's other sessions.
		b2, _ := e.login("bob")
		a2, _ := e.login("alice")
		call(t, a, protocol.TypeGroupCreate, protocol.GroupName{Group: "devs"}, nil)
		call(t, a, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"bob", "dan"}}, nil)
		wantFileNew := func(what string, info protocol.FileInfo, cs ...*clientT) {
			t.Helper()
			for i, c := range cs {
				var pushed protocol.FileInfo
				expectPush(t, c, protocol.PushFileNew, &pushed)
				if pushed.File != info.File || pushed.Size != info.Size || pushed.SHA256 != info.SHA256 || pushed.Group != info.Group {
					t.Fatalf("%s: file.new to session %d: %+v, stored %+v", what, i, pushed, info)
				}
			}
		}
		wantDownload := func(what string, c *clientT, info protocol.FileInfo, data []byte) {
			t.Helper()
			d := download(t, c, info.File)
			resp, body := get(t, d.URL, d.Token)
			wantStatus(t, what, resp, http.StatusOK)
			if !bytes.Equal(body, data) {
				t.Fatalf("%s: downloaded %d bytes differ from the %d sent", what, len(body), len(data))
			}
			if resp.Header.Get("ETag") != `"`+sum(data)+`"` || !strings.Contains(resp.Header.Get("Content-Disposition"), info.Name) ||
				resp.Header.Get("Content-Type") != "application/x-test" {
				t.Fatalf("%s: headers %v", what, resp.Header)
			}
		}

		for _, size := range []int{0, 1, 3<<20 + 7} {
			data := randomBytes(size)
			name := fmt.Sprintf("blob-%d.bin", size)
			info := sendFile(t, a, protocol.Conversation{User: "bob"}, name, data)
			if info.Size != int64(size) || info.SHA256 != sum(data) || info.From != "alice" || info.To != "bob" || info.Name != name {
				t.Fatalf("stored %+v", info)
			}
			wantFileNew(name, info, b, b2, a2)
			wantDownload(name, b, info, data)
			callErr(t, c, protocol.TypeFileDownload, protocol.FileID{File: info.File}, protocol.CodeForbidden)
		}
		noPush(t, dan, protocol.PushFileNew, 100*time.Millisecond)

		// To a group, of every size: every session of every other member
		// hears of it; outsiders neither hear of it nor may read it.
		var data []byte
		var info protocol.FileInfo
		for _, size := range []int{0, 1, 3<<20 + 7, 100_000} {
			data = randomBytes(size)
			name := fmt.Sprintf("plan-%d.txt", size)
			info = sendFile(t, a, protocol.Conversation{Group: "devs"}, name, data)
			if info.Group != "devs" || info.To != "devs" || info.Size != int64(size) || info.SHA256 != sum(data) || info.Name != name {
				t.Fatalf("group file %+v", info)
			}
			wantFileNew("group "+name, info, b, b2, dan, a2)
			wantDownload("group "+name+" by bob", b, info, data)
			wantDownload("group "+name+" by dan", dan, info, data)
			callErr(t, c, protocol.TypeFileDownload, protocol.FileID{File: info.File}, protocol.CodeForbidden)
		}
		noPush(t, c, protocol.PushFileNew, 100*time.Millisecond)
		callErr(t, c, protocol.TypeFileUpload, protocol.FileUpload{Conversation: protocol.Conversation{Group: "devs"}, Name: "x", SHA256: sum(nil)}, protocol.CodeForbidden)

		// Range requests return exactly the bytes asked for.
		d := download(t, b, info.File)
		resp, body := get(t, d.URL, d.Token, "Range", "bytes=1000-1999")
		wantStatus(t, "range", resp, http.StatusPartialContent)
		if !bytes.Equal(body, data[1000:2000]) {
			t.Fatal("range bytes differ")
		}
		if got := resp.Header.Get("Content-Range"); got != "bytes 1000-1999/100000" {
			t.Fatalf("range: Content-Range %q", got)
		}
		resp, body = get(t, d.URL, d.Token, "Range", "bytes=99990-")
		wantStatus(t, "open range", resp, http.StatusPartialContent)
		if !bytes.Equal(body, data[99990:]) {
			t.Fatal("open range bytes differ")
		}
		resp, body = get(t, d.URL, d.Token, "Range", "bytes=-500")
		wantStatus(t, "suffix range", resp, http.StatusPartialContent)
		if !bytes.Equal(body, data[len(data)-500:]) {
			t.Fatal("suffix range bytes differ")
		}
		resp, _ = get(t, d.URL, d.Token, "Range", "bytes=100000-")
		wantStatus(t, "range past the end", resp, http.StatusRequestedRangeNotSatisfiable)

		var list protocol.FileListReply
		call(t, b, protocol.TypeFileList, protocol.FileList{}, &list)
		if len(list.Files) != 7 || list.Files[0].File != info.File {
			t.Fatalf("bob's files %+v", list.Files)
		}
		call(t, b, protocol.TypeFileList, protocol.FileList{Before: list.Files[1].File, Limit: 1}, &list)
		if len(list.Files) != 1 {
			t.Fatalf("page %+v", list.Files)
		}
		call(t, c, protocol.TypeFileList, protocol.FileList{}, &list)
		if len(list.Files) != 0 {
			t.Fatalf("carol sees %+v", list.Files)
		}

		// A removed member can no longer download, not even with a token
		// handed out before.
		call(t, a, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "devs", Users: []string{"bob"}}, nil)
		callErr(t, b, protocol.TypeFileDownload, protocol.FileID{File: info.File}, protocol.CodeForbidden)
		resp, _ = get(t, d.URL, d.Token)
		wantStatus(t, "download after removal", resp, http.StatusForbidden)
		// Who is a member now may, also of files sent before they joined.
		call(t, a, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"carol"}}, nil)
		wantDownload("group file by a member who joined later", c, info, data)
	})
}

func TestFileResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a, _ := e.newUser("dave")
		e.register(e.dial(), "erin")
		data := randomBytes(1 << 20)
		to := protocol.Conversation{User: "erin"}
		first := upload(t, a, to, "big.bin", data)
		wantStatus(t, "first half", patch(t, first, 0, data[:400_000]), http.StatusNoContent)

		// Asking again finds the unfinished upload and how far it got.
		again := upload(t, a, to, "big.bin", data)
		if again.File != first.File || again.Offset != 400_000 || again.Token == first.Token {
			t.Fatalf("second ask %+v, first %+v", again, first)
		}
		if h := head(t, again); h.Get("Upload-Offset") != "400000" || h.Get("Upload-Length") != strconv.Itoa(len(data)) {
			t.Fatalf("HEAD %v", h)
		}
		// A wrong offset is refused with the right one.
		resp := patch(t, again, 10, data[10:])
		wantStatus(t, "wrong offset", resp, http.StatusConflict)
		if resp.Header.Get("Upload-Offset") != "400000" {
			t.Fatalf("conflict says %q", resp.Header.Get("Upload-Offset"))
		}
		wantStatus(t, "rest", patch(t, again, 400_000, data[400_000:]), http.StatusCreated)

		// A PATCH whose connection breaks in the middle of its body keeps
		// the bytes that came; HEAD says how many, and the upload goes on
		// from there to the end.
		cut := randomBytes(700_000)
		up := upload(t, a, to, "cut.bin", cut)
		cutPatch(t, up, cut, 300_000)
		have, err := strconv.Atoi(head(t, up).Get("Upload-Offset"))
		if err != nil || have != 300_000 {
			t.Fatalf("after the broken PATCH the server has %d bytes (%v), want the 300000 sent", have, err)
		}
		wantStatus(t, "the rest after the break", patch(t, up, int64(have), cut[have:]), http.StatusCreated)

		// A download resumes with Range.
		e2, _ := e.login("erin")
		var list protocol.FileListReply
		call(t, e2, protocol.TypeFileList, protocol.FileList{}, &list)
		if len(list.Files) != 2 || list.Files[0].Name != "cut.bin" || list.Files[0].SHA256 != sum(cut) {
			t.Fatalf("erin's files %+v, want cut.bin and big.bin", list.Files)
		}
		cd := download(t, e2, list.Files[0].File)
		if resp, got := get(t, cd.URL, cd.Token); resp.StatusCode != http.StatusOK || !bytes.Equal(got, cut) {
			t.Fatalf("download of the upload resumed after a break: %s, %d bytes; want the %d sent", resp.Status, len(got), len(cut))
		}
		d := download(t, e2, list.Files[1].File)
		resp, part := get(t, d.URL, d.Token, "Range", "bytes=700000-")
		wantStatus(t, "resumed download", resp, http.StatusPartialContent)
		if !bytes.Equal(part, data[700_000:]) {
			t.Fatal("resumed download differs")
		}
	})
}

func TestFileBadInput(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) { testFileBadInput(t, b) })
	}
}

func testFileBadInput(t *testing.T, backend string) {
	cfg := testutil.TestConfig(t, backend)
	cfg.Files.MaxSize = 1 << 20
	cfg.Files.Quota = 3 << 20
	cfg.Files.TokenTTL = 500 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("fred")
	e.register(e.dial(), "gina")
	gina := protocol.Conversation{User: "gina"}
	ask := func(name string, size int64, sha string) protocol.FileUpload {
		return protocol.FileUpload{Conversation: gina, Name: name, Size: size, SHA256: sha}
	}
	for _, name := range []string{"../etc/passwd", "/abs", `dir\file`, "a\x00b", "a\nb", "..", ".", "", " x", strings.Repeat("n", 256), "bad\xffutf8", "invoice\u202efdp.exe"} {
		callErr(t, a, protocol.TypeFileUpload, ask(name, 1, sum([]byte("x"))), protocol.CodeBadRequest)
	}
	for _, typ := range []string{"text/plain\r\nX-Evil: 1", "/", "a/b; q"} {
		in := ask("x", 1, sum([]byte("x")))
		in.Type = typ
		callErr(t, a, protocol.TypeFileUpload, in, protocol.CodeBadRequest)
	}
	callErr(t, a, protocol.TypeFileUpload, ask("x", 1, "ABC"), protocol.CodeBadRequest)
	callErr(t, a, protocol.TypeFileUpload, ask("x", 1, strings.ToUpper(sum([]byte("x")))), protocol.CodeBadRequest)
	callErr(t, a, protocol.TypeFileUpload, ask("x", -1, sum(nil)), protocol.CodeBadRequest)
	callErr(t, a, protocol.TypeFileUpload, protocol.FileUpload{Conversation: protocol.Conversation{User: "nobody"}, Name: "x", SHA256: sum(nil)}, protocol.CodeNotFound)
	callErr(t, a, protocol.TypeFileUpload, protocol.FileUpload{Conversation: protocol.Conversation{Group: "nogroup"}, Name: "x", SHA256: sum(nil)}, protocol.CodeNotFound)
	callErr(t, a, protocol.TypeFileUpload, ask("big", 1<<20+1, sum(nil)), protocol.CodeTooLarge)
	callErr(t, a, protocol.TypeFileDownload, protocol.FileID{File: "../../etc/passwd"}, protocol.CodeBadRequest)
	callErr(t, a, protocol.TypeFileDownload, protocol.FileID{File: strings.Repeat("a", protocol.FileIDLen)}, protocol.CodeNotFound)
	wantNothingStored(t, "after the refused asks", cfg.Data)

	// Wrong sha256: refused once the bytes are in, nothing stored.
	data := randomBytes(5000)
	up := upload(t, a, gina, "liar.bin", data)
	data[0] ^= 1
	wantStatus(t, "wrong sha256", patch(t, up, 0, data), http.StatusUnprocessableEntity)
	var list protocol.FileListReply
	call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 0 {
		t.Fatalf("stored after a wrong sha256: %+v", list.Files)
	}
	wantNothingStored(t, "after a wrong sha256", cfg.Data)
	// More bytes than declared: refused, nothing stored.
	data = randomBytes(5000)
	up = upload(t, a, gina, "long.bin", data)
	wantStatus(t, "overlong", patch(t, up, 0, append(data, 1, 2, 3)), http.StatusRequestEntityTooLarge)
	wantStatus(t, "after discard", patch(t, up, 0, data), http.StatusNotFound)
	wantNothingStored(t, "after an overlong PATCH", cfg.Data)
	up = upload(t, a, gina, "long2.bin", data)
	req, _ := http.NewRequest(http.MethodPatch, up.URL, io.MultiReader(bytes.NewReader(data), strings.NewReader("xyz")))
	req.ContentLength = -1 // chunked: the server finds out while reading
	req.Header.Set("Authorization", "Bearer "+up.Token)
	req.Header.Set("Upload-Offset", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantStatus(t, "overlong, chunked", resp, http.StatusRequestEntityTooLarge)
	wantNothingStored(t, "after an overlong chunked PATCH", cfg.Data)
	call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 0 {
		t.Fatalf("stored after overlong PATCHes: %+v", list.Files)
	}

	// Tokens: a made-up one, one for another file, an upload token used to
	// download, an expired one.
	info := sendFile(t, a, gina, "ok.bin", data)
	d := download(t, a, info.File)
	other := upload(t, a, gina, "other.bin", randomBytes(10))
	for _, tc := range []struct {
		what, url, token string
		want             int
	}{
		{"made-up token", d.URL, "not-a-token", http.StatusUnauthorized},
		{"no token", d.URL, "", http.StatusUnauthorized},
		{"another file's token", d.URL, other.Token, http.StatusForbidden},
		{"upload token to download", other.URL, other.Token, http.StatusForbidden},
	} {
		resp, _ := get(t, tc.url, tc.token)
		wantStatus(t, tc.what, resp, tc.want)
	}
	time.Sleep(cfg.Files.TokenTTL + 100*time.Millisecond)
	resp, _ = get(t, d.URL, d.Token)
	wantStatus(t, "expired token", resp, http.StatusUnauthorized)
	wantStatus(t, "expired upload token", patch(t, other, 0, nil), http.StatusUnauthorized)

	// Names and types that are odd but allowed come back whole, in headers
	// any HTTP client can read.
	odd := protocol.FileUpload{Conversation: gina, Name: `na"me; x=1 ünï.txt`, Size: 3, SHA256: sum([]byte("abc")), Type: "a/b; q=\"\x00\x1b\""}
	var oddUp protocol.FileUploadReply
	call(t, a, protocol.TypeFileUpload, odd, &oddUp)
	wantStatus(t, "odd upload", patch(t, oddUp, 0, []byte("abc")), http.StatusCreated)
	od := download(t, a, oddUp.File)
	resp, body := get(t, od.URL, od.Token)
	wantStatus(t, "odd download", resp, http.StatusOK)
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] != odd.Name || string(body) != "abc" {
		t.Fatalf("Content-Disposition %q (%v), body %q", resp.Header.Get("Content-Disposition"), err, body)
	}

	// Quota: 3 MiB in all, unfinished uploads included.
	big := randomBytes(1 << 20)
	sendFile(t, a, gina, "q1", big)
	upload(t, a, gina, "q2", randomBytes(1<<20))
	before := unfinished(t, cfg.Data)
	callErr(t, a, protocol.TypeFileUpload, ask("q3", 1<<20, sum(randomBytes(1<<20-1))), protocol.CodeTooLarge)
	if after := unfinished(t, cfg.Data); !slices.Equal(after, before) {
		t.Fatalf("unfinished uploads %v after an ask over quota, %v before", after, before)
	}
}

// TestFileUploadRetries: a client that missed the answer to its last PATCH
// learns the file is stored instead of sending it again, and a PATCH whose
// client went silent is taken over at once by the next one.
func TestFileUploadRetries(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) { testFileUploadRetries(t, b) })
	}
}

func testFileUploadRetries(t *testing.T, backend string) {
	cfg := testutil.TestConfig(t, backend)
	cfg.Files.ReadTimeout = 20 * time.Second
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("hank")
	e.register(e.dial(), "iris")
	to := protocol.Conversation{User: "iris"}

	data := randomBytes(300_000)
	info := sendFile(t, a, to, "once.bin", data)
	again := upload(t, a, to, "once.bin", data)
	if again.File != info.File || again.Offset != int64(len(data)) {
		t.Fatalf("asking again after completion: %+v, stored %+v", again, info)
	}
	resp := patch(t, again, int64(len(data)), nil)
	wantStatus(t, "empty PATCH at the end", resp, http.StatusCreated)
	var list protocol.FileListReply
	call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 1 {
		t.Fatalf("stored %d files, want 1", len(list.Files))
	}

	// A PATCH that sends 100 kB and then nothing, its connection open.
	data = randomBytes(400_000)
	up := upload(t, a, to, "stall.bin", data)
	stallPatch(t, up, data[:100_000])
	offset := ""
	for deadline := time.Now().Add(5 * time.Second); offset != "100000"; {
		if time.Now().After(deadline) {
			t.Fatalf("server has %q bytes of the stalled upload", offset)
		}
		offset = head(t, up).Get("Upload-Offset")
	}
	start := time.Now()
	wantStatus(t, "takeover", patch(t, up, 100_000, data[100_000:]), http.StatusCreated)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("takeover waited %v", d)
	}
}

// TestFileUploadAfterLeavingGroup: a sender who is removed from the group
// while the bytes come cannot complete the upload into it.
func TestFileUploadAfterLeavingGroup(t *testing.T) {
	forEachBackend(t, testFileUploadAfterLeavingGroup)
}

func testFileUploadAfterLeavingGroup(t *testing.T, e *env) {
	o, _ := e.newUser("jill")
	m, _ := e.newUser("kurt")
	call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "crew"}, nil)
	call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "crew", Users: []string{"kurt"}}, nil)
	data := randomBytes(200_000)
	up := upload(t, m, protocol.Conversation{Group: "crew"}, "late.bin", data)
	wantStatus(t, "first part", patch(t, up, 0, data[:1000]), http.StatusNoContent)
	call(t, o, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "crew", Users: []string{"kurt"}}, nil)
	wantStatus(t, "rest after removal", patch(t, up, 1000, data[1000:]), http.StatusForbidden)
	var list protocol.FileListReply
	call(t, o, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 0 {
		t.Fatalf("stored %+v", list.Files)
	}
}

// TestFileTransfersPerUser: one user cannot hold more than
// max_transfers_per_user transfers at once; others are not affected.
func TestFileTransfersPerUser(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Files.MaxTransfersPerUser = 1
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("lena")
	b, _ := e.newUser("mark")
	data := randomBytes(100_000)
	info := sendFile(t, a, protocol.Conversation{User: "mark"}, "one.bin", data)

	// lena's upload hangs with its connection open...
	up := upload(t, a, protocol.Conversation{User: "mark"}, "hang.bin", data)
	stallPatch(t, up, data[:10])
	// ...so her download must wait, while mark's goes through.
	d := download(t, a, info.File)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := get(t, d.URL, d.Token)
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lena's second transfer: status %d, want 429", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond) // the PATCH may not have reached the server yet
	}
	md := download(t, b, info.File)
	resp, body := get(t, md.URL, md.Token)
	wantStatus(t, "mark's download", resp, http.StatusOK)
	if !bytes.Equal(body, data) {
		t.Fatal("mark's download differs")
	}
}

// TestFileMaxUploads: a user has at most files.max_uploads unfinished
// uploads at once.
func TestFileMaxUploads(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Files.MaxUploads = 2
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("nora")
	e.register(e.dial(), "owen")
	to := protocol.Conversation{User: "owen"}
	upload(t, a, to, "u1", randomBytes(10))
	upload(t, a, to, "u2", randomBytes(11))
	upload(t, a, to, "u1", randomBytes(10)) // the same file again is the same upload
	data := randomBytes(12)
	callErr(t, a, protocol.TypeFileUpload, protocol.FileUpload{Conversation: to, Name: "u3", Size: 12, SHA256: sum(data)}, protocol.CodeRateLimited)
}

// TestFileSentAgain: the same file to the same user once files.finished_ttl
// has passed is a new share, with a new id, a new record and a new file.new;
// within it, it is the stored file (TestFileUploadRetries).
func TestFileSentAgain(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Files.FinishedTTL = 50 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("jill")
	b, _ := e.newUser("kurt")
	to := protocol.Conversation{User: "kurt"}
	data := randomBytes(1000)
	first := sendFile(t, a, to, "twice.bin", data)
	var pushed protocol.FileInfo
	expectPush(t, b, protocol.PushFileNew, &pushed)
	time.Sleep(2 * cfg.Files.FinishedTTL)

	again := upload(t, a, to, "twice.bin", data)
	if again.File == first.File || again.Offset != 0 {
		t.Fatalf("the same file after finished_ttl: %+v, the first %+v", again, first)
	}
	resp := patch(t, again, 0, data)
	wantStatus(t, "second upload", resp, http.StatusCreated)
	expectPush(t, b, protocol.PushFileNew, &pushed)
	if pushed.File != again.File {
		t.Fatalf("file.new for %s, want %s", pushed.File, again.File)
	}
	var list protocol.FileListReply
	call(t, b, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 2 {
		t.Fatalf("kurt has %d files, want 2", len(list.Files))
	}
}

// patchDigest sends body to an upload at offset with the file's sha256 as
// a Repr-Digest header, or, with asTrailer, chunked with it as a trailer.
func patchDigest(t *testing.T, up protocol.FileUploadReply, offset int64, body []byte, digest string, asTrailer bool) *http.Response {
	t.Helper()
	req := patchRequest(t, up, offset, body)
	if asTrailer {
		req.ContentLength = -1
		req.Trailer = http.Header{"Repr-Digest": {digest}}
	} else {
		req.Header.Set("Repr-Digest", digest)
	}
	return doPatch(t, req)
}

// reprDigest is the Repr-Digest value of data's sha256 (RFC 9530).
func reprDigest(data []byte) string {
	s := sha256.Sum256(data)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(s[:]) + ":"
}

// TestFileDigestAtTheEnd: a file.upload without a sha256 gets it from a
// PATCH's Repr-Digest, as a trailer or a header, on the last PATCH or on
// an empty one after it; the record has it, and the bytes must match it.
// Without a declared sum the same file asked for again is a new share.
func TestFileDigestAtTheEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a, _ := e.newUser("dora")
		b, _ := e.newUser("emil")
		to := protocol.Conversation{User: "emil"}
		ask := func(name string, data []byte) protocol.FileUploadReply {
			var up protocol.FileUploadReply
			call(t, a, protocol.TypeFileUpload, protocol.FileUpload{Conversation: to, Name: name, Size: int64(len(data))}, &up)
			return up
		}
		stored := func(what string, resp *http.Response, data []byte) protocol.FileInfo {
			t.Helper()
			wantStatus(t, what, resp, http.StatusCreated)
			var info protocol.FileInfo
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.SHA256 != sum(data) || info.Size != int64(len(data)) {
				t.Fatalf("%s: stored %+v (%v); want sha256 %s", what, info, err, sum(data))
			}
			var pushed protocol.FileInfo
			expectPush(t, b, protocol.PushFileNew, &pushed)
			if pushed.File != info.File || pushed.SHA256 != info.SHA256 {
				t.Fatalf("%s: file.new %+v, want %+v", what, pushed, info)
			}
			d := download(t, b, info.File)
			if resp, got := get(t, d.URL, d.Token); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
				t.Fatalf("%s: download %s, %d bytes; want the %d sent", what, resp.Status, len(got), len(data))
			}
			return info
		}

		data := randomBytes(300_000)
		up := ask("trailer.bin", data)
		stored("trailer", patchDigest(t, up, 0, data, reprDigest(data), true), data)

		up = ask("header.bin", data)
		first := patchDigest(t, up, 0, data[:1000], reprDigest(data), false)
		wantStatus(t, "digest on the first PATCH", first, http.StatusNoContent)
		stored("header on the first PATCH", patch(t, up, 1000, data[1000:]), data)

		// All the bytes, no digest yet: not stored until an empty PATCH
		// brings it.
		up = ask("late.bin", data)
		resp := patch(t, up, 0, data)
		wantStatus(t, "all bytes, no digest", resp, http.StatusNoContent)
		if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(len(data)) {
			t.Fatalf("all bytes, no digest: Upload-Offset %q, want %d", got, len(data))
		}
		var list protocol.FileListReply
		call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
		if len(list.Files) != 2 {
			t.Fatalf("before the digest: %d files listed, want 2", len(list.Files))
		}
		wantStatus(t, "bad digest field", patchDigest(t, up, int64(len(data)), nil, "sha-256=:abc:", false), http.StatusBadRequest)
		wantStatus(t, "no sha-256 in it", patchDigest(t, up, int64(len(data)), nil, "sha-512=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":", false), http.StatusBadRequest)
		late := stored("digest after the bytes", patchDigest(t, up, int64(len(data)), nil, "unixsum=:1:, "+reprDigest(data), false), data)

		// Asked for again with its sum (as huddle file send does once it
		// has learned it), it is the file stored a moment ago.
		var same protocol.FileUploadReply
		call(t, a, protocol.TypeFileUpload, protocol.FileUpload{Conversation: to, Name: "late.bin", Size: int64(len(data)), SHA256: sum(data)}, &same)
		if same.File != late.File || same.Offset != int64(len(data)) {
			t.Fatalf("the same file again with its sum: %+v; want the stored %s, complete", same, late.File)
		}
		// Asked again without, the same name and size is a new share: the
		// server cannot know it is the same file.
		again := ask("late.bin", data)
		if again.File == late.File || again.Offset != 0 {
			t.Fatalf("the same name and size again: %+v; want a new upload (not %s) from 0", again, late.File)
		}

		// A digest that is not the bytes': refused, nothing stored.
		other := randomBytes(1000)
		up = ask("wrong.bin", data)
		wantStatus(t, "wrong digest", patchDigest(t, up, 0, data, reprDigest(other), true), http.StatusUnprocessableEntity)
		wantStatus(t, "after discard", patch(t, up, 0, data), http.StatusNotFound)
		// A digest that contradicts the declared sum: refused at once.
		up = upload(t, a, to, "declared.bin", data)
		wantStatus(t, "digest against the declared", patchDigest(t, up, 0, data[:10], reprDigest(other), false), http.StatusBadRequest)
		stored("declared, then a matching trailer", patchDigest(t, up, 0, data, reprDigest(data), true), data)
		// As a trailer it comes after the bytes: refused, the bytes kept,
		// and the declared sum still completes the upload.
		up = upload(t, a, to, "declared-trailer.bin", data)
		wantStatus(t, "trailer against the declared", patchDigest(t, up, 0, data, reprDigest(other), true), http.StatusBadRequest)
		stored("declared, after a contradicting trailer", patch(t, up, int64(len(data)), nil), data)
		call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
		if len(list.Files) != 5 {
			t.Fatalf("dora sent %d files, want 5 (trailer, header, late, declared, declared-trailer)", len(list.Files))
		}
	})
}

// TestFileTmpOfWrongSize: an upload whose temporary file does not hold the
// bytes the hash saw (here a byte appended behind the server's back, as a
// failed truncate or a bug would leave) is discarded at the end, not
// stored.
func TestFileTmpOfWrongSize(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("pete")
	e.newUser("quin")
	data := randomBytes(100_000)
	up := upload(t, a, protocol.Conversation{User: "quin"}, "odd.bin", data)
	wantStatus(t, "first part", patch(t, up, 0, data[:50_000]), http.StatusNoContent)
	tmp, err := os.OpenFile(filepath.Join(cfg.Data, "files", "tmp", up.File), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	resp := patch(t, up, 50_000, data[50_000:])
	wantStatus(t, "the rest onto a file one byte too long", resp, http.StatusInternalServerError)
	wantStatus(t, "after the discard", patch(t, up, 0, data), http.StatusNotFound)
	var list protocol.FileListReply
	call(t, a, protocol.TypeFileList, protocol.FileList{}, &list)
	if len(list.Files) != 0 {
		t.Fatalf("stored %+v", list.Files)
	}
}
