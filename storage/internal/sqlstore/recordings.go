package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"huddle/storage"
)

// The queries spell the running condition as `stopped IS NULL`, to the
// letter of SQLite's partial indexes. tracks and size are NULL exactly while
// stopped is (the schema's CHECK); tracks is the JSON of the track list.

// recordingColumns are a recordings row, r, in the order scanRecording reads.
const recordingColumns = `r.id, r.meeting_id, r.started, r.stopped, r.tracks, COALESCE(r.size, 0)`

// scanRecording reads a row of recordingColumns.
func scanRecording(row rowScanner, r *storage.Recording) error {
	var stopped sql.NullTime
	var tracks []byte // nil for NULL
	if err := row.Scan(&r.ID, &r.Meeting, &r.Started, &stopped, &tracks, &r.Size); err != nil {
		return err
	}
	r.Stopped = stopped.Time // zero while it records
	if tracks != nil {
		if err := json.Unmarshal(tracks, &r.Tracks); err != nil {
			return fmt.Errorf("recording %d: tracks: %w", r.ID, err)
		}
	}
	return nil
}

// CreateRecording inserts a running recording of the live meeting
// r.Meeting started at r.Started. storage.ErrNotFound when the meeting does
// not exist or has ended; storage.ErrConflict when it has a running
// recording (the schema's unique key on the meeting of running recordings
// says so). Behind the meeting's lock, a concurrent EndMeeting either comes
// first, and this finds the meeting ended, or comes after, and the
// recording runs on in RunningRecordings until the server stops it.
func (s *Store) CreateRecording(ctx context.Context, r storage.Recording) (storage.Recording, error) {
	if r.Started.IsZero() {
		return storage.Recording{}, fmt.Errorf("create recording of meeting %d: no start time", r.Meeting)
	}
	r = storage.Recording{Meeting: r.Meeting, Started: r.Started.UTC().Truncate(time.Microsecond)}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := s.lockMeeting(ctx, tx, r.Meeting)
		if err != nil {
			return err
		}
		if state != storage.MeetingLive {
			return fmt.Errorf("meeting is %s: %w", state, storage.ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO recordings (meeting_id, started) VALUES (?, ?)`, r.Meeting, r.Started)
		if err != nil {
			return err
		}
		r.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return storage.Recording{}, s.wrap(err, "create recording of meeting %d", r.Meeting)
	}
	return r, nil
}

// StopRecording sets the stop time, tracks and size of the running
// recording id; storage.ErrNotFound when none with id is running. No tracks
// are stored as an empty list, not as JSON null: a stopped recording has a
// list, running ones have none. The schema refuses a negative size.
func (s *Store) StopRecording(ctx context.Context, id int64, stopped time.Time, tracks []storage.RecordingTrack, size int64) error {
	if stopped.IsZero() {
		return fmt.Errorf("stop recording %d: no stop time", id)
	}
	if tracks == nil {
		tracks = []storage.RecordingTrack{}
	}
	text, err := json.Marshal(tracks)
	if err != nil {
		return fmt.Errorf("stop recording %d: tracks: %w", id, err)
	}
	// text as a string: SQLite would take []byte for a BLOB, and a BLOB for JSONB.
	n, err := affected(s.db.ExecContext(ctx,
		`UPDATE recordings SET stopped = ?, tracks = ?, size = ? WHERE id = ? AND stopped IS NULL`,
		stopped, string(text), size, id))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "stop recording %d", id)
}

// GetRecording returns the recording with id; storage.ErrNotFound when there is none.
func (s *Store) GetRecording(ctx context.Context, id int64) (storage.Recording, error) {
	var r storage.Recording
	err := scanRecording(s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings r WHERE r.id = ?`, id), &r)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return r, s.wrap(err, "get recording %d", id)
}

// RunningRecordings returns the recordings that have not stopped, by id.
func (s *Store) RunningRecordings(ctx context.Context) ([]storage.Recording, error) {
	return list(ctx, s, "running recordings", scanRecording,
		`SELECT `+recordingColumns+` FROM recordings r WHERE r.stopped IS NULL ORDER BY r.id`)
}

// UserRecordings returns the limit newest recordings below id before (from
// the newest when before is not positive) of the meetings user hosts, joined
// or left. It reads user's member rows, then each meeting's recordings below
// before by index, and sorts what they hold.
func (s *Store) UserRecordings(ctx context.Context, user string, before int64, limit int) ([]storage.Recording, error) {
	if limit < 1 {
		return nil, fmt.Errorf("recordings of %q: limit %d, want at least 1", user, limit)
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	return list(ctx, s, fmt.Sprintf("recordings of %q before %d", user, before), scanRecording,
		`SELECT `+recordingColumns+`
		FROM meeting_members mm JOIN recordings r ON r.meeting_id = mm.meeting_id
		WHERE mm.user = ? AND (mm.role = ? OR mm.status IN (?, ?)) AND r.id < ?
		ORDER BY r.id DESC LIMIT ?`,
		user, storage.MeetingHost, storage.StatusJoined, storage.StatusLeft, before, limit)
}
