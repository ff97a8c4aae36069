package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"huddle/storage"
)

// MeetingMembers returns the members of meeting id ordered by name; none
// for an unknown meeting.
func (s *Store) MeetingMembers(ctx context.Context, id int64) ([]storage.MeetingMember, error) {
	return list(ctx, s, fmt.Sprintf("members of meeting %d", id),
		func(r rowScanner, m *storage.MeetingMember) error {
			return r.Scan(&m.User, &m.Role, &m.Status, &m.Updated)
		},
		`SELECT user, role, status, updated FROM meeting_members WHERE meeting_id = ? ORDER BY user`, id)
}

// SetMeetingMember inserts or updates member m of meeting id (ended or
// not); any status but joined deletes the member's media sources with it.
// storage.ErrNotFound when the meeting or the user does not exist. Behind
// the meeting's lock it updates, and inserts only a member it did not find,
// so the one SQL serves both backends.
func (s *Store) SetMeetingMember(ctx context.Context, id int64, m storage.MeetingMember) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.setMembers(ctx, tx, id, m) })
	return s.wrap(err, "set %q %s/%s in meeting %d", m.User, m.Role, m.Status, id)
}

// SetMeetingMembers stores ms in one transaction: one commit for a meeting's
// invitations, where a commit each made inviting 1,000 people wait for
// 1,000 flushes of the disk.
func (s *Store) SetMeetingMembers(ctx context.Context, id int64, ms []storage.MeetingMember) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.setMembers(ctx, tx, id, ms...) })
	return s.wrap(err, "set %d members of meeting %d", len(ms), id)
}

func (s *Store) setMembers(ctx context.Context, tx *sql.Tx, id int64, ms ...storage.MeetingMember) error {
	if _, err := s.lockMeeting(ctx, tx, id); err != nil {
		return err
	}
	for _, m := range ms {
		n, err := affected(tx.ExecContext(ctx,
			`UPDATE meeting_members SET role = ?, status = ?, updated = ? WHERE meeting_id = ? AND user = ?`,
			m.Role, m.Status, m.Updated, id, m.User))
		if err != nil {
			return fmt.Errorf("%q: %w", m.User, err)
		}
		if n == 0 {
			_, err = tx.ExecContext(ctx,
				`INSERT INTO meeting_members (meeting_id, user, role, status, updated) VALUES (?, ?, ?, ?, ?)`,
				id, m.User, m.Role, m.Status, m.Updated)
			if err != nil {
				return fmt.Errorf("%q: %w", m.User, err)
			}
		}
		if m.Status != storage.StatusJoined {
			if _, err := tx.ExecContext(ctx, `DELETE FROM media_sources WHERE meeting_id = ? AND user = ?`, id, m.User); err != nil {
				return err
			}
		}
	}
	return nil
}
