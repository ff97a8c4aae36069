package files

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"huddle/internal/dirsync"
	"huddle/internal/pipehash"
	"huddle/internal/writeback"
	"huddle/protocol"
	"huddle/storage"
)

// The data channel, a small subset of the tus resumable-upload protocol:
//
//	HEAD  /files/ID   Authorization: Bearer UPLOAD-TOKEN → Upload-Offset, Upload-Length
//	PATCH /files/ID   Authorization: Bearer UPLOAD-TOKEN, Upload-Offset: N, body: bytes N…
//	                  [Repr-Digest: sha-256=:BASE64:, as a header or a trailer]
//	GET   /files/ID   Authorization: Bearer DOWNLOAD-TOKEN, Range welcome
//
// A file.upload that declares no sha256 gets it with the bytes: the
// client hashes as it sends and puts the whole file's SHA-256 in a
// Repr-Digest field (RFC 9530) of a PATCH, most simply as the trailer of
// the one that ends the upload, which saves the pass over the file that
// declaring it first costs. The upload completes when the last byte has
// come and the digest is known; a last PATCH without one is answered 204
// with Upload-Offset at the end, and an empty PATCH carrying the digest
// finishes it.
//
// Errors are JSON: {"error": {"code": "...", "message": "..."}}.

// copyBuffer is the size of the buffers an upload streams through (a
// pipehash.Pipe of three: one filled, one hashed, one spare).
const copyBuffer = 256 << 10

type httpError struct {
	status int
	err    *protocol.Error
}

func errf(status int, code protocol.Code, format string, args ...any) *httpError {
	return &httpError{status: status, err: protocol.Errorf(code, format, args...)}
}

func (e *httpError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e.err})
}

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("HEAD /files/{id}", s.limited(validFile, s.handleHead))
	mux.HandleFunc("PATCH /files/{id}", s.limited(validFile, s.handlePatch))
	mux.HandleFunc("GET /files/{id}", s.limited(validFile, s.handleGet))
	mux.HandleFunc("GET /recordings/{id}/{file}", s.limited(validRecording, s.handleRecording))
	return mux
}

// validFile reports whether the path names a file id.
func validFile(r *http.Request) bool { return protocol.CheckFileID(r.PathValue("id")) == nil }

// limited bounds the transfers in progress; valid checks the path first.
func (s *Service) limited(valid func(*http.Request) bool, h func(http.ResponseWriter, *http.Request) *httpError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.transfers <- struct{}{}:
			defer func() { <-s.transfers }()
		default:
			w.Header().Set("Retry-After", "1")
			errf(http.StatusServiceUnavailable, protocol.CodeUnavailable, "too many transfers; retry").write(w)
			return
		}
		if !valid(r) {
			errf(http.StatusNotFound, protocol.CodeNotFound, "no such file").write(w)
			return
		}
		user, ok := s.enter(bearer(r))
		if !ok {
			w.Header().Set("Retry-After", "1")
			errf(http.StatusTooManyRequests, protocol.CodeRateLimited, "%d transfers of yours are running; wait for one", s.cfg.MaxTransfersPerUser).write(w)
			return
		}
		defer s.leave(user)
		if e := h(w, r); e != nil {
			e.write(w)
		}
	}
}

// enter counts a transfer of the user whose token the request carries
// (none for an unknown token: the handler refuses it) and reports false
// when that user already runs max_transfers_per_user, so that one user
// cannot take every slot.
func (s *Service) enter(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[sha256.Sum256([]byte(token))]
	if !ok {
		return "", true
	}
	if s.running[g.user] >= s.cfg.MaxTransfersPerUser {
		return "", false
	}
	s.running[g.user]++
	return g.user, true
}

func (s *Service) leave(user string) {
	if user == "" {
		return
	}
	s.mu.Lock()
	if s.running[user]--; s.running[user] <= 0 {
		delete(s.running, user)
	}
	s.mu.Unlock()
}

func bearer(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	return ""
}

// uploadOf returns the unfinished upload the request's token is for, or
// the record of one stored lately.
func (s *Service) uploadOf(r *http.Request) (*upload, *storage.File, *httpError) {
	id := r.PathValue("id")
	if _, e := s.lookup(bearer(r), id, true); e != nil {
		return nil, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.uploads[id]; u != nil {
		return u, nil, nil
	}
	if f, ok := s.recent[id]; ok {
		return nil, &f.file, nil
	}
	return nil, nil, errf(http.StatusNotFound, protocol.CodeNotFound, "no unfinished upload %s; ask for a new one", id)
}

func (s *Service) handleHead(w http.ResponseWriter, r *http.Request) *httpError {
	u, stored, e := s.uploadOf(r)
	if e != nil {
		w.WriteHeader(e.status) // a HEAD response has no body
		return nil
	}
	var offset, size int64
	if stored != nil {
		offset, size = stored.Size, stored.Size
	} else {
		s.mu.Lock()
		offset, size = u.offset, u.file.Size
		s.mu.Unlock()
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(offset, 10))
	w.Header().Set("Upload-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// handlePatch appends the body to an unfinished upload at Upload-Offset.
// When the last byte has come, the file is verified, made durable, moved
// into the store and recorded, and its recipients are told.
func (s *Service) handlePatch(w http.ResponseWriter, r *http.Request) *httpError {
	u, stored, e := s.uploadOf(r)
	if e != nil {
		return e
	}
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		return errf(http.StatusBadRequest, protocol.CodeBadRequest, "Upload-Offset must be a byte offset")
	}
	if stored != nil {
		if offset != stored.Size || r.ContentLength > 0 {
			w.Header().Set("Upload-Offset", strconv.FormatInt(stored.Size, 10))
			return errf(http.StatusConflict, protocol.CodeConflict, "the upload is complete")
		}
		return created(w, *stored)
	}
	p, e := s.takeOver(w, u, offset)
	if e != nil {
		return e
	}
	defer func() {
		s.mu.Lock()
		if u.active == p {
			u.active = nil
		}
		u.touched = s.now()
		s.mu.Unlock()
		close(p.done)
	}()
	if r.ContentLength > u.file.Size-offset {
		s.discard(u)
		return errf(http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "%d bytes sent past the declared size %d; upload discarded", r.ContentLength-(u.file.Size-offset), u.file.Size)
	}
	if e := s.digest(r.Header, u); e != nil {
		return e
	}
	if e := s.appendBody(r, u, p); e != nil {
		return e
	}
	if e := s.digest(r.Trailer, u); e != nil {
		return e
	}
	s.mu.Lock()
	done := u.offset == u.file.Size && u.sum() != ""
	s.mu.Unlock()
	if !done {
		w.Header().Set("Upload-Offset", strconv.FormatInt(u.offset, 10))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	f, e := s.finish(r.Context(), u)
	if e != nil {
		return e
	}
	return created(w, f)
}

func created(w http.ResponseWriter, f storage.File) *httpError {
	w.Header().Set("Upload-Offset", strconv.FormatInt(f.Size, 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(Info(f))
	return nil
}

// digest takes the whole file's SHA-256 from a Repr-Digest field of h, if
// there is one. It must agree with what file.upload declared or an earlier
// PATCH gave.
func (s *Service) digest(h http.Header, u *upload) *httpError {
	v := h.Values("Repr-Digest")
	if len(v) == 0 {
		return nil
	}
	sum, err := parseReprDigest(strings.Join(v, ","))
	if err != nil {
		return errf(http.StatusBadRequest, protocol.CodeBadRequest, "Repr-Digest: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have := u.sum(); have != "" && have != sum {
		return errf(http.StatusBadRequest, protocol.CodeBadRequest, "Repr-Digest says sha256 %s, but the upload is of %s", sum, have)
	}
	u.digest = sum
	return nil
}

// parseReprDigest returns the lower-case hex sha-256 of a Repr-Digest
// field value (RFC 9530: a dictionary of algorithm=:base64:), other
// algorithms ignored.
func parseReprDigest(v string) (string, error) {
	for _, member := range strings.Split(v, ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok || !strings.EqualFold(alg, "sha-256") {
			continue
		}
		b64, ok := strings.CutPrefix(val, ":")
		if b64, ok2 := strings.CutSuffix(b64, ":"); ok && ok2 {
			// Parsers should accept a byte sequence without its "=" padding
			// (RFC 8941 §4.2.7).
			enc := base64.StdEncoding
			if !strings.HasSuffix(b64, "=") {
				enc = base64.RawStdEncoding
			}
			if raw, err := enc.DecodeString(b64); err == nil && len(raw) == sha256.Size {
				return hex.EncodeToString(raw), nil
			}
		}
		return "", errors.New("sha-256 must be :base64: of 32 bytes")
	}
	return "", errors.New("no sha-256 in it")
}

// takeOver makes the request the upload's active PATCH. One that is still
// active is most likely a connection whose client is gone: it is cut, and
// its bytes so far are kept. The offset must then be the upload's.
func (s *Service) takeOver(w http.ResponseWriter, u *upload, offset int64) (*patch, *httpError) {
	p := &patch{rc: http.NewResponseController(w), done: make(chan struct{})}
	for {
		s.mu.Lock()
		old := u.active
		if old == nil {
			if s.uploads[u.file.ID] != u {
				s.mu.Unlock()
				return nil, errf(http.StatusNotFound, protocol.CodeNotFound, "upload %s is gone; ask for a new one", u.file.ID)
			}
			if offset != u.offset {
				have := u.offset
				s.mu.Unlock()
				w.Header().Set("Upload-Offset", strconv.FormatInt(have, 10))
				return nil, errf(http.StatusConflict, protocol.CodeConflict, "the server has %d bytes; continue from there", have)
			}
			u.active = p
			s.mu.Unlock()
			return p, nil
		}
		// Cut it while it is surely still running (it clears u.active
		// under the lock when it ends), so that the deadline cannot land
		// on a later request of its connection; cut tells its loop not to
		// extend the deadline again.
		old.cut = true
		_ = old.rc.SetReadDeadline(time.Now())
		s.mu.Unlock()
		select {
		case <-old.done:
		case <-time.After(s.cfg.ReadTimeout):
			w.Header().Set("Retry-After", "1")
			return nil, errf(http.StatusConflict, protocol.CodeConflict, "another request is uploading this file")
		}
	}
}

// appendBody streams the request body onto the upload's temporary file and
// hash as it arrives, never past the declared size. What arrived before a
// broken connection is kept: the client resumes from the new offset.
func (s *Service) appendBody(r *http.Request, u *upload, p *patch) *httpError {
	if u.offset == u.file.Size {
		// Nothing more may come (the last try may have kept the bytes
		// already, see finish): only check that nothing does.
		if n, _ := r.Body.Read(make([]byte, 1)); n > 0 {
			s.discard(u)
			return errf(http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "more bytes sent than the declared size %d; upload discarded", u.file.Size)
		}
		return nil
	}
	tmp, err := os.OpenFile(u.tmp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		s.log.Error("files: open upload", "file", u.file.ID, "err", err)
		return errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
	}
	defer tmp.Close()
	wb := writeback.New(tmp, u.offset, false)
	e := s.copyBody(r, u, p, tmp, wb)
	if err := wb.Close(); err != nil {
		// The bytes may not be on disk whatever the fsync would say:
		// start over.
		s.discard(u)
		s.log.Error("files: write back upload", "file", u.file.ID, "err", err)
		return errf(http.StatusInsufficientStorage, protocol.CodeUnavailable, "cannot store the upload now; upload discarded")
	}
	return e
}

// copyBody is appendBody's loop: from the body onto tmp on this
// goroutine, into the hash on a pipehash.Pipe's, so that hashing overlaps
// the copy.
func (s *Service) copyBody(r *http.Request, u *upload, p *patch, tmp *os.File, wb *writeback.File) *httpError {
	remaining := u.file.Size - u.offset
	body := io.LimitReader(r.Body, remaining+1) // one byte more reveals an overlong body
	hp := pipehash.New(u.hash, copyBuffer)
	defer hp.Close() // the hash has seen every byte in tmp before the request ends
	for {
		// Each read goes into the file at once (a stalled client's bytes
		// so far count in the offset), but to the hash a whole buffer at a
		// time: a chunked body comes in its sender's chunks (32 KiB from a
		// Go client's io.Copy), and a hand-over per chunk cost more than
		// the hashing.
		buf := hp.Buffer()
		n := 0 // bytes of buf in the file
		var rerr error
		for n < len(buf) && rerr == nil {
			var k int
			k, rerr = s.read(body, buf[n:], p)
			if int64(k) > remaining {
				s.discard(u)
				return errf(http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "more bytes sent than the declared size %d; upload discarded", u.file.Size)
			}
			if k == 0 {
				continue
			}
			if _, err := tmp.Write(buf[n : n+k]); err != nil {
				// Cut off what part of the read was written: the file
				// must hold exactly the bytes the hash sees. When it
				// cannot be, the two disagree: start over.
				hp.Sum(buf[:n])
				s.log.Error("files: write upload", "file", u.file.ID, "err", err)
				if terr := tmp.Truncate(u.file.Size - remaining); terr != nil {
					s.discard(u)
					s.log.Error("files: truncate upload", "file", u.file.ID, "err", terr)
					return errf(http.StatusInsufficientStorage, protocol.CodeUnavailable, "cannot store the upload now; upload discarded")
				}
				return errf(http.StatusInsufficientStorage, protocol.CodeUnavailable, "cannot store the upload now")
			}
			n += k
			remaining -= int64(k)
			s.mu.Lock()
			u.offset += int64(k)
			s.mu.Unlock()
			wb.Wrote(k)
		}
		hp.Sum(buf[:n])
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return nil
		case errors.Is(rerr, errCut):
			return errf(http.StatusConflict, protocol.CodeConflict, "a newer request took over this upload")
		default:
			// The client went away, stalled, or a newer PATCH took over:
			// keep what came.
			return errf(http.StatusBadRequest, protocol.CodeBadRequest, "upload interrupted: %v", rerr)
		}
	}
}

// errCut: a newer PATCH of the same upload took over (takeOver).
var errCut = errors.New("a newer request took over")

// read is one read of the body with a fresh deadline, so that a slow
// sender is cut only when nothing comes for the read timeout; errCut once
// a newer PATCH took over.
func (s *Service) read(body io.Reader, buf []byte, p *patch) (int, error) {
	s.mu.Lock()
	cut := p.cut
	if !cut {
		_ = p.rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	}
	s.mu.Unlock()
	if cut {
		return 0, errCut
	}
	return body.Read(buf)
}

// discard drops an upload whose client broke its promises.
func (s *Service) discard(u *upload) {
	s.mu.Lock()
	if s.uploads[u.file.ID] == u {
		s.dropLocked(u.file.ID, u)
	}
	s.mu.Unlock()
}

// finish verifies a complete upload and stores it: fsync, move into the
// content-addressed store (where identical content is kept once), then the
// database record, then the pushes.
func (s *Service) finish(ctx context.Context, u *upload) (storage.File, *httpError) {
	got := hex.EncodeToString(u.hash.Sum(nil))
	s.mu.Lock()
	want := u.sum()
	if got == want {
		u.file.SHA256 = want
	}
	s.mu.Unlock()
	if got != want {
		s.discard(u)
		return storage.File{}, errf(http.StatusUnprocessableEntity, protocol.CodeBadRequest, "sha256 of the bytes is %s, not the declared %s; upload discarded", got, want)
	}
	if err := s.keep(u); err != nil {
		s.log.Error("files: store upload", "file", u.file.ID, "err", err)
		if errors.Is(err, errBadTmp) {
			s.discard(u)
			return storage.File{}, errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error; upload discarded")
		}
		return storage.File{}, errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
	}
	f := u.file
	if f.GroupID != 0 {
		// The sender may have left the group while the bytes came.
		member, err := s.store.IsMember(ctx, f.GroupID, f.Sender)
		if err == nil && !member {
			s.discard(u)
			return f, errf(http.StatusForbidden, protocol.CodeForbidden, "no longer a member of group %s; upload discarded", f.Group)
		}
	}
	f.Created = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.CreateFile(ctx, f); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			s.discard(u)
			return f, errf(http.StatusGone, protocol.CodeNotFound, "the recipient is gone; upload discarded")
		}
		// The bytes are safe in the store: an empty PATCH at the end
		// tries the record again.
		s.log.Error("files: record upload", "file", f.ID, "err", err)
		return f, errf(http.StatusServiceUnavailable, protocol.CodeUnavailable, "could not record the file; retry")
	}
	s.mu.Lock()
	delete(s.uploads, f.ID)
	// Known by its sum from now on, also when the sum came with the bytes:
	// the same file asked for again with its sum is this one.
	s.recent[f.ID] = finished{file: f, key: uploadKey(f), at: s.now()}
	s.mu.Unlock()
	if s.stored != nil {
		s.stored(f)
	}
	return f, nil
}

// keep makes the upload's bytes durable under their hash. The temporary
// file is synced before the rename and the directory after it, so that a
// crash leaves either no blob or a whole one.
func (s *Service) keep(u *upload) error {
	blob := s.blobPath(u.file.SHA256)
	tmp, err := os.OpenFile(u.tmp, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Kept by an earlier try whose record failed.
		if _, serr := os.Stat(blob); serr == nil {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		// A later fsync may not report what this one lost.
		err = fmt.Errorf("%w: fsync: %w", errBadTmp, err)
	} else {
		err = checkSize(tmp, u.file.Size)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(blob); err == nil {
		// The same content is stored already; make sure that is durable
		// too, as its rename may be a moment old.
		if err := os.Remove(u.tmp); err != nil {
			return err
		}
		return dirsync.Sync(filepath.Dir(blob))
	}
	dir := filepath.Dir(blob)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := dirsync.Sync(s.dir); err != nil {
			return err
		}
	}
	if err := os.Rename(u.tmp, blob); err != nil {
		return err
	}
	return dirsync.Sync(dir)
}

// errBadTmp: an upload's temporary file cannot be kept, whatever a retry
// would say: its fsync failed, or it does not hold the declared size.
var errBadTmp = errors.New("temporary file cannot be kept")

// checkSize makes sure that tmp holds size bytes. A file of another size
// means that the file and the hash disagree (the hash saw the bytes that
// came, not the file), which only a bug leaves: better no file than a
// wrong one.
func checkSize(tmp *os.File, size int64) error {
	st, err := tmp.Stat()
	if err != nil {
		return err
	}
	if st.Size() != size {
		return fmt.Errorf("%w: %d bytes, not %d", errBadTmp, st.Size(), size)
	}
	return nil
}

// blobPath is where content with the lower-case hex hash sum lives.
func (s *Service) blobPath(sum string) string { return filepath.Join(s.dir, sum[:2], sum) }

// handleGet serves a file to a holder of a download token who may still
// read it: Range requests, the sha256 as ETag, the original name as
// Content-Disposition.
func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) *httpError {
	id := r.PathValue("id")
	g, e := s.lookup(bearer(r), id, false)
	if e != nil {
		return e
	}
	f, err := s.authorized(r.Context(), g.user, id)
	if err != nil {
		return s.refused(err, "file", id)
	}
	return s.serve(w, r, s.blobPath(f.SHA256), served{sha256: f.SHA256, typ: f.Type, name: f.Name, modified: f.Created})
}

// refused answers a download that its authorization check refused or
// could not make.
func (s *Service) refused(err error, what, id string) *httpError {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeForbidden:
			return errf(http.StatusForbidden, pe.Code, "%s", pe.Message)
		case protocol.CodeNotFound:
			return errf(http.StatusNotFound, pe.Code, "%s", pe.Message)
		case protocol.CodeConflict:
			return errf(http.StatusConflict, pe.Code, "%s", pe.Message)
		}
	}
	s.log.Error("files: authorize download", what, id, "err", err)
	return errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
}

// served describes what serve sends.
type served struct {
	sha256, typ, name string // ETag, Content-Type, the file name of Content-Disposition
	modified          time.Time
}

// serve sends the file at path with http.ServeContent (Range, If-Range on
// the ETag), as an attachment that no cache keeps.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, path string, d served) *httpError {
	blob, err := os.Open(path)
	if err != nil {
		s.log.Error("files: open for download", "path", path, "err", err)
		return errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
	}
	defer blob.Close()
	h := w.Header()
	h.Set("ETag", `"`+d.sha256+`"`)
	h.Set("Content-Type", d.typ)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(deadlineWriter{w, http.NewResponseController(w), s.cfg.ReadTimeout}, r, "", d.modified, blob)
	return nil
}

// deadlineWriter gives every write of a download read_timeout to complete,
// so that a client that stops reading frees its transfer slot. ReadFrom
// keeps the kernel's sendfile: it hands the connection one bounded
// *io.LimitedReader over the file at a time.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// sendChunk is how much of a download may go out under one deadline.
const sendChunk = 8 << 20

func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}

func (w deadlineWriter) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: r, N: 1<<63 - 1}
	}
	var total int64
	for lr.N > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
		chunk := &io.LimitedReader{R: lr.R, N: min(lr.N, sendChunk)}
		n, err := io.Copy(w.ResponseWriter, chunk)
		total += n
		lr.N -= n
		if err != nil || n < min(lr.N+n, sendChunk) {
			return total, err // an error, or the reader ran dry
		}
	}
	return total, nil
}

// String describes an httpError for logs and tests.
func (e *httpError) String() string { return fmt.Sprintf("%d %s", e.status, e.err) }
