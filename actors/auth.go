package actors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"huddle/protocol"
	"huddle/storage"
)

var (
	errBadCredentials = protocol.Errorf(protocol.CodeUnauthorized, "invalid name or password")
	errBadSession     = protocol.Errorf(protocol.CodeUnauthorized, "session expired or revoked; log in again")
)

// account runs register, login and resume in their own goroutine: they
// hash passwords and query the store, which no event loop or actor may wait on.
func (h *Hub) account(r *request) {
	defer func() { <-h.accountSlots }()
	ctx, cancel := h.storeCtx()
	defer cancel()
	var err error
	switch r.Type {
	case protocol.TypeAuthRegister:
		err = h.register(ctx, r)
	case protocol.TypeAuthLogin:
		err = h.login(ctx, r)
	case protocol.TypeAuthResume:
		err = h.resume(ctx, r)
	}
	if err != nil {
		h.fail(r, err)
	}
}

func (h *Hub) register(ctx context.Context, r *request) error {
	var in protocol.Register
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		return err
	}
	ip := r.conn.RemoteAddr().String()
	if !h.registerIP.Allowed(ip) {
		return protocol.Errorf(protocol.CodeRateLimited, "too many registrations from this address; wait and retry")
	}
	h.registerIP.Hit(ip)
	hash, err := h.hasher.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	err = h.store.CreateUser(ctx, storage.User{Name: in.Name, Email: in.Email, PasswordHash: hash, Created: h.now()})
	if errors.Is(err, storage.ErrConflict) {
		return protocol.Errorf(protocol.CodeConflict, "name %s is taken", in.Name)
	}
	if err != nil {
		return fmt.Errorf("register %q: %w", in.Name, err)
	}
	h.reply(r, protocol.RegisterReply{User: in.Name})
	return nil
}

// passwordWait is how long a password check for account name from ip must
// wait: 0 if it may run now. Failures count per account and IP, per
// account from every IP (a higher limit) and per IP, so that a stranger's
// guesses lock the owner out only from the stranger's address until they
// come from many addresses.
func (h *Hub) passwordWait(name string, ip netip.Addr) time.Duration {
	return max(h.failAccount.Wait(failKey(name, ip)), h.failAccountTotal.Wait(name), h.failIP.Wait(ip.String()))
}

// passwordFailed counts a wrong password for account name from ip.
func (h *Hub) passwordFailed(name string, ip netip.Addr) {
	h.failAccount.Hit(failKey(name, ip))
	h.failAccountTotal.Hit(name)
	h.failIP.Hit(ip.String())
}

// failKey is the failAccount key of account name from ip (a NUL cannot
// be in either).
func failKey(name string, ip netip.Addr) string { return name + "\x00" + ip.String() }

// login checks the password. An unknown name costs the same argon2 work as a
// wrong password and gets the same error, so names cannot be probed.
func (h *Hub) login(ctx context.Context, r *request) error {
	var in protocol.Login
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		return err
	}
	ip := r.conn.RemoteAddr()
	if wait := h.passwordWait(in.Name, ip); wait > 0 {
		return tooManyFailures(wait)
	}
	u, err := h.store.GetUser(ctx, in.Name)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login %q: %w", in.Name, err)
	}
	ok, err := h.hasher.Verify(ctx, u.PasswordHash, in.Password)
	if err != nil {
		return err
	}
	if !ok {
		h.passwordFailed(in.Name, ip)
		return errBadCredentials
	}
	token, hash, err := newToken()
	if err != nil {
		return err
	}
	now := h.now()
	s := storage.Session{TokenHash: hash, User: u.Name, Created: now, Expires: now.Add(h.auth.SessionTTL)}
	if err := h.store.CreateSession(ctx, s); err != nil {
		return fmt.Errorf("create session for %q: %w", u.Name, err)
	}
	unread, err := h.unread(ctx, u.Name)
	if err != nil {
		return fmt.Errorf("unread counts of %q: %w", u.Name, err)
	}
	h.dir.Send(u.Name, &attach{req: r, tokenHash: hash,
		reply: protocol.Session{User: u.Name, Token: token, Expires: s.Expires, Unread: unread}}, true)
	return nil
}

func (h *Hub) resume(ctx context.Context, r *request) error {
	var in protocol.Resume
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		return err
	}
	ip := r.conn.RemoteAddr().String()
	if wait := h.failIP.Wait(ip); wait > 0 {
		return tooManyFailures(wait)
	}
	s, err := h.store.GetSession(ctx, HashToken(in.Token), h.now())
	if errors.Is(err, storage.ErrNotFound) {
		h.failIP.Hit(ip)
		return errBadSession
	}
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	unread, err := h.unread(ctx, s.User)
	if err != nil {
		return fmt.Errorf("unread counts of %q: %w", s.User, err)
	}
	h.dir.Send(s.User, &attach{req: r, tokenHash: s.TokenHash,
		reply: protocol.Session{User: s.User, Expires: s.Expires, Unread: unread}}, true)
	return nil
}

// tooManyFailures refuses an attempt over a failed-login throttle.
func tooManyFailures(wait time.Duration) error {
	return protocol.Errorf(protocol.CodeRateLimited, "too many failed attempts; retry in %ds", int(wait.Seconds()+0.999))
}

// newToken returns a 256-bit random session token and its SHA-256, the only
// form in which it is stored.
func newToken() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a session token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
