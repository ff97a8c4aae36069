package files

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"huddle/protocol"
	"huddle/storage"
)

// Recordings: the meeting actor writes a recording's files under
// Data/recordings/ID (RecordingDir) and its record once they are durable;
// the service lists recordings and serves their files over the data channel:
//
//	GET /recordings/ID/FILE   Authorization: Bearer TOKEN (from recording.get), Range welcome
//
// FILE must be one of the names in the recording's record; the path the
// server opens is built from that record, never from the URL alone.

// RecordingDir is where the files of recording id are written.
func (s *Service) RecordingDir(id int64) string {
	return filepath.Join(s.recDir, strconv.FormatInt(id, 10))
}

// Recordings lists the recordings of the meetings user hosted or took part in.
func (s *Service) Recordings(ctx context.Context, user string, in protocol.RecordingList) (protocol.RecordingListReply, error) {
	rs, err := s.store.UserRecordings(ctx, user, in.Before, in.Limit)
	if err != nil {
		return protocol.RecordingListReply{}, err
	}
	out := protocol.RecordingListReply{Recordings: make([]protocol.RecordingInfo, len(rs))}
	for i, r := range rs {
		out.Recordings[i] = RecordingInfo(r)
	}
	return out, nil
}

// Recording authorizes user to download the files of a stopped recording.
func (s *Service) Recording(ctx context.Context, user string, id int64) (protocol.RecordingGetReply, error) {
	rec, err := s.recordingFor(ctx, user, id)
	if err != nil {
		return protocol.RecordingGetReply{}, err
	}
	s.mu.Lock()
	token, expires, err := s.grantLocked(user, recordingGrant(id), false)
	s.mu.Unlock()
	if err != nil {
		return protocol.RecordingGetReply{}, err
	}
	return protocol.RecordingGetReply{RecordingInfo: RecordingInfo(rec),
		URL: s.base + "/recordings/" + strconv.FormatInt(id, 10) + "/", Token: token, Expires: expires}, nil
}

// recordingFor returns the recording if user may download it: the
// meeting's host, or one of its members (who was in the meeting while it
// recorded, whatever their status now).
func (s *Service) recordingFor(ctx context.Context, user string, id int64) (storage.Recording, error) {
	rec, err := s.store.GetRecording(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, protocol.Errorf(protocol.CodeNotFound, "no recording %d", id)
	}
	if err != nil {
		return rec, err
	}
	m, err := s.store.GetMeeting(ctx, rec.Meeting)
	if err != nil {
		return rec, fmt.Errorf("meeting of recording %d: %w", id, err)
	}
	allowed := m.Host == user || slices.Contains(rec.Members, user)
	// The same answer for a recording that exists and one that does not:
	// ids are sequential, and a stranger learns nothing from trying them.
	if !allowed {
		return rec, protocol.Errorf(protocol.CodeNotFound, "no recording %d", id)
	}
	if rec.Stopped.IsZero() {
		return rec, protocol.Errorf(protocol.CodeConflict, "recording %d is still running; its files are ready once it stops", id)
	}
	return rec, nil
}

func recordingGrant(id int64) string { return "recording/" + strconv.FormatInt(id, 10) }

// validRecording reports whether the path names a recording id and a file
// name that a recorder could have made.
func validRecording(r *http.Request) bool {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f := r.PathValue("file")
	return err == nil && id > 0 && f != "" && len(f) <= 128 && !strings.ContainsAny(f, `/\`) && f != "." && f != ".."
}

func (s *Service) handleRecording(w http.ResponseWriter, r *http.Request) *httpError {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64) // checked by validRecording
	g, e := s.lookup(bearer(r), recordingGrant(id), false)
	if e != nil {
		return e
	}
	rec, err := s.recordingFor(r.Context(), g.user, id)
	if err != nil {
		return s.refused(err, "recording", strconv.FormatInt(id, 10))
	}
	i := slices.IndexFunc(rec.Tracks, func(t storage.RecordingTrack) bool { return t.File == r.PathValue("file") })
	if i < 0 {
		return errf(http.StatusNotFound, protocol.CodeNotFound, "recording %d has no file %q", id, r.PathValue("file"))
	}
	t := rec.Tracks[i]
	return s.serve(w, r, filepath.Join(s.RecordingDir(id), t.File), served{sha256: t.SHA256, typ: recordingType(t.File),
		name: "recording-" + strconv.FormatInt(id, 10) + "-" + t.File, modified: rec.Stopped})
}

// recordingType is the media type of a recording's file.
func recordingType(name string) string {
	switch filepath.Ext(name) {
	case ".ogg":
		return "audio/ogg"
	case ".ivf":
		return "video/x-ivf"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	}
	return "application/octet-stream"
}

// RecordingInfo is a recording's record as the protocol shows it.
func RecordingInfo(r storage.Recording) protocol.RecordingInfo {
	out := protocol.RecordingInfo{Recording: r.ID, Meeting: r.Meeting, State: protocol.RecordingOn,
		Started: r.Started, Stopped: r.Stopped, Size: r.Size, Tracks: make([]protocol.RecordingTrack, len(r.Tracks))}
	if !r.Stopped.IsZero() {
		out.State = protocol.RecordingStopped
	}
	for i, t := range r.Tracks {
		out.Tracks[i] = protocol.RecordingTrack{Track: t.Track, File: t.File, From: t.From, SSRC: t.SSRC,
			Packets: t.Packets, Size: t.Size, SHA256: t.SHA256, OffsetMS: t.Offset.Milliseconds()}
	}
	return out
}
