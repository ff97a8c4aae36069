package actors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
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
	members map[string]bool // the recording's members as stored: who may get it
	watched chan struct{}   // closed when it stops: ends the watch for the byte limit
	unwatch sync.Once

	// mu serializes finish: a stop job and the actor's stop at shutdown
	// may both try, and the second must get what the first stored.
	mu       sync.Mutex
	finished *protocol.RecordingInfo // set once its record says it stopped
}

// stored reports whether the recording's record says it stopped.
func (cur *recording) stored() bool {
	cur.mu.Lock()
	defer cur.mu.Unlock()
	return cur.finished != nil
}

// liveRecording returns the recording in progress, nil when there is none
// (also when a job stored its stop but failed after that).
func (a *meetingActor) liveRecording() *recording {
	if a.st.rec == nil || a.st.rec.stored() {
		return nil
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
		MaxFiles: a.hub.meet.RecordMaxFiles, Logger: a.hub.log.With("part", "recorder", "meeting", a.id)}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		want := storage.Recording{Meeting: a.id, Started: started, Members: members}
		rec, err := a.hub.store.CreateRecording(sctx, want)
		if errors.Is(err, storage.ErrConflict) {
			// This actor records nothing, so the running one the store
			// has was left by a start whose undo failed: finish it.
			if err = a.hub.finishStale(sctx, a.id); err == nil {
				rec, err = a.hub.store.CreateRecording(sctx, want)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("create recording: %w", err)
		}
		cfg.Dir = a.hub.files.RecordingDir(rec.ID)
		rr, err := record.Start(relay, cfg)
		if err != nil {
			// Nothing was recorded: the record says so at once (or, if
			// that fails too, the next start or restart finishes it).
			if serr := a.hub.store.StopRecording(sctx, rec.ID, started, nil, 0); serr != nil {
				err = errors.Join(err, serr)
			}
			return nil, fmt.Errorf("start recorder: %w", err)
		}
		cur := &recording{rec: rec, r: rr, members: map[string]bool{}, watched: make(chan struct{})}
		for _, u := range rec.Members {
			cur.members[u] = true
		}
		return cur, nil
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

// addRecordingMember makes user, who joins now, a member of the recording
// in progress (job side: it runs off the actor, before the join is applied).
func (h *Hub) addRecordingMember(ctx context.Context, cur *recording, user string) error {
	err := h.store.AddRecordingMember(ctx, cur.rec.ID, user)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // it stopped: there is nothing to be a member of
	}
	return err
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
// record.stop tries again (and a stop without a request only logs, so that
// the requests waiting for it do not fail with it).
func (a *meetingActor) stopRecording(ctx actor.Context, r *request, reason string) {
	cur := a.st.rec
	a.job(ctx, r, func(context.Context) (any, error) {
		info, err := cur.finish(a.hub, reason)
		if err != nil && r == nil {
			a.hub.log.Error("recording: stop failed; record stop tries again", "meeting", a.id, "recording", cur.rec.ID, "err", err)
			return nil, nil
		}
		return info, err
	}, func(_ actor.Context, data any) any {
		if data == nil {
			return nil
		}
		a.st.rec = nil
		info := data.(protocol.RecordingInfo)
		if r != nil {
			info.By = r.sess.user
		}
		a.push(protocol.PushRecordStopped, info, a.withStatus(storage.StatusJoined))
		return info
	})
}

// finish stops the recorder (its files synced and hashed) and stores what
// it made, once: a second call returns what the first stored, and a call
// after a failed one tries the store again (Recorder.Stop returns the same
// files every time). The store's deadline starts after the files are done,
// which takes time in proportion to their size. A file the recorder could
// not finish is kept as it is, and logged.
func (cur *recording) finish(h *Hub, reason string) (protocol.RecordingInfo, error) {
	cur.mu.Lock()
	defer cur.mu.Unlock()
	if cur.finished != nil {
		return *cur.finished, nil
	}
	now := h.now().UTC().Truncate(time.Microsecond)
	tracks, err := cur.r.Stop()
	cur.unwatch.Do(func() { close(cur.watched) })
	if err != nil {
		h.log.Error("recording: a file could not be finished; kept as it is", "recording", cur.rec.ID, "err", err)
	}
	rec := cur.rec
	rec.Stopped, rec.Tracks = now, storageTracks(tracks)
	rec.Size = totalSize(rec.Tracks)
	sctx, cancel := h.storeCtx()
	defer cancel()
	if err := h.store.StopRecording(sctx, rec.ID, rec.Stopped, rec.Tracks, rec.Size); err != nil {
		return protocol.RecordingInfo{}, fmt.Errorf("store recording %d: %w", rec.ID, err)
	}
	info := files.RecordingInfo(rec)
	info.Reason = reason
	cur.finished = &info
	return info, nil
}

func storageTracks(ts []record.Track) []storage.RecordingTrack {
	out := make([]storage.RecordingTrack, len(ts))
	for i, t := range ts {
		out[i] = storage.RecordingTrack{Track: t.Track, File: t.File, From: t.From, SSRC: t.SSRC,
			Packets: t.Packets, Size: t.Size, SHA256: t.SHA256, Offset: t.Offset}
	}
	return out
}

func totalSize(ts []storage.RecordingTrack) int64 {
	var n int64
	for _, t := range ts {
		n += t.Size
	}
	return n
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
		if err := h.finishInterrupted(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// finishStale finishes the running recording the store has for meeting,
// whose recorder is gone.
func (h *Hub) finishStale(ctx context.Context, meeting int64) error {
	rs, err := h.store.RunningRecordings(ctx)
	if err != nil {
		return err
	}
	for _, rec := range rs {
		if rec.Meeting == meeting {
			return h.finishInterrupted(ctx, rec)
		}
	}
	return nil
}

// finishInterrupted stores the files a recording without a recorder left,
// made well-formed by record.Describe.
func (h *Hub) finishInterrupted(ctx context.Context, rec storage.Recording) error {
	dir := h.files.RecordingDir(rec.ID)
	// It stopped when its recorder did: its files' last write, read
	// before Describe repairs them.
	stopped := lastWrite(dir, rec.Started)
	tracks, err := record.Describe(dir)
	if err != nil {
		h.log.Error("interrupted recording: read its files", "recording", rec.ID, "err", err)
	}
	st := storageTracks(tracks)
	size := totalSize(st)
	if err := h.store.StopRecording(ctx, rec.ID, stopped.UTC().Truncate(time.Microsecond), st, size); err != nil {
		return fmt.Errorf("finish recording %d: %w", rec.ID, err)
	}
	h.log.Warn("recording interrupted, kept up to there", "recording", rec.ID, "meeting", rec.Meeting,
		"files", len(st), "bytes", size)
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
// because nothing comes after. A stop job still running gets the same
// outcome (finish runs once).
func (a *meetingActor) stopRecordingNow() {
	cur := a.liveRecording()
	if cur == nil {
		return
	}
	info, err := cur.finish(a.hub, protocol.RecordStoppedShutdown)
	if err != nil {
		a.hub.log.Error("stop recording at shutdown", "meeting", a.id, "recording", cur.rec.ID, "err", err)
		return
	}
	a.st.rec = nil
	a.push(protocol.PushRecordStopped, info, a.withStatus(storage.StatusJoined))
}
