package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
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
// r.Meeting started at r.Started, with its members. storage.ErrNotFound
// when the meeting does not exist or has ended, or a member is not a user
// (the foreign key says so, and the transaction takes the recording back
// with it); storage.ErrConflict when it has a running recording (the
// schema's unique key on the meeting of running recordings says so). Behind
// the meeting's lock, a concurrent EndMeeting either comes first, and this
// finds the meeting ended, or comes after, and the recording runs on in
// RunningRecordings until the server stops it.
func (s *Store) CreateRecording(ctx context.Context, r storage.Recording) (storage.Recording, error) {
	if r.Started.IsZero() {
		return storage.Recording{}, fmt.Errorf("create recording of meeting %d: no start time", r.Meeting)
	}
	// Sorted, the inserts also look the users up in one order, whatever
	// the caller's.
	members := slices.Compact(slices.Sorted(slices.Values(r.Members)))
	r = storage.Recording{Meeting: r.Meeting, Started: r.Started.UTC().Truncate(time.Microsecond), Members: members}
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
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for chunk := range slices.Chunk(members, maxRowsPerStatement) {
			args := make([]any, 0, 2*len(chunk))
			for _, m := range chunk {
				args = append(args, r.ID, m)
			}
			if _, err := tx.ExecContext(ctx,
				withRows(`INSERT INTO recording_members (recording_id, user) VALUES `, `(?, ?)`, ``, len(chunk)), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storage.Recording{}, s.wrap(err, "create recording of meeting %d", r.Meeting)
	}
	return r, nil
}

// AddRecordingMember adds user to the members of the running recording id;
// nil when they are one already, storage.ErrNotFound when no recording with
// id is running or there is no such user (the foreign key says so). It
// reads the recording's row for update first, as StopRecording's UPDATE
// writes it: on MySQL the two queue on that row, and a stop that commits
// first leaves nothing running to add to; SQLite's write transactions never
// overlap.
func (s *Store) AddRecordingMember(ctx context.Context, id int64, user string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var running int64
		err := tx.QueryRowContext(ctx,
			`SELECT id FROM recordings WHERE id = ? AND stopped IS NULL `+s.dialect.ForUpdate, id).Scan(&running)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no running recording: %w", storage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO recording_members (recording_id, user) VALUES (?, ?)`, id, user)
		if s.classify(err) == Duplicate {
			return nil // a member already; the failed INSERT changed nothing
		}
		return err
	})
	return s.wrap(err, "add %q to recording %d", user, id)
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

// GetRecording returns the recording with id and its members by name;
// storage.ErrNotFound when there is none. The two reads need no
// transaction: members are only ever added, so the second read has every
// member the recording had when the first read its row (and perhaps some
// who joined since).
func (s *Store) GetRecording(ctx context.Context, id int64) (storage.Recording, error) {
	var r storage.Recording
	err := scanRecording(s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings r WHERE r.id = ?`, id), &r)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Recording{}, s.wrap(err, "get recording %d", id)
	}
	r.Members, err = list(ctx, s, fmt.Sprintf("members of recording %d", id),
		func(row rowScanner, user *string) error { return row.Scan(user) },
		`SELECT user FROM recording_members WHERE recording_id = ? ORDER BY user`, id)
	if err != nil {
		return storage.Recording{}, err
	}
	return r, nil
}

// RunningRecordings returns the recordings that have not stopped, by id.
func (s *Store) RunningRecordings(ctx context.Context) ([]storage.Recording, error) {
	return list(ctx, s, "running recordings", scanRecording,
		`SELECT `+recordingColumns+` FROM recordings r WHERE r.stopped IS NULL ORDER BY r.id`)
}

// userRecordings lists a user's recordings in two halves, each the newest
// limit ids below before of one index range: those the user is a member of
// (recording_members by user, recording_id) and those of the meetings the
// user hosts (meetings by host, then recordings by meeting_id, id; across
// several meetings the database sorts what the ranges hold). A host may be
// a member too, so UNION drops the repeats, and the merge sorts at most
// 2×limit ids before it reads their rows. Its arguments are the user,
// before and limit, twice, then limit.
const userRecordings = `SELECT ` + recordingColumns + ` FROM (
	SELECT * FROM (SELECT rm.recording_id AS id FROM recording_members rm
		WHERE rm.user = ? AND rm.recording_id < ? ORDER BY rm.recording_id DESC LIMIT ?) member
	UNION
	SELECT * FROM (SELECT hr.id FROM meetings mt JOIN recordings hr ON hr.meeting_id = mt.id
		WHERE mt.host = ? AND hr.id < ? ORDER BY hr.id DESC LIMIT ?) hosted
) mine JOIN recordings r ON r.id = mine.id ORDER BY r.id DESC LIMIT ?`

// UserRecordings returns the limit newest recordings below id before (from
// the newest when before is not positive) that user is a member of or whose
// meeting user hosts.
func (s *Store) UserRecordings(ctx context.Context, user string, before int64, limit int) ([]storage.Recording, error) {
	if limit < 1 {
		return nil, fmt.Errorf("recordings of %q: limit %d, want at least 1", user, limit)
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	return list(ctx, s, fmt.Sprintf("recordings of %q before %d", user, before), scanRecording,
		userRecordings, user, before, limit, user, before, limit, limit)
}
