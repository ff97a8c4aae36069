package storagetest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"huddle/storage"
)

// recordedTracks returns the files of a recording in which from sent audio
// and video: extremes of every number, and names JSON and utf8mb4 must keep.
func recordedTracks(from string) []storage.RecordingTrack {
	return []storage.RecordingTrack{
		{Track: "text", File: "text.jsonl", Packets: 3, Size: 120, SHA256: strings.Repeat("ab", 32)},
		{Track: "audio", File: "audio-" + from + ".rtp", From: from, SSRC: math.MaxUint32,
			Packets: math.MaxUint64, Size: math.MaxInt64, SHA256: strings.Repeat("01", 32), Offset: 1500*time.Millisecond + 7},
		{Track: "video", File: `vidéo "1" ✓\.rtp`, From: from, SSRC: 0, Packets: 1, Size: 1, SHA256: strings.Repeat("ef", 32),
			Offset: 90 * time.Minute},
	}
}

// newRecording starts a recording of meeting at started and returns it.
func (h *harness) newRecording(t *testing.T, meeting int64, started time.Time) storage.Recording {
	t.Helper()
	r, err := h.CreateRecording(t.Context(), storage.Recording{Meeting: meeting, Started: started})
	if err != nil {
		t.Fatalf("CreateRecording(meeting %d): %v", meeting, err)
	}
	return r
}

// stopRecording stops recording id at stopped with tracks and size.
func (h *harness) stopRecording(t *testing.T, id int64, stopped time.Time, tracks []storage.RecordingTrack, size int64) {
	t.Helper()
	wantErr(t, fmt.Sprintf("StopRecording(%d)", id), h.StopRecording(t.Context(), id, stopped, tracks, size), nil)
}

// recordingIDs fails unless rs, a listing named what, holds the recordings
// with ids want, in that order.
func recordingIDs(t *testing.T, what string, rs []storage.Recording, err error, want ...int64) []storage.Recording {
	t.Helper()
	ids := make([]string, len(want))
	for i, id := range want {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return listed(t, what, rs, err, func(r storage.Recording) string { return strconv.FormatInt(r.ID, 10) }, ids)
}

// runningRecordings fails unless the running recordings are those with ids
// want, in that order; it returns them.
func (h *harness) runningRecordings(t *testing.T, want ...int64) []storage.Recording {
	t.Helper()
	rs, err := h.RunningRecordings(t.Context())
	return recordingIDs(t, "RunningRecordings", rs, err, want...)
}

// userRecordings fails unless user's page of recordings below before is
// the recordings with ids want, in that order.
func (h *harness) userRecordings(t *testing.T, user string, before int64, limit int, want ...int64) {
	t.Helper()
	rs, err := h.UserRecordings(t.Context(), user, before, limit)
	recordingIDs(t, fmt.Sprintf("UserRecordings(%s, before %d, limit %d)", user, before, limit), rs, err, want...)
}

// sameRecording fails unless got is want, times to the millisecond in UTC;
// a running recording has no tracks, not even an empty list.
func sameRecording(t *testing.T, what string, got, want storage.Recording) {
	t.Helper()
	sameTime(t, what+".Started", got.Started, want.Started)
	if want.Stopped.IsZero() {
		if !got.Stopped.IsZero() || got.Tracks != nil {
			t.Errorf("%s: Stopped %v, Tracks %v; want zero and nil while it records", what, got.Stopped, got.Tracks)
		}
	} else {
		sameTime(t, what+".Stopped", got.Stopped, want.Stopped)
	}
	if !slices.Equal(got.Tracks, want.Tracks) {
		t.Errorf("%s.Tracks = %+v, want %+v", what, got.Tracks, want.Tracks)
	}
	if got.ID != want.ID || got.Meeting != want.Meeting || got.Size != want.Size {
		t.Errorf("%s: id %d, meeting %d, size %d; want %d, %d, %d", what, got.ID, got.Meeting, got.Size, want.ID, want.Meeting, want.Size)
	}
}

// A recording reads back as created, runs until it stops, and then has its
// stop time, tracks and size.
func testRecordingRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	other := h.newMeeting(t, meeting("other", "alice", "239.255.0.2", 20010))

	// Only the meeting and the start count.
	r, err := h.CreateRecording(ctx, storage.Recording{ID: 77, Meeting: m.ID, Started: at(time.Minute),
		Stopped: at(time.Hour), Tracks: recordedTracks("alice"), Size: 5})
	wantErr(t, "CreateRecording", err, nil)
	if r.ID == 0 || r.ID == 77 {
		t.Fatalf("CreateRecording returned id %d, want one the store assigned", r.ID)
	}
	want := storage.Recording{ID: r.ID, Meeting: m.ID, Started: at(time.Minute)}
	sameRecording(t, "CreateRecording", r, want)
	got, err := h.GetRecording(ctx, r.ID)
	wantErr(t, "GetRecording(running)", err, nil)
	sameRecording(t, "GetRecording(running)", got, want)
	r2 := h.newRecording(t, other.ID, at(2*time.Minute))
	rs := h.runningRecordings(t, r.ID, r2.ID)
	if len(rs) == 2 {
		sameRecording(t, "RunningRecordings[0]", rs[0], want)
	}

	h.stopRecording(t, r.ID, at(time.Hour), recordedTracks("alice"), 1<<40)
	want.Stopped, want.Tracks, want.Size = at(time.Hour), recordedTracks("alice"), 1<<40
	got, err = h.GetRecording(ctx, r.ID)
	wantErr(t, "GetRecording(stopped)", err, nil)
	sameRecording(t, "GetRecording(stopped)", got, want)
	h.runningRecordings(t, r2.ID)

	// A recording that made no files has an empty list.
	h.stopRecording(t, r2.ID, at(3*time.Minute), nil, 0)
	got, err = h.GetRecording(ctx, r2.ID)
	wantErr(t, "GetRecording(stopped, no tracks)", err, nil)
	sameRecording(t, "GetRecording(stopped, no tracks)", got,
		storage.Recording{ID: r2.ID, Meeting: other.ID, Started: at(2 * time.Minute), Stopped: at(3 * time.Minute)})
	h.runningRecordings(t)
}

// A meeting has one running recording at most; once it stops, the meeting
// can record again. Other meetings record independently.
func testRecordingOneRunning(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	other := h.newMeeting(t, meeting("other", "alice", "239.255.0.2", 20010))
	first := h.newRecording(t, m.ID, epoch)
	_, err := h.CreateRecording(ctx, storage.Recording{Meeting: m.ID, Started: at(time.Second)})
	wantErr(t, "CreateRecording(second running)", err, storage.ErrConflict)
	beside := h.newRecording(t, other.ID, at(time.Second))
	h.runningRecordings(t, first.ID, beside.ID)

	h.stopRecording(t, first.ID, at(time.Minute), recordedTracks("alice"), 10)
	again := h.newRecording(t, m.ID, at(2*time.Minute))
	if again.ID <= beside.ID {
		t.Errorf("new recording id %d, want above %d", again.ID, beside.ID)
	}
	h.runningRecordings(t, beside.ID, again.ID)
	_, err = h.CreateRecording(ctx, storage.Recording{Meeting: m.ID, Started: at(3 * time.Minute)})
	wantErr(t, "CreateRecording(second running, after a stop)", err, storage.ErrConflict)
}

// A recording starts only in a live meeting, and stops once. One running
// when its meeting ends runs on until it is stopped.
func testRecordingNotFound(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	create := func(what string, meeting int64) {
		t.Helper()
		_, err := h.CreateRecording(ctx, storage.Recording{Meeting: meeting, Started: epoch})
		wantErr(t, what, err, storage.ErrNotFound)
	}
	stop := func(what string, id int64) {
		t.Helper()
		wantErr(t, what, h.StopRecording(ctx, id, at(time.Hour), recordedTracks("bob"), 99), storage.ErrNotFound)
	}
	create("CreateRecording(unknown meeting)", 999999)
	stop("StopRecording(unknown)", 999999)
	_, err := h.GetRecording(ctx, 999999)
	wantErr(t, "GetRecording(unknown)", err, storage.ErrNotFound)

	r := h.newRecording(t, m.ID, epoch)
	wantErr(t, "EndMeeting", h.EndMeeting(ctx, m.ID, at(time.Minute)), nil)
	create("CreateRecording(ended meeting)", m.ID)
	h.runningRecordings(t, r.ID)
	h.stopRecording(t, r.ID, at(2*time.Minute), recordedTracks("alice"), 7)
	stop("StopRecording(stopped)", r.ID)
	got, err := h.GetRecording(ctx, r.ID)
	wantErr(t, "GetRecording", err, nil)
	sameRecording(t, "GetRecording after a second stop", got, storage.Recording{ID: r.ID, Meeting: m.ID,
		Started: epoch, Stopped: at(2 * time.Minute), Tracks: recordedTracks("alice"), Size: 7})
	h.runningRecordings(t)
}

// What only a caller's bug produces is refused and changes nothing.
func testRecordingBadValues(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	_, err := h.CreateRecording(ctx, storage.Recording{Meeting: m.ID})
	refused(t, "CreateRecording(no start)", err)
	h.runningRecordings(t)
	r := h.newRecording(t, m.ID, epoch)
	refused(t, "StopRecording(size -1)", h.StopRecording(ctx, r.ID, at(time.Hour), nil, -1))
	refused(t, "StopRecording(no stop time)", h.StopRecording(ctx, r.ID, time.Time{}, nil, 0))
	got, err := h.GetRecording(ctx, r.ID)
	wantErr(t, "GetRecording", err, nil)
	sameRecording(t, "GetRecording after refused stops", got, r)
}

// A user sees the recordings of the meetings they host or took part in,
// running and stopped, of live and ended meetings; not those of meetings
// they were only invited to, declined, or were kicked from.
func testUserRecordings(t *testing.T, h *harness) {
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "ivan"} {
		h.newUser(t, u)
	}
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	members := []struct{ user, role, status string }{
		{"bob", storage.MeetingAttendee, storage.StatusJoined},
		{"carol", storage.MeetingAttendee, storage.StatusLeft},
		{"dave", storage.MeetingAttendee, storage.StatusInvited},
		{"erin", storage.MeetingAttendee, storage.StatusDeclined},
		{"frank", storage.MeetingAttendee, storage.StatusKicked},
		{"ivan", storage.MeetingHost, storage.StatusInvited}, // a co-host sees them before joining
	}
	for i, mm := range members {
		if mm.status == storage.StatusLeft || mm.status == storage.StatusKicked {
			h.setMember(t, m.ID, mm.user, mm.role, storage.StatusJoined, at(time.Duration(i)*time.Second))
		}
		h.setMember(t, m.ID, mm.user, mm.role, mm.status, at(time.Minute+time.Duration(i)*time.Second))
	}
	theirs := h.newMeeting(t, meeting("theirs", "grace", "239.255.0.2", 20010))

	r1 := h.newRecording(t, m.ID, at(time.Minute))
	h.stopRecording(t, r1.ID, at(2*time.Minute), recordedTracks("bob"), 100)
	r3 := h.newRecording(t, theirs.ID, at(2*time.Minute))
	r2 := h.newRecording(t, m.ID, at(3*time.Minute)) // runs past the meeting's end
	wantErr(t, "EndMeeting", h.EndMeeting(t.Context(), m.ID, at(time.Hour)), nil)

	for _, user := range []string{"alice", "bob", "carol", "ivan"} {
		h.userRecordings(t, user, 0, 10, r2.ID, r1.ID)
	}
	for _, user := range []string{"dave", "erin", "frank", "nobody"} {
		h.userRecordings(t, user, 0, 10)
	}
	h.userRecordings(t, "grace", 0, 10, r3.ID)

	rs, err := h.UserRecordings(t.Context(), "bob", 0, 10)
	if err == nil && len(rs) == 2 {
		sameRecording(t, "UserRecordings(bob)[0]", rs[0], r2)
		sameRecording(t, "UserRecordings(bob)[1]", rs[1], storage.Recording{ID: r1.ID, Meeting: m.ID,
			Started: at(time.Minute), Stopped: at(2 * time.Minute), Tracks: recordedTracks("bob"), Size: 100})
	}
}

// UserRecordings pages newest first by id, across a user's meetings, below
// any id, whether it is one of the user's recordings or not.
func testUserRecordingsPaging(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	var ms []storage.Meeting
	for i, host := range []string{"alice", "alice", "bob"} {
		ms = append(ms, h.newMeeting(t, meeting(fmt.Sprint("m", i), host, fmt.Sprintf("239.255.0.%d", i+1), 20000)))
	}
	// Three rounds of one recording in each meeting, interleaved: alice's
	// ids have gaps where bob's meeting records.
	var mine, bobs []int64 // newest first
	for round := range 3 {
		for i, m := range ms {
			r := h.newRecording(t, m.ID, at(time.Duration(round)*time.Hour))
			h.stopRecording(t, r.ID, at(time.Duration(round)*time.Hour+time.Minute), nil, int64(i))
			if m.Host == "alice" {
				mine = append([]int64{r.ID}, mine...)
			} else {
				bobs = append([]int64{r.ID}, bobs...)
			}
		}
	}
	h.userRecordings(t, "alice", 0, 10, mine...)
	h.userRecordings(t, "alice", mine[0]+1000, 6, mine...)
	var paged []int64
	for before, n := int64(0), 0; n < 10; n++ {
		rs, err := h.UserRecordings(t.Context(), "alice", before, 4)
		if err != nil {
			t.Fatalf("UserRecordings(alice, before %d, limit 4): %v", before, err)
		}
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			paged = append(paged, r.ID)
		}
		before = rs[len(rs)-1].ID
	}
	if !slices.Equal(paged, mine) {
		t.Errorf("UserRecordings(alice) in pages of 4 = %v, want %v", paged, mine)
	}
	h.userRecordings(t, "alice", mine[1], 2, mine[2], mine[3])
	h.userRecordings(t, "alice", bobs[1], 10, mine[2:]...) // bob's of the second round
	h.userRecordings(t, "alice", mine[len(mine)-1], 10)
	h.userRecordings(t, "bob", 0, 1, bobs[0])
	if _, err := h.UserRecordings(t.Context(), "alice", 0, 0); err == nil {
		t.Errorf("UserRecordings(limit 0) succeeded")
	}
}

// Of concurrent starts in one meeting exactly one wins, and of concurrent
// stops of that recording exactly one.
func testConcurrentCreateRecording(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	const racers = 8
	ok, failed := race(t, racers, storage.ErrConflict, func(i int) error {
		_, err := h.CreateRecording(ctx, storage.Recording{Meeting: m.ID, Started: at(time.Duration(i) * time.Second)})
		return err
	})
	if ok != 1 || failed != racers-1 {
		t.Errorf("%d concurrent starts in one meeting: %d succeeded, %d conflicted; want 1 and %d", racers, ok, failed, racers-1)
	}
	rs, err := h.RunningRecordings(ctx)
	if err != nil || len(rs) != 1 || rs[0].Meeting != m.ID {
		t.Fatalf("RunningRecordings after the race = %+v, %v; want the winner's", rs, err)
	}
	ok, failed = race(t, racers, storage.ErrNotFound, func(i int) error {
		return h.StopRecording(ctx, rs[0].ID, at(time.Hour), recordedTracks(fmt.Sprint("racer", i)), int64(i))
	})
	if ok != 1 || failed != racers-1 {
		t.Errorf("%d concurrent stops of one recording: %d succeeded, %d not found; want 1 and %d", racers, ok, failed, racers-1)
	}
	h.runningRecordings(t)
}

// A running recording is there after a restart, for the server to finish,
// and still holds its meeting.
func testRecordingsReopen(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	r := h.newRecording(t, m.ID, epoch)
	closeStore(t, h.Store)

	s := h.reopen(t)
	t.Cleanup(func() { closeStore(t, s) })
	h2 := &harness{Store: s}
	rs := h2.runningRecordings(t, r.ID)
	if len(rs) == 1 {
		sameRecording(t, "RunningRecordings[0] after reopen", rs[0], r)
	}
	_, err := s.CreateRecording(ctx, storage.Recording{Meeting: m.ID, Started: at(time.Hour)})
	wantErr(t, "CreateRecording(second running, after reopen)", err, storage.ErrConflict)
}
