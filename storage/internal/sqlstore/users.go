package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"huddle/storage"
)

// CreateUser inserts u; storage.ErrConflict when the name is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (name, email, password_hash, created) VALUES (?, ?, ?, ?)`,
		u.Name, u.Email, u.PasswordHash, u.Created)
	return s.wrap(err, "create user %q", u.Name)
}

// GetUser returns the account named name; storage.ErrNotFound when there is none.
func (s *Store) GetUser(ctx context.Context, name string) (storage.User, error) {
	var u storage.User
	err := s.db.QueryRowContext(ctx,
		`SELECT name, email, password_hash, created FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Email, &u.PasswordHash, &u.Created)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return u, s.wrap(err, "get user %q", name)
}

// UpdateEmail sets the email of name; storage.ErrNotFound when there is no such user.
func (s *Store) UpdateEmail(ctx context.Context, name, email string) error {
	n, err := affected(s.db.ExecContext(ctx, `UPDATE users SET email = ? WHERE name = ?`, email, name))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "update email of %q", name)
}

// UpdatePassword sets the password hash of name and deletes that user's
// sessions but keepSession, in one transaction; storage.ErrNotFound when there
// is no such user.
func (s *Store) UpdatePassword(ctx context.Context, name, hash string, keepSession []byte) (int, error) {
	var revoked int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name))
		if err != nil {
			return err
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		if len(keepSession) == 0 {
			revoked, err = affected(tx.ExecContext(ctx, `DELETE FROM sessions WHERE user = ?`, name))
		} else {
			revoked, err = affected(tx.ExecContext(ctx,
				`DELETE FROM sessions WHERE user = ? AND token_hash <> ?`, name, keepSession))
		}
		return err
	})
	if err != nil {
		return 0, s.wrap(err, "update password of %q", name)
	}
	return revoked, nil
}
