package storagetest

import (
	"errors"
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

// newRecording starts a recording of meeting at started with members and
// returns it.
func (h *harness) newRecording(t *testing.T, meeting int64, started time.Time, members ...string) storage.Recording {
	t.Helper()
	r, err := h.CreateRecording(t.Context(), storage.Recording{Meeting: meeting, Started: started, Members: members})
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

// addRecordingMember adds user to recording id and fails unless the outcome
// is want.
func (h *harness) addRecordingMember(t *testing.T, id int64, user string, want error) {
	t.Helper()
	wantErr(t, fmt.Sprintf("AddRecordingMember(%d, %s)", id, user), h.AddRecordingMember(t.Context(), id, user), want)
}

// recordingMembers fails unless GetRecording(id) has the members want, in
// that order.
func (h *harness) recordingMembers(t *testing.T, id int64, want ...string) {
	t.Helper()
	r, err := h.GetRecording(t.Context(), id)
	listed(t, fmt.Sprintf("GetRecording(%d).Members", id), r.Members, err, func(u string) string { return u }, want)
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
// a running recording has no tracks, not even an empty list. It leaves the
// members out, which listings need not read: recordingMembers checks them.
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

// A recording reads back as created, its members sorted and each once,
// runs until it stops, gaining members, and then has its stop time, tracks
// and size, and keeps its members.
func testRecordingRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		h.newUser(t, u)
	}
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	other := h.newMeeting(t, meeting("other", "alice", "239.255.0.2", 20010))

	// Only the meeting, the start and the members count.
	r, err := h.CreateRecording(ctx, storage.Recording{ID: 77, Meeting: m.ID, Started: at(time.Minute),
		Stopped: at(time.Hour), Tracks: recordedTracks("alice"), Size: 5, Members: []string{"carol", "alice", "carol", "bob"}})
	wantErr(t, "CreateRecording", err, nil)
	if r.ID == 0 || r.ID == 77 {
		t.Fatalf("CreateRecording returned id %d, want one the store assigned", r.ID)
	}
	want := storage.Recording{ID: r.ID, Meeting: m.ID, Started: at(time.Minute)}
	sameRecording(t, "CreateRecording", r, want)
	if members := []string{"alice", "bob", "carol"}; !slices.Equal(r.Members, members) {
		t.Errorf("CreateRecording returned members %q, want %q", r.Members, members)
	}
	got, err := h.GetRecording(ctx, r.ID)
	wantErr(t, "GetRecording(running)", err, nil)
	sameRecording(t, "GetRecording(running)", got, want)
	h.recordingMembers(t, r.ID, "alice", "bob", "carol")

	// Who joins while it records is added once, however often they join.
	h.addRecordingMember(t, r.ID, "dave", nil)
	h.addRecordingMember(t, r.ID, "dave", nil)
	h.addRecordingMember(t, r.ID, "alice", nil)
	h.recordingMembers(t, r.ID, "alice", "bob", "carol", "dave")
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
	h.recordingMembers(t, r.ID, "alice", "bob", "carol", "dave")
	h.runningRecordings(t, r2.ID)

	// A recording that made no files has an empty list.
	h.stopRecording(t, r2.ID, at(3*time.Minute), nil, 0)
	got, err = h.GetRecording(ctx, r2.ID)
	wantErr(t, "GetRecording(stopped, no tracks)", err, nil)
	sameRecording(t, "GetRecording(stopped, no tracks)", got,
		storage.Recording{ID: r2.ID, Meeting: other.ID, Started: at(2 * time.Minute), Stopped: at(3 * time.Minute)})
	h.recordingMembers(t, r2.ID) // none
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

// A recording starts only in a live meeting and with members who are
// users, gains members only while it runs, and stops once. One running when
// its meeting ends runs on until it is stopped.
func testRecordingNotFound(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
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
	h.addRecordingMember(t, 999999, "alice", storage.ErrNotFound)

	// An unknown member takes the whole recording back: the meeting is not
	// held by a recording without its members.
	_, err = h.CreateRecording(ctx, storage.Recording{Meeting: m.ID, Started: epoch, Members: []string{"alice", "nobody"}})
	wantErr(t, "CreateRecording(unknown member)", err, storage.ErrNotFound)
	h.runningRecordings(t)

	r := h.newRecording(t, m.ID, epoch, "alice")
	h.addRecordingMember(t, r.ID, "nobody", storage.ErrNotFound)
	h.recordingMembers(t, r.ID, "alice")
	wantErr(t, "EndMeeting", h.EndMeeting(ctx, m.ID, at(time.Minute)), nil)
	create("CreateRecording(ended meeting)", m.ID)
	h.runningRecordings(t, r.ID)
	h.stopRecording(t, r.ID, at(2*time.Minute), recordedTracks("alice"), 7)
	stop("StopRecording(stopped)", r.ID)
	// Stopped, it has the members it had, whoever joins now.
	h.addRecordingMember(t, r.ID, "bob", storage.ErrNotFound)
	h.addRecordingMember(t, r.ID, "alice", storage.ErrNotFound)
	h.recordingMembers(t, r.ID, "alice")
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

// A user sees the recordings they were in while they recorded, running and
// stopped, of live and ended meetings, whatever they did in the meeting
// after (left, kicked), and every recording of the meetings they host,
// members or not; not those of meetings they joined after the recording
// stopped, nor those of meetings they are a co-host of but were not in.
func testUserRecordings(t *testing.T, h *harness) {
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "ivan"} {
		h.newUser(t, u)
	}
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	for _, u := range []string{"bob", "carol", "frank"} {
		h.setMember(t, m.ID, u, storage.MeetingAttendee, storage.StatusJoined, epoch)
	}
	h.setMember(t, m.ID, "ivan", storage.MeetingHost, storage.StatusInvited, epoch)
	theirs := h.newMeeting(t, meeting("theirs", "grace", "239.255.0.2", 20010))

	// The host is not among r1's members, and dave joins while it records.
	r1 := h.newRecording(t, m.ID, at(time.Minute), "bob", "carol", "frank")
	h.setMember(t, m.ID, "dave", storage.MeetingAttendee, storage.StatusJoined, at(90*time.Second))
	h.addRecordingMember(t, r1.ID, "dave", nil)
	h.stopRecording(t, r1.ID, at(2*time.Minute), recordedTracks("bob"), 100)
	// Then erin joins, and the others leave or are kicked.
	h.setMember(t, m.ID, "erin", storage.MeetingAttendee, storage.StatusJoined, at(150*time.Second))
	h.setMember(t, m.ID, "carol", storage.MeetingAttendee, storage.StatusLeft, at(150*time.Second))
	h.setMember(t, m.ID, "dave", storage.MeetingAttendee, storage.StatusLeft, at(150*time.Second))
	h.setMember(t, m.ID, "frank", storage.MeetingAttendee, storage.StatusKicked, at(150*time.Second))

	r3 := h.newRecording(t, theirs.ID, at(2*time.Minute)) // nobody in it but its host sees it
	// The host is a member of r2 too, and sees it once.
	r2 := h.newRecording(t, m.ID, at(3*time.Minute), "alice", "bob", "erin") // runs past the meeting's end
	wantErr(t, "EndMeeting", h.EndMeeting(t.Context(), m.ID, at(time.Hour)), nil)

	for _, user := range []string{"alice", "bob"} {
		h.userRecordings(t, user, 0, 10, r2.ID, r1.ID)
	}
	for _, user := range []string{"carol", "dave", "frank"} {
		h.userRecordings(t, user, 0, 10, r1.ID)
	}
	h.userRecordings(t, "erin", 0, 10, r2.ID)
	for _, user := range []string{"ivan", "nobody"} {
		h.userRecordings(t, user, 0, 10)
	}
	h.userRecordings(t, "grace", 0, 10, r3.ID)
	h.recordingMembers(t, r3.ID)

	rs, err := h.UserRecordings(t.Context(), "bob", 0, 10)
	if err == nil && len(rs) == 2 {
		sameRecording(t, "UserRecordings(bob)[0]", rs[0], r2)
		sameRecording(t, "UserRecordings(bob)[1]", rs[1], storage.Recording{ID: r1.ID, Meeting: m.ID,
			Started: at(time.Minute), Stopped: at(2 * time.Minute), Tracks: recordedTracks("bob"), Size: 100})
	}
}

// UserRecordings pages newest first by id, across the meetings a user
// hosts and the recordings they are a member of, below any id, whether it
// is one of the user's recordings or not.
func testUserRecordingsPaging(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	var ms []storage.Meeting
	for i, host := range []string{"alice", "alice", "bob"} {
		ms = append(ms, h.newMeeting(t, meeting(fmt.Sprint("m", i), host, fmt.Sprintf("239.255.0.%d", i+1), 20000)))
	}
	// Three rounds of one recording in each meeting, interleaved. alice is
	// in bob's recordings but that of the second round, which leaves a gap
	// in her ids, and is also a member of one in a meeting she hosts.
	var mine, bobs []int64 // newest first
	for round := range 3 {
		for i, m := range ms {
			var members []string
			if (m.Host == "bob") != (round == 1) {
				members = []string{"alice"}
			}
			r := h.newRecording(t, m.ID, at(time.Duration(round)*time.Hour), members...)
			h.stopRecording(t, r.ID, at(time.Duration(round)*time.Hour+time.Minute), nil, int64(i))
			if m.Host == "alice" || members != nil {
				mine = append([]int64{r.ID}, mine...)
			}
			if m.Host == "bob" {
				bobs = append([]int64{r.ID}, bobs...)
			}
		}
	}
	h.userRecordings(t, "alice", 0, 10, mine...)
	h.userRecordings(t, "alice", mine[0]+1000, len(mine), mine...)
	for _, limit := range []int{1, 3, 4} {
		var paged []int64
		for before, n := int64(0), 0; n <= len(mine); n++ {
			rs, err := h.UserRecordings(t.Context(), "alice", before, limit)
			if err != nil {
				t.Fatalf("UserRecordings(alice, before %d, limit %d): %v", before, limit, err)
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
			t.Errorf("UserRecordings(alice) in pages of %d = %v, want %v", limit, paged, mine)
		}
	}
	h.userRecordings(t, "alice", mine[1], 2, mine[2], mine[3])
	h.userRecordings(t, "alice", bobs[1], 10, mine[3:]...) // bob's of the second round, without alice
	h.userRecordings(t, "alice", mine[len(mine)-1], 10)
	h.userRecordings(t, "bob", 0, 1, bobs[0])
	h.userRecordings(t, "bob", 0, 10, bobs...)
	if _, err := h.UserRecordings(t.Context(), "alice", 0, 0); err == nil {
		t.Errorf("UserRecordings(limit 0) succeeded")
	}
}

// Of concurrent starts in one meeting exactly one wins, and of concurrent
// stops of that recording exactly one. Members who join as a recording
// stops are in it exactly when their add succeeded, and never join after
// the stop: what the recording has once its stop returned is what it keeps.
func testConcurrentCreateRecording(t *testing.T, h *harness) {
	ctx := t.Context()
	joiners := []string{"bob", "carol", "dave"}
	for _, u := range append([]string{"alice"}, joiners...) {
		h.newUser(t, u)
	}
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

	const rounds = 40
	var in, out int // joins that made it, and those too late
	for round := range rounds {
		r := h.newRecording(t, m.ID, at(time.Duration(round)*time.Minute), "alice")
		adds := make([]error, len(joiners))
		var stopped []string // the members right after the stop returned
		race(t, len(joiners)+1, nil, func(i int) error {
			if i < len(joiners) {
				adds[i] = h.AddRecordingMember(ctx, r.ID, joiners[i])
				return nil
			}
			if err := h.StopRecording(ctx, r.ID, at(time.Duration(round)*time.Minute+time.Second), nil, 0); err != nil {
				return err
			}
			got, err := h.GetRecording(ctx, r.ID)
			stopped = got.Members
			return err
		})
		got, err := h.GetRecording(ctx, r.ID)
		wantErr(t, "GetRecording after the race", err, nil)
		if !slices.Equal(got.Members, stopped) {
			t.Errorf("round %d: members %q right after the stop, %q once the adds returned", round, stopped, got.Members)
		}
		for i, u := range joiners {
			member := slices.Contains(got.Members, u)
			switch {
			case adds[i] == nil && member:
				in++
			case errors.Is(adds[i], storage.ErrNotFound) && !member:
				out++
			default:
				t.Errorf("round %d: AddRecordingMember(%s) = %v, and %s is a member: %t", round, u, adds[i], u, member)
			}
		}
	}
	t.Logf("%d rounds of %d joins racing a stop: %d joined, %d too late", rounds, len(joiners), in, out)
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
