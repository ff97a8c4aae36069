package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"huddle/internal/dirsync"
	"huddle/internal/pipehash"
	"huddle/internal/writeback"
	"huddle/protocol"
)

// DownloadFile fetches file id into path; see SaveDownload.
func (c *Client) DownloadFile(ctx context.Context, id, path string, progress func(done, total int64)) (protocol.FileInfo, error) {
	d, err := c.FileDownload(ctx, id)
	if err != nil {
		return protocol.FileInfo{}, err
	}
	return c.SaveDownload(ctx, d, path, progress)
}

// SaveDownload fetches the file that d authorizes into path, replacing
// what is there. The bytes go to path+".part" first: a .part that an
// interrupted call left is continued with a Range request (and started over
// when the whole turns out not to be the file: the .part held other
// content), as is a transfer that a network failure cuts. The SHA-256 of
// the whole is checked against the file's record, the file synced, and
// only then renamed to path. progress as for UploadFile.
func (c *Client) SaveDownload(ctx context.Context, d protocol.FileDownloadReply, path string, progress func(done, total int64)) (protocol.FileInfo, error) {
	renew := func(ctx context.Context) (string, string, error) {
		d, err := c.FileDownload(ctx, d.File)
		return d.URL, d.Token, err
	}
	if err := c.save(ctx, d, renew, path, progress); err != nil {
		return protocol.FileInfo{}, err
	}
	return d.FileInfo, nil
}

// save fetches what d authorizes into path as SaveDownload says; renew asks
// for a new URL and token when the one in d expires.
func (c *Client) save(ctx context.Context, d protocol.FileDownloadReply, renew func(context.Context) (url, token string, err error),
	path string, progress func(done, total int64)) error {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	dl := &download{c: c, d: d, renew: renew, f: f, h: sha256.New(), progress: progress}
	err = dl.run(ctx)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(part, path); err != nil {
		return err
	}
	_ = dirsync.Sync(filepath.Dir(path)) // best effort: not on Windows
	return nil
}

// download is one SaveDownload under way: f holds the first have bytes,
// which h has hashed.
type download struct {
	c        *Client
	d        protocol.FileDownloadReply
	renew    func(context.Context) (url, token string, err error)
	f        *os.File
	h        hash.Hash
	have     int64
	progress func(done, total int64)
}

func (dl *download) run(ctx context.Context) error {
	st, err := dl.f.Stat()
	if err != nil {
		return err
	}
	if dl.have = st.Size(); dl.have > dl.d.Size {
		if err := dl.restart(); err != nil {
			return err
		}
	}
	if _, err := hashFrom(ctx, dl.h, io.NewSectionReader(dl.f, 0, dl.have)); err != nil {
		return fmt.Errorf("read %s: %w", dl.f.Name(), err)
	}
	resumed, failures := dl.have > 0, 0
	for {
		if dl.have < dl.d.Size || dl.d.Size == 0 {
			before := dl.have
			err := dl.get(ctx)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return ctx.Err()
			case protocol.CodeOf(err) == protocol.CodeUnauthorized:
				// The token expired while retrying: ask again.
				url, token, err := dl.renew(ctx)
				if err != nil {
					return err
				}
				dl.d.URL, dl.d.Token = url, token
				fallthrough
			case isTransient(err):
				if dl.have > before {
					failures = 0
				}
				if failures++; failures >= dl.c.opts.transferTries {
					return err
				}
				if err := sleep(ctx, backoff(failures)); err != nil {
					return err
				}
				continue
			default:
				return err
			}
		}
		if sum := hex.EncodeToString(dl.h.Sum(nil)); sum != dl.d.SHA256 {
			if err := dl.restart(); err != nil {
				return err
			}
			if resumed {
				resumed = false // the .part was not this file's beginning
				continue
			}
			return protocol.Errorf(protocol.CodeInternal, "file %s: the bytes received have sha256 %s, not %s", dl.d.File, sum, dl.d.SHA256)
		}
		return dl.f.Sync()
	}
}

// restart empties the .part.
func (dl *download) restart() error {
	dl.have = 0
	dl.h.Reset()
	return dl.f.Truncate(0)
}

// get appends the bytes from have on. A Range request names the ETag the
// record promises in If-Range, so that the server sends the whole file (200)
// rather than a range of content other than the file's.
func (dl *download) get(ctx context.Context) error {
	if dl.progress != nil {
		dl.progress(dl.have, dl.d.Size)
	}
	etag := strconv.Quote(dl.d.SHA256)
	header := map[string]string{}
	if dl.have > 0 {
		header["Range"] = fmt.Sprintf("bytes=%d-", dl.have)
		header["If-Range"] = etag
	}
	g := dl.c.guard(ctx)
	defer g.stop()
	resp, err := dl.c.do(ctx, dataRequest{method: http.MethodGet, url: dl.d.URL, token: dl.d.Token, header: header}, g)
	if err != nil {
		return err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		if err := dl.restart(); err != nil {
			return err
		}
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", dl.have)) {
			return protocol.Errorf(protocol.CodeInternal, "file %s: asked for bytes %d-, got %q", dl.d.File, dl.have, resp.Header.Get("Content-Range"))
		}
	default:
		return httpError(resp)
	}
	if got := resp.Header.Get("ETag"); got != etag {
		return protocol.Errorf(protocol.CodeInternal, "file %s: the server sends content with ETag %s, not %s", dl.d.File, got, etag)
	}
	if _, err := dl.f.Seek(dl.have, io.SeekStart); err != nil {
		return err
	}
	m := &meter{r: io.LimitReader(resp.Body, dl.d.Size-dl.have), done: dl.have, total: dl.d.Size, progress: dl.progress, guard: g}
	n, err := dl.copy(m)
	dl.have += n
	if cause := context.Cause(g.ctx); err != nil && cause != nil && ctx.Err() == nil {
		err = cause // stalled
	}
	switch {
	case err != nil && ctx.Err() == nil && !isWriteError(err, dl.f):
		return transient(fmt.Errorf("file %s: download cut at byte %d: %w", dl.d.File, dl.have, err))
	case err != nil:
		return err
	case dl.have < dl.d.Size:
		return transient(fmt.Errorf("file %s: download ended at byte %d of %d", dl.d.File, dl.have, dl.d.Size))
	}
	return nil
}

// isWriteError reports whether err is from writing f (a full disk, say),
// which a retry does not cure.
func isWriteError(err error, f *os.File) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == f.Name()
}

// copy appends what r reads to the .part: written (and handed to
// write-back) on this goroutine, hashed on a pipehash.Pipe's.
func (dl *download) copy(r io.Reader) (int64, error) {
	wb := writeback.New(dl.f, dl.have, true)
	p := pipehash.New(dl.h, defaultTransferBuffer)
	var n int64
	var err error
	for err == nil {
		b := p.Buffer()
		var k int
		k, err = r.Read(b)
		if k > 0 {
			var werr error
			if k, werr = dl.f.Write(b[:k]); werr != nil {
				err = werr
			}
			wb.Wrote(k)
			n += int64(k)
		}
		p.Sum(b[:k]) // what is in the file, hashed
	}
	p.Close()
	if werr := wb.Close(); werr != nil && (err == nil || err == io.EOF) {
		err = &os.PathError{Op: "write back", Path: dl.f.Name(), Err: werr} // a write error: not retried
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
