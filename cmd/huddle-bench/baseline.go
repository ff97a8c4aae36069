package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// baselineServer is what the file scenario holds Huddle's data channel
// against: the plainest way to move a file with net/http, in the bench's
// own process on 127.0.0.1:0. PUT /file/N io.Copy's the body into a file,
// GET /file/N is http.ServeFile; a default http.Transport drives it. It
// does none of Huddle's work: no token, no hashing on either side, no
// fsync, no rename, no database row, no resumption. With sync it does one
// thing of Huddle's: the PUT handler and the download fsync the file they
// wrote before they return.
//
// Each repetition's upload goes into a file of its own that stays until
// the run ends, as each of Huddle's stays in its store: overwriting one
// file, the baseline wrote into page-cache pages it had just freed while
// Huddle's uploads took pages no run had used, which on a VM can cost
// twice the CPU (bench/RESULTS.md, 2026-12-03 10:52).
type baselineServer struct {
	sync   bool
	dir    string
	srv    *http.Server
	url    string
	client *http.Client
	served chan error
}

func startBaseline(dir string, sync bool) (*baselineServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &baselineServer{
		sync:   sync,
		dir:    dir,
		url:    "http://" + ln.Addr().String() + "/file/",
		client: &http.Client{Transport: &http.Transport{}},
		served: make(chan error, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /file/{n}", b.handlePut)
	mux.HandleFunc("GET /file/{n}", func(w http.ResponseWriter, r *http.Request) {
		path, ok := b.pathOf(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, path)
	})
	b.srv = &http.Server{Handler: mux}
	go func() { b.served <- b.srv.Serve(ln) }()
	return b, nil
}

// stored is where upload n goes.
func (b *baselineServer) stored(n int) string {
	return filepath.Join(b.dir, fmt.Sprintf("baseline-upload-%d.bin", n))
}

// pathOf is the file of the request's upload number.
func (b *baselineServer) pathOf(r *http.Request) (string, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		return "", false
	}
	return b.stored(n), true
}

func (b *baselineServer) handlePut(w http.ResponseWriter, r *http.Request) {
	path, ok := b.pathOf(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(f, r.Body)
		err = errors.Join(err, b.finishFile(f))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// close stops the server and waits for it.
func (b *baselineServer) close() {
	b.client.CloseIdleConnections()
	_ = b.srv.Close()
	<-b.served // http.ErrServerClosed
}

// upload PUTs the size bytes of src as upload n.
func (b *baselineServer) upload(ctx context.Context, n int, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.url+strconv.Itoa(n), f)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("PUT: %s: %s", resp.Status, msg)
	}
	return nil
}

// download GETs upload n into dst.
func (b *baselineServer) download(ctx context.Context, n int, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+strconv.Itoa(n), nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET: %s", resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, b.finishFile(f))
}

// finishFile closes a file the baseline wrote, synced first with sync.
func (b *baselineServer) finishFile(f *os.File) error {
	var err error
	if b.sync {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// settle syncs a file the baseline wrote, outside the time measured, so
// that its write-back does not run under the next transfer. Huddle's
// transfers sync their files themselves, inside the time measured.
func settle(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
