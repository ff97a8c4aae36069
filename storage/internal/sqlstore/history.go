package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"huddle/storage"
)

// History returns a page of conv, oldest first: with q.Forward the Limit
// messages right after q.After, else the Limit right before q.Before (the
// newest when it is zero) and after q.After. A page is one range scan of the
// primary key.
func (s *Store) History(ctx context.Context, conv string, q storage.HistoryQuery) ([]storage.Message, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("history of %q: limit %d, want at least 1", conv, q.Limit)
	}
	var rows *sql.Rows
	var err error
	newestFirst := !q.Forward
	if newestFirst {
		before := q.Before
		if before <= 0 {
			before = math.MaxInt64
		}
		rows, err = s.db.QueryContext(ctx,
			`SELECT seq, sender, COALESCE(recipient, ''), client_msg_id, body, created FROM messages
			WHERE conversation = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
			conv, q.After, before, q.Limit)
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT seq, sender, COALESCE(recipient, ''), client_msg_id, body, created FROM messages
			WHERE conversation = ? AND seq > ? ORDER BY seq LIMIT ?`,
			conv, q.After, q.Limit)
	}
	if err != nil {
		return nil, s.wrap(err, "history of %q", conv)
	}
	defer rows.Close()
	out := make([]storage.Message, 0, min(q.Limit, 64))
	for rows.Next() {
		m := storage.Message{Conversation: conv}
		if err := rows.Scan(&m.Seq, &m.Sender, &m.Recipient, &m.ClientMsgID, &m.Body, &m.Created); err != nil {
			return nil, s.wrap(err, "history of %q", conv)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "history of %q", conv)
	}
	if newestFirst {
		slices.Reverse(out)
	}
	return out, nil
}

// LastSeq returns the newest seq of conv, 0 for an empty one.
func (s *Store) LastSeq(ctx context.Context, conv string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation = ?`, conv).Scan(&seq)
	return seq, s.wrap(err, "last seq of %q", conv)
}

// MarkRead moves user's marker in conv forward to seq, clamped to the
// conversation's newest, and returns the marker and whether it moved.
// Markers exist only where UnreadCounts should count, so this never creates
// one: storage.ErrNotFound when user has none in conv.
func (s *Store) MarkRead(ctx context.Context, user, conv string, seq int64) (int64, bool, error) {
	var marker int64
	var moved bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		moved = false // a retried transaction starts over
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation = ?`, conv).Scan(&last)
		if err != nil {
			return err
		}
		target := max(min(seq, last), 0)
		n, err := affected(tx.ExecContext(ctx,
			`UPDATE read_markers SET seq = ? WHERE user = ? AND conversation = ? AND seq < ?`,
			target, user, conv, target))
		if err != nil || n > 0 {
			marker, moved = target, err == nil
			return err
		}
		err = tx.QueryRowContext(ctx,
			`SELECT seq FROM read_markers WHERE user = ? AND conversation = ?`, user, conv).Scan(&marker)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		// The marker was at or past target; under MySQL's snapshot this
		// read may predate the commit that moved it there.
		marker = max(marker, target)
		return err
	})
	if err != nil {
		return 0, false, s.wrap(err, "mark %q read by %q", conv, user)
	}
	return marker, moved, nil
}

// UnreadCounts counts, per conversation user has a marker in, the messages
// of others after the marker, in one query over the primary keys of
// read_markers and messages.
func (s *Store) UnreadCounts(ctx context.Context, user string) ([]storage.Unread, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT r.conversation, COUNT(*),
			(SELECT MAX(l.seq) FROM messages l WHERE l.conversation = r.conversation)
		FROM read_markers r JOIN messages m ON m.conversation = r.conversation AND m.seq > r.seq
		WHERE r.user = ? AND m.sender <> r.user
		GROUP BY r.conversation ORDER BY r.conversation`, user)
	if err != nil {
		return nil, s.wrap(err, "unread counts of %q", user)
	}
	defer rows.Close()
	out := []storage.Unread{}
	for rows.Next() {
		var u storage.Unread
		if err := rows.Scan(&u.Conversation, &u.Count, &u.LastSeq); err != nil {
			return nil, s.wrap(err, "unread counts of %q", user)
		}
		out = append(out, u)
	}
	return out, s.wrap(rows.Err(), "unread counts of %q", user)
}
