package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"huddle/storage"
)

// CreateSession inserts sess; storage.ErrConflict when the hash exists
// already, storage.ErrNotFound when its user does not exist.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session) error {
	if len(sess.TokenHash) != sha256.Size {
		return fmt.Errorf("create session for %q: token hash has %d bytes, want %d", sess.User, len(sess.TokenHash), sha256.Size)
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user, created, expires) VALUES (?, ?, ?, ?)`,
		sess.TokenHash, sess.User, sess.Created, sess.Expires)
	return s.wrap(err, "create session for %q", sess.User)
}

// GetSession returns the session with this token hash; storage.ErrNotFound
// when there is none or it expired before now. A session is live up to and
// including its Expires instant.
func (s *Store) GetSession(ctx context.Context, tokenHash []byte, now time.Time) (storage.Session, error) {
	var sess storage.Session
	err := s.db.QueryRowContext(ctx,
		`SELECT token_hash, user, created, expires FROM sessions WHERE token_hash = ? AND expires >= ?`,
		tokenHash, now).
		Scan(&sess.TokenHash, &sess.User, &sess.Created, &sess.Expires)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return sess, s.wrap(err, "get session")
}

// DeleteSession removes one session; storage.ErrNotFound when there is none.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	n, err := affected(s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "delete session")
}

// DeleteExpiredSessions removes the sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := affected(s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires < ?`, now))
	return n, s.wrap(err, "delete expired sessions")
}
