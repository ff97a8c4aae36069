package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// fakeData is a data channel whose failures the test chooses.
type fakeData struct {
	mu      sync.Mutex
	got     []byte // the bytes of the upload so far
	patches int
	cutAt   int // the first PATCH breaks the connection after this many bytes
	status  int // when set, every PATCH fails with it and errBody
	errBody string
}

func (f *fakeData) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Upload-Offset", strconv.Itoa(len(f.got)))
	switch r.Method {
	case http.MethodHead:
		return
	case http.MethodPatch:
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	f.patches++
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.errBody)
		return
	}
	if r.Header.Get("Upload-Offset") != strconv.Itoa(len(f.got)) {
		w.WriteHeader(http.StatusConflict)
		return
	}
	if f.patches == 1 {
		b := make([]byte, f.cutAt)
		n, _ := io.ReadFull(r.Body, b)
		f.got = append(f.got, b[:n]...)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	rest, _ := io.ReadAll(r.Body)
	f.got = append(f.got, rest...)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(protocol.FileInfo{File: "fake", Size: int64(len(f.got)), SHA256: sum(f.got)})
}

// fakeUpload starts a control server whose file.upload points at data.
func fakeUpload(t *testing.T, data *fakeData) *Client {
	t.Helper()
	hs := httptest.NewServer(data)
	t.Cleanup(hs.Close)
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeFileUpload] = func(c *clifake.Conn, req protocol.Request) {
			data.mu.Lock()
			offset := int64(len(data.got))
			data.mu.Unlock()
			c.Reply(req.ID, protocol.FileUploadReply{File: "fake", URL: hs.URL + "/files/fake", Token: "tok", Offset: offset})
		}
	})
	return dial(t, s)
}

// TestUploadRetriesAfterCut: the connection breaks in the middle of the
// PATCH; the client asks HEAD where the server is and goes on from there.
func TestUploadRetriesAfterCut(t *testing.T) {
	data := randomBytes(1 << 20)
	fd := &fakeData{cutAt: 200_000}
	c := fakeUpload(t, fd)
	var p progressLog
	info, err := c.UploadFile(testCtx(t), UserChat("bob"), writeTemp(t, "x.bin", data), p.record)
	if err != nil {
		t.Fatal(err)
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if !bytes.Equal(fd.got, data) || info.SHA256 != sum(data) || fd.patches != 2 {
		t.Fatalf("server has %d bytes (equal %v) after %d PATCHes; reply %+v", len(fd.got), bytes.Equal(fd.got, data), fd.patches, info)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	resumedAt := false
	for _, c := range p.calls {
		resumedAt = resumedAt || c[0] == 200_000
	}
	if !resumedAt {
		t.Fatal("no attempt started at byte 200000")
	}
}

func TestUploadHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   protocol.Code
		msg    string
	}{
		{http.StatusRequestEntityTooLarge, `{"error":{"code":"too_large","message":"too many bytes"}}`, protocol.CodeTooLarge, "too many bytes"},
		{http.StatusForbidden, `{"error":{"code":"forbidden","message":"token is not for this transfer"}}`, protocol.CodeForbidden, "token is not for this transfer"},
		{http.StatusBadGateway, `<html>proxy trouble</html>`, protocol.CodeUnavailable, "data channel: 502 Bad Gateway"},
	} {
		fd := &fakeData{status: tc.status, errBody: tc.body}
		c := fakeUpload(t, fd)
		_, err := c.UploadFile(testCtx(t), UserChat("bob"), writeTemp(t, "x.bin", []byte("hello")), nil)
		pe, ok := err.(*protocol.Error)
		if !ok || pe.Code != tc.code || pe.Message != tc.msg {
			t.Errorf("status %d: err %#v, want %s %q", tc.status, err, tc.code, tc.msg)
		}
	}
}

func TestDataURL(t *testing.T) {
	c := &Client{addr: "chat.example.com:7700"}
	for in, want := range map[string]string{
		"http://127.0.0.1:7701/files/a": "http://127.0.0.1:7701/files/a",
		"http://0.0.0.0:7701/files/a":   "http://chat.example.com:7701/files/a",
		"http://[::]:7701/files/a":      "http://chat.example.com:7701/files/a",
	} {
		if got, err := c.dataURL(in); err != nil || got != want {
			t.Errorf("dataURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x/files/a", "/files/a", "http://"} {
		if _, err := c.dataURL(bad); protocol.CodeOf(err) != protocol.CodeInternal {
			t.Errorf("dataURL(%q): %v, want an error", bad, err)
		}
	}
}

// fakeDownload starts a control server whose file.download of file "fake"
// points at the data channel at url, with the record of data.
func fakeDownload(t *testing.T, url string, data []byte, opts ...Option) *Client {
	t.Helper()
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeFileDownload] = func(c *clifake.Conn, req protocol.Request) {
			c.Reply(req.ID, protocol.FileDownloadReply{URL: url + "/files/fake", Token: "tok",
				FileInfo: protocol.FileInfo{File: "fake", Size: int64(len(data)), SHA256: sum(data)}})
		}
	})
	return dial(t, s, opts...)
}

// TestDownloadStallResumes: the first GET stops sending halfway with its
// connection open; the stall timeout cuts it and a Range request fetches
// the rest.
func TestDownloadStallResumes(t *testing.T) {
	data := randomBytes(1 << 20)
	etag := strconv.Quote(sum(data))
	var (
		mu     sync.Mutex
		ranges []string
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		n := len(ranges)
		mu.Unlock()
		w.Header().Set("ETag", etag)
		if n == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			_, _ = w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(hs.Close)
	c := fakeDownload(t, hs.URL, data, WithStallTimeout(200*time.Millisecond))
	path := filepath.Join(t.TempDir(), "f")
	if _, err := c.DownloadFile(testCtx(t), "fake", path, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), data) {
		t.Fatal("downloaded bytes differ")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 2 || ranges[0] != "" || ranges[1] != fmt.Sprintf("bytes=%d-", len(data)/2) {
		t.Fatalf("requests with Range %q", ranges)
	}
}

// TestDownloadWrongBytes: a data channel that sends other bytes than the
// file's record says (under the record's ETag) fails the download, which
// leaves nothing at the path.
func TestDownloadWrongBytes(t *testing.T) {
	data := randomBytes(100_000)
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", strconv.Quote(sum(data)))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(bad))
	}))
	t.Cleanup(hs.Close)
	path := filepath.Join(t.TempDir(), "f")
	_, err := fakeDownload(t, hs.URL, data).DownloadFile(testCtx(t), "fake", path, nil)
	if err == nil || !strings.Contains(err.Error(), "sha256 "+sum(bad)) {
		t.Fatalf("download of bytes other than the record's: %v, want an error naming their sha256", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s after the failed download: %v, want none", path, err)
	}
}
