package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"huddle/configs"
	"huddle/protocol"
	"huddle/storage"
)

// Service owns file sharing: it authorizes transfers for the control
// protocol, serves the HTTP data channel, keeps unfinished uploads and the
// content-addressed store under Data/files, and writes a file's record only
// once its bytes are verified and durable.
type Service struct {
	cfg    configs.Files
	store  storage.Store
	log    *slog.Logger
	dir    string // Data/files: blobs in ab/abcdef…, unfinished uploads in tmp/
	recDir string // Data/recordings: one directory per recording
	now    func() time.Time

	stored func(storage.File) // told of every file whose record was written

	mu      sync.Mutex
	uploads map[string]*upload  // unfinished, by file id
	recent  map[string]finished // stored lately, by file id
	running map[string]int      // transfers in progress, by user
	grants  map[[32]byte]grant  // by SHA-256 of the token

	http      *http.Server
	ln        net.Listener
	base      string        // http://host:port
	transfers chan struct{} // bounds transfers in progress
	stop      chan struct{}
	done      chan struct{}
	served    chan struct{} // closed when Serve has returned
	shutdown  sync.Once
}

// upload is an unfinished upload. Its bytes so far are in tmp, hashed as
// they arrived; one PATCH at a time appends to it.
type upload struct {
	file   storage.File
	key    string // who sends what to whom: a repeated file.upload finds it
	tmp    string
	offset int64
	hash   hash.Hash
	// digest is the sha256 a PATCH gave (Repr-Digest) for an upload
	// whose file.upload declared none (file.SHA256 "", until finish).
	digest  string
	touched time.Time
	// active is the PATCH appending now, nil when none; a newer PATCH
	// takes over from it (its client is most likely gone).
	active *patch
}

// sum is the hex SHA-256 the bytes must have: declared by file.upload or
// given since by a PATCH; "" while unknown. Guarded by Service.mu.
func (u *upload) sum() string {
	if u.file.SHA256 != "" {
		return u.file.SHA256
	}
	return u.digest
}

// patch is one PATCH request appending to an upload.
type patch struct {
	rc   *http.ResponseController
	done chan struct{} // closed when the request no longer touches the upload
	cut  bool          // a newer PATCH took over (guarded by Service.mu)
}

// finished remembers a stored upload for a while, so that a client that
// missed the answer to its last PATCH learns the upload is complete
// instead of sending the file again.
type finished struct {
	file storage.File
	key  string
	at   time.Time
}

// grant is what a token allows: one user, one file, one direction.
type grant struct {
	user    string
	file    string
	upload  bool
	expires time.Time
}

// New prepares the store directory under dataDir (removing what unfinished
// uploads a crash left behind) and returns a service that is not serving
// yet; Start begins serving.
func New(cfg configs.Files, store storage.Store, dataDir string, log *slog.Logger) (*Service, error) {
	s := &Service{
		cfg:       cfg,
		store:     store,
		log:       log,
		dir:       filepath.Join(dataDir, "files"),
		recDir:    filepath.Join(dataDir, "recordings"),
		now:       time.Now,
		uploads:   make(map[string]*upload),
		recent:    make(map[string]finished),
		running:   make(map[string]int),
		grants:    make(map[[32]byte]grant),
		transfers: make(chan struct{}, cfg.MaxTransfers),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		served:    make(chan struct{}),
	}
	tmp := filepath.Join(s.dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("files: clean %s: %w", tmp, err)
	}
	for _, d := range []string{tmp, s.recDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
	}
	return s, nil
}

// Start listens on addr and serves the data channel; stored is told of
// every new file after its record is written (it pushes file.new).
func (s *Service) Start(addr string, stored func(storage.File)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	s.ln, s.stored = ln, stored
	s.base = strings.TrimSuffix(s.cfg.PublicURL, "/")
	if s.base == "" {
		s.base = "http://" + ln.Addr().String()
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		IdleTimeout:       2 * s.cfg.ReadTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("files: serve", "err", err)
		}
	}()
	go s.janitor()
	s.log.Info("file data channel up", "addr", ln.Addr().String(), "max_size", s.cfg.MaxSize)
	return nil
}

// Addr is the data channel's address.
func (s *Service) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting transfers and waits for those in progress until
// ctx ends; unfinished uploads stay on disk until the next start removes
// them.
func (s *Service) Shutdown(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	var err error
	s.shutdown.Do(func() {
		close(s.stop)
		<-s.done
		err = s.http.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.http.Close()) // cut what is still running
		}
		<-s.served
	})
	return err
}

// janitor drops uploads that stopped receiving bytes and expired grants.
func (s *Service) janitor() {
	defer close(s.done)
	t := time.NewTicker(min(s.cfg.UploadTTL, s.cfg.FinishedTTL, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

func (s *Service) sweep() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.uploads {
		if u.active == nil && now.Sub(u.touched) > s.cfg.UploadTTL {
			s.dropLocked(id, u)
		}
	}
	for id, f := range s.recent {
		if now.Sub(f.at) > s.cfg.FinishedTTL {
			delete(s.recent, id)
		}
	}
	for k, g := range s.grants {
		if now.After(g.expires) {
			delete(s.grants, k)
		}
	}
}

func (s *Service) dropLocked(id string, u *upload) {
	delete(s.uploads, id)
	if err := os.Remove(u.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("files: remove unfinished upload", "file", id, "err", err)
	}
}

// Upload authorizes sender to upload a file to a user or group and returns
// where to send its bytes. Asking again for the same file while its upload
// is unfinished returns that upload with a fresh token.
func (s *Service) Upload(ctx context.Context, sender string, in protocol.FileUpload) (protocol.FileUploadReply, error) {
	if in.Size > s.cfg.MaxSize {
		return protocol.FileUploadReply{}, protocol.Errorf(protocol.CodeTooLarge, "file is %d bytes; the limit is %d", in.Size, s.cfg.MaxSize)
	}
	f := storage.File{SHA256: in.SHA256, Name: in.Name, Type: in.Type, Size: in.Size, Sender: sender, Receiver: in.User}
	if err := s.checkRecipient(ctx, sender, in.Conversation, &f); err != nil {
		return protocol.FileUploadReply{}, err
	}
	key := uploadKey(f)
	used, err := s.store.UsedBytes(ctx, sender)
	if err != nil {
		return protocol.FileUploadReply{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, f := range s.recent {
		// A stored file's key has its sum (see finish): an ask without one,
		// whose name and size may well be other bytes, finds none.
		if f.key == key && now.Sub(f.at) <= s.cfg.FinishedTTL {
			// Stored a moment ago: the client missed the last answer. Past
			// files.finished_ttl the same file again is a new share.
			token, expires, err := s.grantLocked(sender, id, true)
			return protocol.FileUploadReply{File: id, URL: s.url(id), Token: token, Expires: expires, Offset: f.file.Size}, err
		}
	}
	var u *upload
	pending, pendingBytes := 0, int64(0)
	for _, p := range s.uploads {
		if p.file.Sender != sender {
			continue
		}
		if p.key == key {
			u = p
		}
		pending++
		pendingBytes += p.file.Size
	}
	if u == nil {
		if pending >= s.cfg.MaxUploads {
			return protocol.FileUploadReply{}, protocol.Errorf(protocol.CodeRateLimited, "%d uploads are unfinished; finish or wait for them", pending)
		}
		if used+pendingBytes+in.Size > s.cfg.Quota {
			return protocol.FileUploadReply{}, protocol.Errorf(protocol.CodeTooLarge, "over quota: %d of %d bytes used, %d more in unfinished uploads", used, s.cfg.Quota, pendingBytes)
		}
		if u, err = s.newUploadLocked(f, key); err != nil {
			return protocol.FileUploadReply{}, err
		}
	}
	u.touched = now
	token, expires, err := s.grantLocked(sender, u.file.ID, true)
	if err != nil {
		return protocol.FileUploadReply{}, err
	}
	return protocol.FileUploadReply{File: u.file.ID, URL: s.url(u.file.ID), Token: token, Expires: expires, Offset: u.offset}, nil
}

// checkRecipient checks that the user exists, or that the group does and
// sender is a member, and fills in f's group.
func (s *Service) checkRecipient(ctx context.Context, sender string, to protocol.Conversation, f *storage.File) error {
	if to.User != "" {
		if to.User == sender {
			return protocol.Errorf(protocol.CodeBadRequest, "send files to another user or a group")
		}
		_, err := s.store.GetUser(ctx, to.User)
		if errors.Is(err, storage.ErrNotFound) {
			return protocol.Errorf(protocol.CodeNotFound, "no user %s", to.User)
		}
		return err
	}
	g, err := s.store.GetGroup(ctx, to.Group)
	if errors.Is(err, storage.ErrNotFound) {
		return protocol.Errorf(protocol.CodeNotFound, "no group %s", to.Group)
	}
	if err != nil {
		return err
	}
	member, err := s.store.IsMember(ctx, g.ID, sender)
	if err != nil {
		return err
	}
	if !member {
		return protocol.Errorf(protocol.CodeForbidden, "not a member of group %s", to.Group)
	}
	f.GroupID, f.Group = g.ID, g.Name
	return nil
}

// uploadKey is who sends what to whom: a repeated file.upload of the same
// finds the unfinished upload, or the file stored a moment ago.
func uploadKey(f storage.File) string {
	return strings.Join([]string{f.Sender, f.Receiver, f.Group, f.Name, fmt.Sprint(f.Size), f.SHA256}, "\x00")
}

func (s *Service) newUploadLocked(f storage.File, key string) (*upload, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	f.ID = id
	u := &upload{file: f, key: key, tmp: filepath.Join(s.dir, "tmp", id), hash: sha256.New()}
	tmp, err := os.OpenFile(u.tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("files: new upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("files: new upload: %w", err)
	}
	s.uploads[id] = u
	return u, nil
}

// Download authorizes user to download a file and returns where.
func (s *Service) Download(ctx context.Context, user, id string) (protocol.FileDownloadReply, error) {
	f, err := s.authorized(ctx, user, id)
	if err != nil {
		return protocol.FileDownloadReply{}, err
	}
	s.mu.Lock()
	token, expires, err := s.grantLocked(user, id, false)
	s.mu.Unlock()
	if err != nil {
		return protocol.FileDownloadReply{}, err
	}
	return protocol.FileDownloadReply{FileInfo: Info(f), URL: s.url(id), Token: token, Expires: expires}, nil
}

// authorized returns the file if user may download it now: its sender, its
// receiver, or a current member of its group.
func (s *Service) authorized(ctx context.Context, user, id string) (storage.File, error) {
	f, err := s.store.GetFile(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return f, protocol.Errorf(protocol.CodeNotFound, "no file %s", id)
	}
	if err != nil {
		return f, err
	}
	if f.Sender == user || f.Receiver == user {
		return f, nil
	}
	if f.GroupID != 0 {
		member, err := s.store.IsMember(ctx, f.GroupID, user)
		if err != nil || member {
			return f, err
		}
	}
	return f, protocol.Errorf(protocol.CodeForbidden, "file %s was not sent to you", id)
}

// List returns the files user sent, received, or that reached their groups.
func (s *Service) List(ctx context.Context, user string, in protocol.FileList) (protocol.FileListReply, error) {
	fs, err := s.store.ListFiles(ctx, user, in.Before, in.Limit)
	if errors.Is(err, storage.ErrNotFound) {
		return protocol.FileListReply{}, protocol.Errorf(protocol.CodeNotFound, "no file %s", in.Before)
	}
	out := protocol.FileListReply{Files: make([]protocol.FileInfo, len(fs))}
	for i, f := range fs {
		out.Files[i] = Info(f)
	}
	return out, err
}

// Info is a file's record as the protocol shows it.
func Info(f storage.File) protocol.FileInfo {
	to := f.Receiver
	if f.GroupID != 0 {
		to = f.Group
	}
	return protocol.FileInfo{File: f.ID, Name: f.Name, From: f.Sender, To: to, Group: f.Group,
		Size: f.Size, SHA256: f.SHA256, Type: f.Type, TS: f.Created}
}

func (s *Service) url(id string) string { return s.base + "/files/" + id }

// grantLocked makes a token for user and file.
func (s *Service) grantLocked(user, file string, upload bool) (string, time.Time, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("files: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	expires := s.now().Add(s.cfg.TokenTTL)
	s.grants[sha256.Sum256([]byte(token))] = grant{user: user, file: file, upload: upload, expires: expires}
	return token, expires, nil
}

// lookup returns the grant of token for file, or why there is none.
func (s *Service) lookup(token, file string, upload bool) (grant, *httpError) {
	s.mu.Lock()
	g, ok := s.grants[sha256.Sum256([]byte(token))]
	s.mu.Unlock()
	switch {
	case !ok || s.now().After(g.expires):
		return g, errf(http.StatusUnauthorized, protocol.CodeUnauthorized, "token unknown or expired; ask for a new one")
	case g.file != file || g.upload != upload:
		return g, errf(http.StatusForbidden, protocol.CodeForbidden, "token is not for this transfer")
	}
	return g, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random file id of 128 bits.
func newID() (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("files: id: %w", err)
	}
	return idEncoding.EncodeToString(raw), nil
}
