package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"huddle/storage"
)

// The queries spell the live state as the literal 'live', not a parameter:
// SQLite uses a partial index (WHERE state = 'live') only for a query whose
// condition matches it to the letter. The schema's CHECKs name the same
// values as storage's constants.

// meetingColumns are a meetings row, mt, in the order scanMeeting reads.
const meetingColumns = `mt.id, mt.name, mt.host, mt.kind, mt.state, mt.mcast_group,
	mt.text_port, mt.audio_port, mt.video_port, mt.screen_port, mt.caption_port, mt.created, mt.ended`

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanMeeting reads a row of meetingColumns followed by extra.
func scanMeeting(row rowScanner, m *storage.Meeting, extra ...any) error {
	var group string
	var ended sql.NullTime
	dest := []any{&m.ID, &m.Name, &m.Host, &m.Kind, &m.State, &group}
	for i := range m.Ports {
		dest = append(dest, &m.Ports[i])
	}
	if err := row.Scan(append(append(dest, &m.Created, &ended), extra...)...); err != nil {
		return err
	}
	m.Ended = ended.Time // zero while live
	var err error
	if m.Group, err = netip.ParseAddr(group); err != nil {
		return fmt.Errorf("meeting %d: multicast group: %w", m.ID, err)
	}
	return nil
}

// list runs query and returns what scan reads of each row; an empty slice,
// not nil, when there are none.
func list[T any](ctx context.Context, s *Store, what string, scan func(rowScanner, *T) error, query string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(err, "%s", what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, s.wrap(err, "%s", what)
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), "%s", what)
}

// CreateMeeting inserts m, live, with its host as the first, joined member;
// storage.ErrNotFound when the host does not exist, storage.ErrConflict
// when a live meeting holds m.Group (the schema's unique key on the group of
// live meetings says so, whatever runs concurrently). The group must be an
// IPv4 multicast address, m.State empty or live and m.Ended zero.
func (s *Store) CreateMeeting(ctx context.Context, m storage.Meeting) (storage.Meeting, error) {
	if m.State == "" {
		m.State = storage.MeetingLive
	}
	switch {
	case m.State != storage.MeetingLive || !m.Ended.IsZero():
		return storage.Meeting{}, fmt.Errorf("create meeting %q: state %q, ended %v: a meeting starts live", m.Name, m.State, m.Ended)
	case !m.Group.Is4() || !m.Group.IsMulticast():
		return storage.Meeting{}, fmt.Errorf("create meeting %q: group %v is not an IPv4 multicast address", m.Name, m.Group)
	}
	m.Created = m.Created.UTC().Truncate(time.Microsecond)
	m.Role, m.Status = "", ""
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO meetings (name, host, kind, state, mcast_group,
			text_port, audio_port, video_port, screen_port, caption_port, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Name, m.Host, m.Kind, m.State, m.Group.String(),
			m.Ports[0], m.Ports[1], m.Ports[2], m.Ports[3], m.Ports[4], m.Created)
		if err != nil {
			return err
		}
		if m.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO meeting_members (meeting_id, user, role, status, updated) VALUES (?, ?, ?, ?, ?)`,
			m.ID, m.Host, storage.MeetingHost, storage.StatusJoined, m.Created)
		return err
	})
	if err != nil {
		return storage.Meeting{}, s.wrap(err, "create meeting %q of %q on %v", m.Name, m.Host, m.Group)
	}
	return m, nil
}

// GetMeeting returns the meeting with id; storage.ErrNotFound when there is none.
func (s *Store) GetMeeting(ctx context.Context, id int64) (storage.Meeting, error) {
	var m storage.Meeting
	err := scanMeeting(s.db.QueryRowContext(ctx, `SELECT `+meetingColumns+` FROM meetings mt WHERE mt.id = ?`, id), &m)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return m, s.wrap(err, "get meeting %d", id)
}

// EndMeeting marks the live meeting id ended at now and deletes its media
// sources, which frees their (address, SSRC) pairs for other meetings;
// storage.ErrNotFound when no live meeting has id.
func (s *Store) EndMeeting(ctx context.Context, id int64, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx,
			`UPDATE meetings SET state = ?, ended = ? WHERE id = ? AND state = 'live'`, storage.MeetingEnded, now, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM media_sources WHERE meeting_id = ?`, id)
		return err
	})
	return s.wrap(err, "end meeting %d", id)
}

// lockMeeting returns the state of meeting id, its row locked where the
// dialect can; storage.ErrNotFound when there is none. Every change to a
// meeting's members and sources takes this lock first, as EndMeeting's
// UPDATE does, so that they queue on the meeting's row in one order instead
// of deadlocking on the rows below it (two first writes of one member each
// hold a gap lock the other's INSERT waits for).
func (s *Store) lockMeeting(ctx context.Context, tx *sql.Tx, id int64) (string, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM meetings WHERE id = ? `+s.dialect.ForUpdate, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("no meeting: %w", storage.ErrNotFound)
	}
	return state, err
}

// LiveMeetings returns every live meeting, by id.
func (s *Store) LiveMeetings(ctx context.Context) ([]storage.Meeting, error) {
	return list(ctx, s, "live meetings", func(r rowScanner, m *storage.Meeting) error { return scanMeeting(r, m) },
		`SELECT `+meetingColumns+` FROM meetings mt WHERE mt.state = 'live' ORDER BY mt.id`)
}

// UserMeetings returns the live meetings user hosts or is invited to or
// has joined, by id, with the user's Role and Status; none for an unknown
// user.
func (s *Store) UserMeetings(ctx context.Context, user string) ([]storage.Meeting, error) {
	return list(ctx, s, fmt.Sprintf("meetings of %q", user),
		func(r rowScanner, m *storage.Meeting) error { return scanMeeting(r, m, &m.Role, &m.Status) },
		`SELECT `+meetingColumns+`, mm.role, mm.status
		FROM meeting_members mm JOIN meetings mt ON mt.id = mm.meeting_id
		WHERE mm.user = ? AND (mm.status IN (?, ?) OR mm.role = ?) AND mt.state = 'live' ORDER BY mt.id`,
		user, storage.StatusInvited, storage.StatusJoined, storage.MeetingHost)
}
