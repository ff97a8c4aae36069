package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"huddle/storage"
)

// A friendship is two rows, one per direction, each holding the state as its
// user sees it: (from, to, requested) with (to, from, pending) while a request
// is open, both accepted once it is accepted. Every change writes both rows in
// one transaction. Two users asking each other at the same instant can both
// find no rows and both insert; the loser sees a duplicate key and runs again
// (errRace), now finding the other's request and accepting it.

// RequestFriend records that from asks to befriend to and returns from's
// resulting state. Asking yourself is storage.ErrConflict.
func (s *Store) RequestFriend(ctx context.Context, from, to string, now time.Time) (string, error) {
	if from == to {
		return "", fmt.Errorf("request friend %q: cannot befriend yourself: %w", from, storage.ErrConflict)
	}
	var result string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var users int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name IN (?, ?)`, from, to).Scan(&users)
		if err != nil {
			return err
		}
		if users != 2 {
			return storage.ErrNotFound
		}
		state, err := friendState(ctx, tx, from, to)
		switch {
		case err != nil:
			return err
		case state == "":
			_, err := tx.ExecContext(ctx,
				`INSERT INTO friends (user, friend, state, created) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`,
				from, to, storage.FriendRequested, now, to, from, storage.FriendPending, now)
			if s.classify(err) == Duplicate {
				return errRace
			}
			result = storage.FriendRequested
			return err
		case state == storage.FriendPending:
			result = storage.FriendAccepted
			return acceptBoth(ctx, tx, from, to)
		}
		return storage.ErrConflict // already requested or accepted
	})
	if err != nil {
		return "", s.wrap(err, "request friend %q to %q", from, to)
	}
	return result, nil
}

// AcceptFriend accepts the pending request of from to user;
// storage.ErrNotFound when there is no such pending request.
func (s *Store) AcceptFriend(ctx context.Context, user, from string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := friendState(ctx, tx, user, from)
		if err != nil {
			return err
		}
		if state != storage.FriendPending {
			return storage.ErrNotFound
		}
		return acceptBoth(ctx, tx, user, from)
	})
	return s.wrap(err, "accept friend %q from %q", user, from)
}

// RemoveFriend deletes both rows between user and other; storage.ErrNotFound
// when there were none. One statement is one transaction.
func (s *Store) RemoveFriend(ctx context.Context, user, other string) error {
	n, err := affected(s.db.ExecContext(ctx,
		`DELETE FROM friends WHERE (user = ? AND friend = ?) OR (user = ? AND friend = ?)`,
		user, other, other, user))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "remove friend %q of %q", other, user)
}

// ListFriends returns user's rows ordered by the other user's name; none
// (not an error) for an unknown user.
func (s *Store) ListFriends(ctx context.Context, user string) ([]storage.Friend, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT friend, state, created FROM friends WHERE user = ? ORDER BY friend`, user)
	if err != nil {
		return nil, s.wrap(err, "list friends of %q", user)
	}
	defer rows.Close()
	out := []storage.Friend{}
	for rows.Next() {
		var f storage.Friend
		if err := rows.Scan(&f.User, &f.State, &f.Created); err != nil {
			return nil, s.wrap(err, "list friends of %q", user)
		}
		out = append(out, f)
	}
	return out, s.wrap(rows.Err(), "list friends of %q", user)
}

// friendState returns the state of user's row about other, "" when there is none.
func friendState(ctx context.Context, tx *sql.Tx, user, other string) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM friends WHERE user = ? AND friend = ?`, user, other).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return state, err
}

// acceptBoth turns both rows between a and b to accepted. Fewer than two rows
// means a concurrent removal got there between the read and this write.
func acceptBoth(ctx context.Context, tx *sql.Tx, a, b string) error {
	n, err := affected(tx.ExecContext(ctx,
		`UPDATE friends SET state = ? WHERE (user = ? AND friend = ?) OR (user = ? AND friend = ?)`,
		storage.FriendAccepted, a, b, b, a))
	if err == nil && n != 2 {
		return errRace
	}
	return err
}
