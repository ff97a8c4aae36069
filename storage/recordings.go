package storage

import (
	"context"
	"time"
)

// Recording is one recording of a meeting. The server writes each track
// into its own file while it records; Tracks and Size say what it wrote and
// are set when the recording stops.
type Recording struct {
	ID      int64 // assigned by CreateRecording
	Meeting int64
	Started time.Time
	Stopped time.Time        // zero while it records
	Tracks  []RecordingTrack // nil while it records
	Size    int64            // bytes of all its files; 0 while it records
}

// RecordingTrack is one file of a recording. The backends store a
// recording's tracks as one JSON array, with these names.
type RecordingTrack struct {
	Track   string        `json:"track"`          // protocol.Tracks: text, audio, video, screen, caption
	File    string        `json:"file"`           // its name in the recording's directory
	From    string        `json:"from,omitempty"` // the member who sent it; empty for the server's own text
	SSRC    uint32        `json:"ssrc,omitempty"`
	Packets uint64        `json:"packets"`
	Size    int64         `json:"size"`
	SHA256  string        `json:"sha256"` // lower-case hex
	Offset  time.Duration `json:"offset"` // of its first packet, from Started
}

// Recordings stores the recordings of meetings. A meeting has at most one
// recording running at a time, whatever runs concurrently.
type Recordings interface {
	// CreateRecording inserts a running recording of the live meeting
	// r.Meeting, started at r.Started (its other fields are ignored), and
	// returns it with its ID. ErrNotFound when there is no live meeting with
	// that id; ErrConflict when the meeting has a recording running already.
	CreateRecording(ctx context.Context, r Recording) (Recording, error)
	// StopRecording sets the Stopped, Tracks and Size of the running
	// recording id. ErrNotFound when no recording with id is running
	// (there is none, or it has stopped already).
	StopRecording(ctx context.Context, id int64, stopped time.Time, tracks []RecordingTrack, size int64) error
	// GetRecording returns the recording with id, running or stopped;
	// ErrNotFound when there is none.
	GetRecording(ctx context.Context, id int64) (Recording, error)
	// RunningRecordings returns the recordings that have not stopped, by id,
	// of live and ended meetings alike: a server starting again finishes
	// them.
	RunningRecordings(ctx context.Context) ([]Recording, error)
	// UserRecordings returns the recordings, running ones included, of the
	// meetings in which user has the role MeetingHost or the status
	// StatusJoined or StatusLeft (hosts and those who took part; not those
	// only invited, who declined, or who were kicked), newest first (by id,
	// descending): at most limit of them, those with an id below before when
	// before > 0. None for an unknown user.
	UserRecordings(ctx context.Context, user string, before int64, limit int) ([]Recording, error)
}
