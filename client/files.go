package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"huddle/protocol"
)

// FileList returns a page of the files the caller sent, received, or that
// reached their groups, newest first; see protocol.FileList.
func (c *Client) FileList(ctx context.Context, q protocol.FileList) ([]protocol.FileInfo, error) {
	var out protocol.FileListReply
	err := c.Call(ctx, protocol.TypeFileList, q, &out)
	return out.Files, err
}

// FileUpload asks to upload a file and returns where to send its bytes.
// Asking again for an unfinished upload returns it with the bytes the
// server has. UploadFile does the whole upload.
func (c *Client) FileUpload(ctx context.Context, in protocol.FileUpload) (protocol.FileUploadReply, error) {
	var out protocol.FileUploadReply
	err := c.Call(ctx, protocol.TypeFileUpload, in, &out)
	return out, err
}

// FileDownload asks to download a file and returns where, with the file's
// record. SaveDownload fetches the bytes.
func (c *Client) FileDownload(ctx context.Context, id string) (protocol.FileDownloadReply, error) {
	var out protocol.FileDownloadReply
	err := c.Call(ctx, protocol.TypeFileDownload, protocol.FileID{File: id}, &out)
	return out, err
}

// UploadFile sends the file at path to a user or a group under its base
// name and returns the stored file's record once the server has verified
// it. An upload of the same file to the same recipient that an earlier call
// left unfinished is resumed where it stopped; a network failure on the way
// is retried from the offset the server reports. progress, when not nil, is
// told the bytes the server has: first where each attempt starts (above 0
// when it resumes), then as they go, from the goroutine moving them.
//
// The file's SHA-256 is computed as its bytes go and sent after the last
// one (protocol.FileUploadReply), so the file is read once. UploadFileSum
// declares a sum the caller knows instead.
func (c *Client) UploadFile(ctx context.Context, to protocol.Conversation, path string, progress func(done, total int64)) (protocol.FileInfo, error) {
	return c.UploadFileSum(ctx, to, path, "", progress)
}

// UploadFileSum is UploadFile for a file whose hex SHA-256 the caller has
// from HashFile; an empty sum means it has none. A sum that is not the
// file's costs the whole upload: the server refuses the bytes after the
// last one with a bad_request error, and nothing is stored. Declared, the
// sum makes the same file sent again just after it was stored the stored
// file, not a second share.
func (c *Client) UploadFileSum(ctx context.Context, to protocol.Conversation, path, sum string, progress func(done, total int64)) (protocol.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return protocol.FileInfo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return protocol.FileInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return protocol.FileInfo{}, fmt.Errorf("%s is not a regular file", path)
	}
	u := &upload{c: c, f: f, progress: progress, ask: protocol.FileUpload{Conversation: to,
		Name: filepath.Base(path), Size: st.Size(), SHA256: sum, Type: fileType(path)}}
	for fresh := false; ; fresh = true {
		if sum == "" {
			u.sum = &fileSum{f: f, h: sha256.New()}
		}
		if u.reply, err = c.FileUpload(ctx, u.ask); err != nil {
			return protocol.FileInfo{}, err
		}
		resumed := u.reply.Offset > 0
		info, err := u.run(ctx)
		if u.sum != nil && resumed && !fresh && errors.Is(err, errSumMismatch) {
			// What an earlier run sent is not this file's start (the file
			// changed since): the server dropped it; send it all anew.
			continue
		}
		return info, err
	}
}

// errSumMismatch is the server's answer to bytes whose SHA-256 is not the
// one declared or given: the upload is discarded.
var errSumMismatch = errors.New("the sha256 of the bytes is not the one given")

// fileSum is the SHA-256 of a file as an upload sends it, for the
// Repr-Digest of its last PATCH: each byte hashed once and in order,
// however the PATCHes that carry them are cut and retried.
type fileSum struct {
	f  *os.File
	h  hash.Hash
	at int64 // bytes [0, at) are hashed
}

// catchUp hashes the bytes before offset that were not sent by this
// upload: the start of one resumed from an earlier run, which the server
// has.
func (s *fileSum) catchUp(ctx context.Context, offset int64) error {
	if offset <= s.at {
		return nil
	}
	n, err := hashFrom(ctx, s.h, io.NewSectionReader(s.f, s.at, offset-s.at))
	s.at += n
	switch {
	case err != nil:
		return fmt.Errorf("read %s: %w", s.f.Name(), err)
	case s.at < offset:
		return fmt.Errorf("%s changed while it was sent", s.f.Name())
	}
	return nil
}

// sent hashes p, the file's bytes from off on, where they go past at.
func (s *fileSum) sent(off int64, p []byte) {
	if end := off + int64(len(p)); off <= s.at && end > s.at {
		s.h.Write(p[s.at-off:])
		s.at = end
	}
}

// reprDigest is the Repr-Digest field value (RFC 9530) of what is hashed.
func (s *fileSum) reprDigest() string {
	return "sha-256=:" + base64.StdEncoding.EncodeToString(s.h.Sum(nil)) + ":"
}

// fileType guesses a media type from the name's extension.
func fileType(path string) string {
	t := mime.TypeByExtension(filepath.Ext(path))
	if _, _, err := mime.ParseMediaType(t); err != nil || len(t) > protocol.MaxFileTypeLen {
		return "" // the server's default
	}
	return t
}

// upload is one UploadFile under way.
type upload struct {
	c        *Client
	f        *os.File
	ask      protocol.FileUpload
	reply    protocol.FileUploadReply
	progress func(done, total int64)
	sum      *fileSum // the file's, as it goes; nil when ask declares it
}

// run PATCHes from the reply's offset until the server has the whole file.
// After a failure it asks the server where to go on (HEAD) and tries again,
// up to transferTries times in a row without progress.
func (u *upload) run(ctx context.Context) (protocol.FileInfo, error) {
	offset, failures := u.reply.Offset, 0
	for {
		var (
			info *protocol.FileInfo
			next int64
			err  error
		)
		if offset < 0 {
			next, err = u.resume(ctx)
		} else {
			info, next, err = u.patch(ctx, offset)
		}
		switch {
		case info != nil:
			return *info, nil
		case err == nil && offset < 0:
			offset = next
			continue
		case err == nil && next > offset:
			offset, failures = next, 0 // progress
			continue
		case err == nil:
			// The server corrected the offset without taking bytes.
			err = transient(fmt.Errorf("upload %s: the server is at byte %d, not %d", u.reply.File, next, offset))
			offset = next
		case ctx.Err() != nil:
			return protocol.FileInfo{}, ctx.Err()
		case !isTransient(err):
			return protocol.FileInfo{}, err
		default:
			offset = -1
		}
		if failures++; failures >= u.c.opts.transferTries {
			return protocol.FileInfo{}, err
		}
		if err := sleep(ctx, backoff(failures)); err != nil {
			return protocol.FileInfo{}, err
		}
	}
}

// patch sends the bytes from offset on. It returns the stored file when the
// upload is complete, or the offset the server has now.
func (u *upload) patch(ctx context.Context, offset int64) (*protocol.FileInfo, int64, error) {
	if u.progress != nil {
		u.progress(offset, u.ask.Size)
	}
	g := u.c.guard(ctx)
	defer g.stop()
	n := u.ask.Size - offset
	m := &meter{r: io.NewSectionReader(u.f, offset, n), done: offset, total: u.ask.Size, progress: u.progress, guard: g}
	defer m.close() // a body the transport still reads no longer hashes
	var body io.Reader = m
	header := map[string]string{
		"Upload-Offset": strconv.FormatInt(offset, 10),
		"Content-Type":  "application/offset+octet-stream",
	}
	var trailer http.Header
	size := n
	if u.sum != nil {
		if err := u.sum.catchUp(ctx, offset); err != nil {
			return nil, 0, err
		}
		if n > 0 {
			// Sent chunked, with the digest as a trailer once the last
			// byte has been read and hashed.
			trailer = http.Header{"Repr-Digest": nil}
			m.sum, m.trailer, size = u.sum, trailer, -1
		} else {
			header["Repr-Digest"] = u.sum.reprDigest()
		}
	}
	if n == 0 {
		body = http.NoBody // the empty rest of a file still needs its PATCH
	}
	resp, err := u.c.do(ctx, dataRequest{method: http.MethodPatch, url: u.reply.URL, token: u.reply.Token, body: body, size: size, header: header, trailer: trailer}, g)
	if err != nil {
		return nil, 0, err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusUnprocessableEntity:
		return nil, 0, fmt.Errorf("%w: %w", errSumMismatch, httpError(resp))
	case http.StatusCreated:
		var info protocol.FileInfo
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
			return nil, 0, fmt.Errorf("upload %s: read the reply: %w", u.reply.File, err)
		}
		return &info, u.ask.Size, nil
	case http.StatusNoContent, http.StatusConflict:
		if at, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64); err == nil && at >= 0 {
			return nil, at, nil
		}
	}
	return nil, 0, httpError(resp) // a 409 without an offset: another PATCH is still running
}

// resume finds where the upload stands: HEAD tells the offset. When the
// token has expired or the server no longer has the upload, asking again
// with file.upload gives a fresh token and the offset (0 for an upload that
// starts over).
func (u *upload) resume(ctx context.Context) (int64, error) {
	at, err := u.head(ctx)
	if code := protocol.CodeOf(err); code != protocol.CodeUnauthorized && code != protocol.CodeNotFound {
		return at, err
	}
	r, err := u.c.FileUpload(ctx, u.ask)
	if err != nil {
		return 0, err
	}
	u.reply = r
	return r.Offset, nil
}

func (u *upload) head(ctx context.Context) (int64, error) {
	g := u.c.guard(ctx)
	defer g.stop()
	resp, err := u.c.do(ctx, dataRequest{method: http.MethodHead, url: u.reply.URL, token: u.reply.Token}, g)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return 0, httpError(resp)
	}
	at, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || at < 0 || at > u.ask.Size {
		return 0, protocol.Errorf(protocol.CodeInternal, "upload %s: HEAD says Upload-Offset %q", u.reply.File, resp.Header.Get("Upload-Offset"))
	}
	return at, nil
}
