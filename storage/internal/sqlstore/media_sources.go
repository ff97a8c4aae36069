package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"

	"huddle/storage"
)

// AddMediaSource stores src for the joined member src.User of the live
// meeting id. storage.ErrConflict when the meeting has a source with
// src.SSRC already, or a live meeting one with src's address and SSRC (the
// schema's keys; only live meetings have sources); storage.ErrNotFound when
// the meeting is not live or src.User is not a joined member of it. Behind
// the meeting's lock, a concurrent leave, kick or end either comes first,
// and this finds no joined member, or comes after and deletes the source.
// An IPv4 address mapped into IPv6 is stored as the IPv4 address: one
// address, one spelling, one key.
func (s *Store) AddMediaSource(ctx context.Context, id int64, src storage.MediaSource) error {
	src.Source = netip.AddrPortFrom(src.Source.Addr().Unmap(), src.Source.Port())
	if !src.Source.IsValid() {
		return fmt.Errorf("add source of %q to meeting %d: invalid address", src.User, id)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := s.lockMeeting(ctx, tx, id)
		if err != nil {
			return err
		}
		if state != storage.MeetingLive {
			return fmt.Errorf("meeting is %s: %w", state, storage.ErrNotFound)
		}
		var status string
		err = tx.QueryRowContext(ctx, `SELECT status FROM meeting_members WHERE meeting_id = ? AND user = ? `+s.dialect.ForUpdate,
			id, src.User).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%q is not a member: %w", src.User, storage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if status != storage.StatusJoined {
			return fmt.Errorf("member %q is %s, not joined: %w", src.User, status, storage.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO media_sources (meeting_id, user, track, source, ssrc) VALUES (?, ?, ?, ?, ?)`,
			id, src.User, src.Track, src.Source.String(), int64(src.SSRC))
		return err
	})
	return s.wrap(err, "add %s source %v ssrc %d of %q to meeting %d", src.Track, src.Source, src.SSRC, src.User, id)
}

// RemoveMediaSource deletes the source with ssrc of user on track in
// meeting id; storage.ErrNotFound when there is none.
func (s *Store) RemoveMediaSource(ctx context.Context, id int64, user, track string, ssrc uint32) error {
	n, err := affected(s.db.ExecContext(ctx,
		`DELETE FROM media_sources WHERE meeting_id = ? AND ssrc = ? AND user = ? AND track = ?`, id, int64(ssrc), user, track))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "remove %s source ssrc %d of %q from meeting %d", track, ssrc, user, id)
}

// MediaSources returns the sources of meeting id ordered by user, track
// (byte-wise) and SSRC; none for an unknown or ended meeting.
func (s *Store) MediaSources(ctx context.Context, id int64) ([]storage.MediaSource, error) {
	return list(ctx, s, fmt.Sprintf("sources of meeting %d", id),
		func(r rowScanner, src *storage.MediaSource) error {
			var addr string
			if err := r.Scan(&src.User, &src.Track, &addr, &src.SSRC); err != nil {
				return err
			}
			var err error
			src.Source, err = netip.ParseAddrPort(addr)
			return err
		},
		`SELECT user, track, source, ssrc FROM media_sources WHERE meeting_id = ? ORDER BY user, track, ssrc`, id)
}
