package storage

import (
	"context"
	"time"
)

// Recording is one recording of a meeting. The server writes each track
// into its own file while it records; Tracks and Size say what it wrote and
// are set when the recording stops. Members, with the meeting's host, are
// who may get it.
type Recording struct {
	ID      int64 // assigned by CreateRecording
	Meeting int64
	Started time.Time
	Stopped time.Time        // zero while it records
	Tracks  []RecordingTrack // nil while it records
	Size    int64            // bytes of all its files; 0 while it records
	Members []string         // who was in the meeting while it recorded: the joined members at its start and whoever joined before it stopped, by name
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
	// r.Meeting, started at r.Started, with the members r.Members (its other
	// fields are ignored), and returns it with its ID and its members sorted,
	// each once. The meeting's host is not implied: the caller lists them
	// with the others (UserRecordings shows a host their meeting's
	// recordings anyway). ErrNotFound when there is no live meeting with
	// that id or a member is not a user, and then nothing is stored;
	// ErrConflict when the meeting has a recording running already.
	CreateRecording(ctx context.Context, r Recording) (Recording, error)
	// AddRecordingMember adds user to the members of the running recording
	// id; nil when they are one already. ErrNotFound when no recording with
	// id is running (there is none, or it has stopped) or there is no such
	// user: nobody is added to a recording once its stop is stored.
	AddRecordingMember(ctx context.Context, id int64, user string) error
	// StopRecording sets the Stopped, Tracks and Size of the running
	// recording id. ErrNotFound when no recording with id is running
	// (there is none, or it has stopped already).
	StopRecording(ctx context.Context, id int64, stopped time.Time, tracks []RecordingTrack, size int64) error
	// GetRecording returns the recording with id, running or stopped, with
	// its members sorted by name; ErrNotFound when there is none.
	GetRecording(ctx context.Context, id int64) (Recording, error)
	// RunningRecordings returns the recordings that have not stopped, by id,
	// of live and ended meetings alike: a server starting again finishes
	// them. Their Members are nil: GetRecording reads them.
	RunningRecordings(ctx context.Context) ([]Recording, error)
	// UserRecordings returns the recordings, running ones included, that
	// user may get: those they are a member of and those of the meetings
	// they host (Meeting.Host). Who is in the meeting now does not count: a
	// member kicked later keeps a recording, one invited later does not get
	// it. Newest first (by id, descending): at most limit of them, those
	// with an id below before when before > 0. None for an unknown user.
	// Their Members are nil: GetRecording reads them.
	UserRecordings(ctx context.Context, user string, before int64, limit int) ([]Recording, error)
}
