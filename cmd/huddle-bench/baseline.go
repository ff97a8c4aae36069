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
)

// baselineServer is what the file scenario holds Huddle's data channel
// against: the plainest way to move a file with net/http, in the bench's
// own process on 127.0.0.1:0. PUT /file io.Copy's the body into a file,
// GET /file is http.ServeFile; a default http.Transport drives it. It does
// none of Huddle's work: no token, no hashing on either side, no fsync, no
// rename, no database row, no resumption. With sync it does one thing of
// Huddle's: the PUT handler and the download fsync the file they wrote
// before they return.
type baselineServer struct {
	sync   bool
	srv    *http.Server
	url    string
	stored string // where PUT writes and GET reads
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
		url:    "http://" + ln.Addr().String() + "/file",
		stored: filepath.Join(dir, "baseline-upload.bin"),
		client: &http.Client{Transport: &http.Transport{}},
		served: make(chan error, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /file", b.handlePut)
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, b.stored) })
	b.srv = &http.Server{Handler: mux}
	go func() { b.served <- b.srv.Serve(ln) }()
	return b, nil
}

func (b *baselineServer) handlePut(w http.ResponseWriter, r *http.Request) {
	f, err := os.Create(b.stored)
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

// upload PUTs the size bytes of src.
func (b *baselineServer) upload(ctx context.Context, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.url, f)
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

// download GETs the stored file into dst.
func (b *baselineServer) download(ctx context.Context, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url, nil)
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
