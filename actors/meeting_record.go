package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/files"
	"huddle/media/record"
	"huddle/protocol"
	"huddle/storage"
)

// Recording: the host starts and stops it (record.start, record.stop); the
// meeting actor owns the recorder, a subscriber of the relay that writes
// every track into files (media/record). Its record is written when it
// starts (so that a crash leaves a trace the next start finishes) and when
// it stops, after its files are durable; only then are the members told.

// recording is the meeting's recording in progress.
type recording struct {
	rec     storage.Recording
	r       *record.Recorder
	watched chan struct{} // closed when it stops: ends the watch for the byte limit
	// stored is set (by the job that stops it) once its record says it
	// stopped: a job that failed after that leaves nothing to stop.
	stored bool
}

// liveRecording returns the recording in progress, nil when there is none.
func (a *meetingActor) liveRecording() *recording {
	if a.st.rec != nil && a.st.rec.stored {
		a.st.rec = nil
	}
	return a.st.rec
}

// recordingFull stops a recording that reached meetings.record_max_bytes.
type recordingFull struct{ id int64 }

func (a *meetingActor) recordStart(ctx actor.Context, r *request) {
	if a.member(r, false) == nil || !a.host(r) {
		return
	}
	if cur := a.liveRecording(); cur != nil {
		a.hub.fail(r, protocol.Errorf(protocol.CodeConflict, "meeting %d is being recorded already (recording %d)", a.id, cur.rec.ID))
		return
	}
	// Microseconds: what the store keeps, so that the reply and the
	// pushes show the time recording.list will.
	started, relay := a.hub.now().UTC().Truncate(time.Microsecond), a.st.relay
	members := slices.Sorted(a.withStatus(storage.StatusJoined))
	cfg := record.Config{IP: a.hub.relay.Addr().Addr(), MaxBytes: a.hub.meet.RecordMaxBytes,
		Logger: a.hub.log.With("part", "recorder", "meeting", a.id)}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		rec, err := a.hub.store.CreateRecording(sctx, storage.Recording{Meeting: a.id, Started: started, Members: members})
		if errors.Is(err, storage.ErrConflict) {
			return nil, protocol.Errorf(protocol.CodeConflict, "meeting %d is being recorded already", a.id)
		}
		if err != nil {
			return nil, fmt.Errorf("create recording: %w", err)
		}
		cfg.Dir = a.hub.files.RecordingDir(rec.ID)
		rr, err := record.Start(relay, cfg)
		if err != nil {
			// Nothing was recorded: the record says so at once.
			if serr := a.hub.store.StopRecording(sctx, rec.ID, started, nil, 0); serr != nil {
				err = errors.Join(err, serr)
			}
			return nil, fmt.Errorf("start recorder: %w", err)
		}
		return &recording{rec: rec, r: rr, watched: make(chan struct{})}, nil
	}, func(ctx actor.Context, data any) any {
		cur := data.(*recording)
		a.st.rec = cur
		self, root, id := ctx.Self(), a.hub.system.Root, cur.rec.ID
		go func() {
			select {
			case <-cur.r.Full():
				root.Send(self, recordingFull{id})
			case <-cur.watched:
			}
		}()
		info := files.RecordingInfo(cur.rec)
		info.By = r.sess.user
		a.push(protocol.PushRecordStarted, info, a.withStatus(storage.StatusJoined))
		return info
	})
}

func (a *meetingActor) recordStop(ctx actor.Context, r *request) {
	if a.member(r, false) == nil || !a.host(r) {
		return
	}
	if a.liveRecording() == nil {
		a.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "meeting %d is not being recorded", a.id))
		return
	}
	a.stopRecording(ctx, r, protocol.RecordStoppedByHost)
}

// recordingFull stops the recording that reached its limit, unless it
// stopped meanwhile.
func (a *meetingActor) recordingFull(ctx actor.Context, m recordingFull) {
	if cur := a.liveRecording(); cur == nil || cur.rec.ID != m.id {
		return
	}
	a.hub.log.Info("recording reached its limit", "meeting", a.id, "recording", m.id, "max_bytes", a.hub.meet.RecordMaxBytes)
	a.stopRecording(ctx, nil, protocol.RecordStoppedLimit)
}

// stopRecording finishes the files and stores the record, then tells the
// joined members why it stopped; r is nil when the server stops it. If
// storing fails the recording stays the meeting's, so that a second
// record.stop tries again.
func (a *meetingActor) stopRecording(ctx actor.Context, r *request, reason string) {
	cur, now := a.st.rec, a.hub.now().UTC()
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return finishRecording(sctx, a.hub.store, a.hub.log, cur, now)
	}, func(_ actor.Context, data any) any {
		a.st.rec = nil
		info := data.(protocol.RecordingInfo)
		if r != nil {
			info.By = r.sess.user
		}
		info.Reason = reason
		a.push(protocol.PushRecordStopped, info, a.withStatus(storage.StatusJoined))
		return info
	})
}

// finishRecording stops the recorder (its files synced) and stores what it
// made. A file the recorder could not finish is kept as it is, and logged.
func finishRecording(ctx context.Context, store storage.Store, log *slog.Logger, cur *recording, now time.Time) (protocol.RecordingInfo, error) {
	tracks, err := cur.r.Stop()
	select {
	case <-cur.watched:
	default:
		close(cur.watched)
	}
	if err != nil {
		if tracks == nil {
			return protocol.RecordingInfo{}, fmt.Errorf("stop recorder: %w", err)
		}
		log.Error("recording: a file could not be finished; kept as it is", "recording", cur.rec.ID, "err", err)
	}
	rec := cur.rec
	rec.Stopped, rec.Tracks, rec.Size = now.UTC().Truncate(time.Microsecond), storageTracks(tracks), 0
	for _, t := range rec.Tracks {
		rec.Size += t.Size
	}
	if serr := store.StopRecording(ctx, rec.ID, rec.Stopped, rec.Tracks, rec.Size); serr != nil {
		return protocol.RecordingInfo{}, fmt.Errorf("store recording %d: %w", rec.ID, serr)
	}
	cur.stored = true
	return files.RecordingInfo(rec), nil
}

func storageTracks(ts []record.Track) []storage.RecordingTrack {
	out := make([]storage.RecordingTrack, len(ts))
	for i, t := range ts {
		out[i] = storage.RecordingTrack{Track: t.Track, File: t.File, From: t.From, SSRC: t.SSRC,
			Packets: t.Packets, Size: t.Size, SHA256: t.SHA256, Offset: t.Offset}
	}
	return out
}

// finishRecordings completes the records of the recordings a crash
// interrupted, from the files they left; it runs at start, before any
// meeting actor records again.
func (h *Hub) finishRecordings(ctx context.Context) error {
	rs, err := h.store.RunningRecordings(ctx)
	if err != nil {
		return fmt.Errorf("interrupted recordings: %w", err)
	}
	for _, rec := range rs {
		dir := h.files.RecordingDir(rec.ID)
		// It stopped when the crash did: its files' last write, read
		// before Describe repairs them.
		stopped := lastWrite(dir, rec.Started)
		tracks, err := record.Describe(dir)
		if err != nil {
			h.log.Error("interrupted recording: read its files", "recording", rec.ID, "err", err)
		}
		st := storageTracks(tracks)
		var size int64
		for _, t := range st {
			size += t.Size
		}
		if err := h.store.StopRecording(ctx, rec.ID, stopped.UTC().Truncate(time.Microsecond), st, size); err != nil {
			return fmt.Errorf("finish recording %d: %w", rec.ID, err)
		}
		h.log.Warn("recording interrupted by a restart, kept up to there", "recording", rec.ID, "meeting", rec.Meeting,
			"files", len(st), "bytes", size)
	}
	return nil
}

// lastWrite is the latest modification time of the files in dir, or since
// when none is later.
func lastWrite(dir string, since time.Time) time.Time {
	entries, _ := os.ReadDir(dir) // none: nothing was written
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(since) {
			since = fi.ModTime()
		}
	}
	return since
}

// stopRecordingNow finishes a recording while the actor stops (server
// shutdown): the one place it waits for files and the store in Receive,
// because nothing comes after.
func (a *meetingActor) stopRecordingNow() {
	cur := a.liveRecording()
	if cur == nil {
		return
	}
	sctx, cancel := a.hub.storeCtx()
	defer cancel()
	info, err := finishRecording(sctx, a.hub.store, a.hub.log, cur, a.hub.now().UTC())
	if err != nil {
		a.hub.log.Error("stop recording at shutdown", "meeting", a.id, "recording", cur.rec.ID, "err", err)
		return
	}
	a.st.rec = nil
	info.Reason = protocol.RecordStoppedShutdown
	a.push(protocol.PushRecordStopped, info, a.withStatus(storage.StatusJoined))
}
