package protocol

import "time"

// Recording limits fixed by the protocol. The largest recording is the
// server's configuration (meetings.record_max_bytes).
const (
	MaxRecordingList     = 200
	DefaultRecordingList = 50
)

// Recording states.
const (
	RecordingOn      = "recording"
	RecordingStopped = "stopped"
)

// RecordingTrack is one file of a recording: the media one source sent on a
// track (Ogg/Opus for audio, IVF/VP8 for video and screen), or the WebVTT
// file of a text track (text chat, captions), which holds every sender's.
type RecordingTrack struct {
	Track    string `json:"track"`
	File     string `json:"file"`           // its name inside the recording; GET URL + File
	From     string `json:"from,omitempty"` // the member who sent it; empty for the text files
	SSRC     uint32 `json:"ssrc,omitempty"`
	Packets  uint64 `json:"packets"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	OffsetMS int64  `json:"offset_ms"` // its first packet, in ms from the recording's start
}

// RecordingInfo describes a recording: the reply to record.start and
// record.stop, the data of the record.started and record.stopped pushes, and
// an item of recording.list. Tracks and Size are known once it stopped.
type RecordingInfo struct {
	Recording int64            `json:"recording"`
	Meeting   int64            `json:"meeting"`
	State     string           `json:"state"` // RecordingOn or RecordingStopped
	Started   time.Time        `json:"started"`
	Stopped   time.Time        `json:"stopped,omitzero"`
	Tracks    []RecordingTrack `json:"tracks"`
	Size      int64            `json:"size"`
	By        string           `json:"by,omitempty"`     // in the pushes: who started or stopped it; empty when the server did
	Reason    string           `json:"reason,omitempty"` // in record.stop's reply and the record.stopped push: RecordStopped…
}

// Why a recording stopped, in record.stopped.
const (
	RecordStoppedByHost   = "stopped"  // record.stop
	RecordStoppedLimit    = "limit"    // its files reached meetings.record_max_bytes
	RecordStoppedEnded    = "ended"    // the meeting ended
	RecordStoppedShutdown = "shutdown" // the server stopped
)

// RecordingID names a recording: recording.get.
type RecordingID struct {
	Recording int64 `json:"recording"`
}

// Validate implements the payload check run by DecodeData.
func (r *RecordingID) Validate() error {
	if r.Recording <= 0 {
		return Errorf(CodeBadRequest, "recording must be a positive recording id")
	}
	return nil
}

// RecordingList asks for the recordings of the meetings the caller hosted or
// took part in, newest first: the Limit recordings before Before (from the
// newest when 0).
type RecordingList struct {
	Before int64 `json:"before,omitempty"`
	Limit  int   `json:"limit,omitempty"` // default DefaultRecordingList, at most MaxRecordingList
}

// Validate implements the payload check run by DecodeData.
func (r *RecordingList) Validate() error {
	if r.Before < 0 {
		return Errorf(CodeBadRequest, "before must be a recording id")
	}
	if r.Limit < 0 || r.Limit > MaxRecordingList {
		return Errorf(CodeBadRequest, "limit must be 1-%d", MaxRecordingList)
	}
	if r.Limit == 0 {
		r.Limit = DefaultRecordingList
	}
	return nil
}

// RecordingListReply lists recordings, newest first.
type RecordingListReply struct {
	Recordings []RecordingInfo `json:"recordings"`
}

// RecordingGetReply authorizes the download of a stopped recording's files
// over the HTTP data channel: GET URL + track file, with the header
// "Authorization: Bearer " + Token, until Expires. Range requests work as for
// files; each file's ETag is its sha256.
type RecordingGetReply struct {
	RecordingInfo
	URL     string    `json:"url"` // ends with "/"
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}
