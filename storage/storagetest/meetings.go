package storagetest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"huddle/storage"
)

// meeting returns a live meeting of host on the multicast group, with ports
// base, base+1, … and created at epoch.
func meeting(name, host, group string, base uint16) storage.Meeting {
	m := storage.Meeting{Name: name, Host: host, Kind: storage.KindMeeting, Group: netip.MustParseAddr(group), Created: epoch}
	for i := range m.Ports {
		m.Ports[i] = base + uint16(i)
	}
	return m
}

// newMeeting creates m and returns it with its id.
func (h *harness) newMeeting(t *testing.T, m storage.Meeting) storage.Meeting {
	t.Helper()
	got, err := h.CreateMeeting(t.Context(), m)
	if err != nil {
		t.Fatalf("CreateMeeting(%q on %v): %v", m.Name, m.Group, err)
	}
	return got
}

// setMember sets user's role and status in meeting id at now.
func (h *harness) setMember(t *testing.T, id int64, user, role, status string, now time.Time) {
	t.Helper()
	m := storage.MeetingMember{User: user, Role: role, Status: status, Updated: now}
	if err := h.SetMeetingMember(t.Context(), id, m); err != nil {
		t.Fatalf("SetMeetingMember(%d, %s %s/%s): %v", id, user, role, status, err)
	}
}

// source returns user's source on track from addr with ssrc.
func source(user, track, addr string, ssrc uint32) storage.MediaSource {
	return storage.MediaSource{User: user, Track: track, Source: netip.MustParseAddrPort(addr), SSRC: ssrc}
}

// addSource adds src to meeting id and fails unless the outcome is want.
func (h *harness) addSource(t *testing.T, id int64, src storage.MediaSource, want error) {
	t.Helper()
	err := h.AddMediaSource(t.Context(), id, src)
	wantErr(t, fmt.Sprintf("AddMediaSource(%d, %s %s %v %d)", id, src.User, src.Track, src.Source, src.SSRC), err, want)
}

// listed fails unless a listing named what, each item as show writes it,
// is want; it returns the items.
func listed[T any](t *testing.T, what string, items []T, err error, show func(T) string, want []string) []T {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got := make([]string, len(items))
	for i, v := range items {
		got[i] = show(v)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	return items
}

// meetingMembers fails unless meeting id's members are want, in
// "user:role:status" form.
func (h *harness) meetingMembers(t *testing.T, id int64, want ...string) {
	t.Helper()
	ms, err := h.MeetingMembers(t.Context(), id)
	listed(t, fmt.Sprintf("MeetingMembers(%d)", id), ms, err,
		func(m storage.MeetingMember) string { return m.User + ":" + m.Role + ":" + m.Status }, want)
}

// sources fails unless meeting id's sources are want, in
// "user:track:addr:ssrc" form.
func (h *harness) sources(t *testing.T, id int64, want ...string) {
	t.Helper()
	ss, err := h.MediaSources(t.Context(), id)
	listed(t, fmt.Sprintf("MediaSources(%d)", id), ss, err,
		func(s storage.MediaSource) string {
			return fmt.Sprintf("%s:%s:%v:%d", s.User, s.Track, s.Source, s.SSRC)
		}, want)
}

// byID fails unless ms, a listing named what, is ordered by id.
func byID(t *testing.T, what string, ms []storage.Meeting) []storage.Meeting {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		if ms[i-1].ID >= ms[i].ID {
			t.Errorf("%s: %s (id %d) after id %d, want by id", what, ms[i].Name, ms[i].ID, ms[i-1].ID)
		}
	}
	return ms
}

// liveMeetings fails unless the live meetings are want, in "name:state"
// form, by id; it returns them.
func (h *harness) liveMeetings(t *testing.T, want ...string) []storage.Meeting {
	t.Helper()
	ms, err := h.LiveMeetings(t.Context())
	return byID(t, "LiveMeetings", listed(t, "LiveMeetings", ms, err,
		func(m storage.Meeting) string { return m.Name + ":" + m.State }, want))
}

// userMeetings fails unless user's meetings are want, in
// "name:role:status" form, by id; it returns them.
func (h *harness) userMeetings(t *testing.T, user string, want ...string) []storage.Meeting {
	t.Helper()
	ms, err := h.UserMeetings(t.Context(), user)
	return byID(t, "UserMeetings("+user+")", listed(t, "UserMeetings("+user+")", ms, err,
		func(m storage.Meeting) string { return m.Name + ":" + m.Role + ":" + m.Status }, want))
}

// sameMeeting fails unless got is want, times to the millisecond in UTC.
func sameMeeting(t *testing.T, what string, got, want storage.Meeting) {
	t.Helper()
	sameTime(t, what+".Created", got.Created, want.Created)
	if !want.Ended.IsZero() {
		sameTime(t, what+".Ended", got.Ended, want.Ended)
	} else if !got.Ended.IsZero() {
		t.Errorf("%s.Ended = %v, want zero", what, got.Ended)
	}
	got.Created, got.Ended, want.Created, want.Ended = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testMeetingCreate(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	want := meeting("standup", "alice", "239.255.0.1", 20000)
	want.Kind = storage.KindCall
	m := h.newMeeting(t, want)
	if m.ID == 0 {
		t.Fatalf("CreateMeeting returned id 0")
	}
	want.ID, want.State = m.ID, storage.MeetingLive
	sameMeeting(t, "CreateMeeting", m, want)
	got, err := h.GetMeeting(ctx, m.ID)
	wantErr(t, "GetMeeting", err, nil)
	sameMeeting(t, "GetMeeting", got, want)
	h.meetingMembers(t, m.ID, "alice:host:joined")
	ms, _ := h.MeetingMembers(ctx, m.ID)
	sameTime(t, "host's Updated", ms[0].Updated, epoch)

	_, err = h.CreateMeeting(ctx, meeting("other", "nobody", "239.255.0.2", 20010))
	wantErr(t, "CreateMeeting(unknown host)", err, storage.ErrNotFound)
	_, err = h.GetMeeting(ctx, m.ID+1)
	wantErr(t, "GetMeeting(after failed create)", err, storage.ErrNotFound)
	_, err = h.GetMeeting(ctx, 999999)
	wantErr(t, "GetMeeting(999999)", err, storage.ErrNotFound)
	h.meetingMembers(t, 999999)
	h.liveMeetings(t, "standup:live")

	// What only a caller's bug produces is refused, and stores nothing.
	for name, m := range map[string]storage.Meeting{
		"unicast group": meeting("bad", "alice", "10.0.0.1", 20010),
		"IPv6 group":    meeting("bad", "alice", "ff02::1", 20010),
		"no group":      {Name: "bad", Host: "alice", Kind: storage.KindMeeting, Ports: want.Ports, Created: epoch},
		"ended": func() storage.Meeting {
			m := meeting("bad", "alice", "239.255.0.3", 1)
			m.State = storage.MeetingEnded
			return m
		}(),
	} {
		if _, err := h.CreateMeeting(ctx, m); err == nil {
			t.Errorf("CreateMeeting(%s) succeeded", name)
		}
	}
	h.liveMeetings(t, "standup:live")
}

// A live meeting holds its multicast group alone; once it ends, the group
// is free again. Of concurrent creates on one group exactly one wins.
func testMeetingLiveGroup(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	first := h.newMeeting(t, meeting("first", "alice", "239.255.0.1", 20000))
	_, err := h.CreateMeeting(ctx, meeting("second", "bob", "239.255.0.1", 20010))
	wantErr(t, "CreateMeeting(live group)", err, storage.ErrConflict)
	h.newMeeting(t, meeting("third", "bob", "239.255.0.2", 20000)) // ports are the allocator's business
	wantErr(t, "EndMeeting", h.EndMeeting(ctx, first.ID, at(time.Hour)), nil)
	again := h.newMeeting(t, meeting("again", "bob", "239.255.0.1", 20010))
	if again.ID <= first.ID {
		t.Errorf("new meeting id %d, want above %d", again.ID, first.ID)
	}
	h.liveMeetings(t, "third:live", "again:live")

	const racers = 8
	ok, failed := race(t, racers, storage.ErrConflict, func(i int) error {
		_, err := h.CreateMeeting(ctx, meeting(fmt.Sprintf("racer%d", i), "alice", "239.255.0.9", 20000))
		return err
	})
	if ok != 1 || failed != racers-1 {
		t.Errorf("%d concurrent creates on one group: %d succeeded, %d conflicted; want 1 and %d", racers, ok, failed, racers-1)
	}
}

// Ending a meeting keeps its row and members, frees its sources' addresses
// and SSRCs, and happens once.
func testMeetingEnd(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	other := h.newMeeting(t, meeting("other", "bob", "239.255.0.2", 20010))
	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, epoch)
	h.addSource(t, m.ID, source("alice", "audio", "10.0.0.1:5000", 1), nil)
	h.addSource(t, m.ID, source("bob", "video", "10.0.0.2:5000", 2), nil)
	h.addSource(t, other.ID, source("bob", "audio", "10.0.0.1:5000", 1), storage.ErrConflict)

	wantErr(t, "EndMeeting", h.EndMeeting(ctx, m.ID, at(time.Hour)), nil)
	got, err := h.GetMeeting(ctx, m.ID)
	wantErr(t, "GetMeeting(ended)", err, nil)
	want := m
	want.State, want.Ended = storage.MeetingEnded, at(time.Hour)
	sameMeeting(t, "GetMeeting(ended)", got, want)
	h.sources(t, m.ID)
	h.meetingMembers(t, m.ID, "alice:host:joined", "bob:member:joined")
	h.liveMeetings(t, "other:live")

	wantErr(t, "EndMeeting(again)", h.EndMeeting(ctx, m.ID, at(2*time.Hour)), storage.ErrNotFound)
	wantErr(t, "EndMeeting(999999)", h.EndMeeting(ctx, 999999, at(time.Hour)), storage.ErrNotFound)
	got, _ = h.GetMeeting(ctx, m.ID)
	sameTime(t, "Ended after a second EndMeeting", got.Ended, at(time.Hour))

	// The pair is free for a live meeting; the ended one takes no sources.
	h.addSource(t, other.ID, source("bob", "audio", "10.0.0.1:5000", 1), nil)
	h.addSource(t, m.ID, source("alice", "audio", "10.0.0.3:5000", 3), storage.ErrNotFound)
	h.sources(t, m.ID)
}

func testLiveMeetings(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.liveMeetings(t)
	var ids []int64
	for i, name := range []string{"zulu", "alpha", "mike", "bravo"} {
		m := meeting(name, "alice", fmt.Sprintf("239.255.0.%d", i+1), 20000)
		m.Created = at(time.Duration(i) * time.Minute)
		ids = append(ids, h.newMeeting(t, m).ID)
	}
	wantErr(t, "EndMeeting(alpha)", h.EndMeeting(ctx, ids[1], at(time.Hour)), nil)
	ms := h.liveMeetings(t, "zulu:live", "mike:live", "bravo:live")
	if len(ms) == 3 {
		want := meeting("mike", "alice", "239.255.0.3", 20000)
		want.ID, want.State, want.Created = ids[2], storage.MeetingLive, at(2*time.Minute)
		sameMeeting(t, "LiveMeetings[1]", ms[1], want)
	}
}

func testMeetingMembers(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol", "Dave"} {
		h.newUser(t, u)
	}
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusInvited, at(time.Minute))
	h.setMember(t, m.ID, "Dave", storage.MeetingAttendee, storage.StatusInvited, at(time.Minute))
	h.meetingMembers(t, m.ID, "Dave:member:invited", "alice:host:joined", "bob:member:invited")

	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, at(2*time.Minute))
	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, at(2*time.Minute)) // the same again
	h.setMember(t, m.ID, "Dave", storage.MeetingAttendee, storage.StatusDeclined, at(3*time.Minute))
	h.setMember(t, m.ID, "alice", storage.MeetingHost, storage.StatusLeft, at(4*time.Minute))
	h.meetingMembers(t, m.ID, "Dave:member:declined", "alice:host:left", "bob:member:joined")
	ms, _ := h.MeetingMembers(ctx, m.ID)
	for i, want := range []time.Time{at(3 * time.Minute), at(4 * time.Minute), at(2 * time.Minute)} {
		if i < len(ms) {
			sameTime(t, ms[i].User+"'s Updated", ms[i].Updated, want)
		}
	}

	set := func(id int64, user string) error {
		return h.SetMeetingMember(ctx, id, storage.MeetingMember{User: user, Role: storage.MeetingAttendee, Status: storage.StatusInvited, Updated: epoch})
	}
	wantErr(t, "SetMeetingMember(unknown user)", set(m.ID, "nobody"), storage.ErrNotFound)
	wantErr(t, "SetMeetingMember(unknown meeting)", set(999999, "carol"), storage.ErrNotFound)
	h.meetingMembers(t, 999999)
	h.meetingMembers(t, m.ID, "Dave:member:declined", "alice:host:left", "bob:member:joined")

	// Concurrent first writes of one member all succeed, as one row.
	ok, _ := race(t, 6, nil, func(i int) error { return set(m.ID, "carol") })
	if ok != 6 {
		t.Errorf("concurrent SetMeetingMember: %d of 6 succeeded", ok)
	}
	h.meetingMembers(t, m.ID, "Dave:member:declined", "alice:host:left", "bob:member:joined", "carol:member:invited")

	// A batch is stored whole, or not at all.
	batch := func(users ...string) []storage.MeetingMember {
		out := make([]storage.MeetingMember, len(users))
		for i, u := range users {
			out[i] = storage.MeetingMember{User: u, Role: storage.MeetingAttendee, Status: storage.StatusInvited, Updated: epoch}
		}
		return out
	}
	wantErr(t, "SetMeetingMembers(an unknown user among them)", h.SetMeetingMembers(ctx, m.ID, batch("alice", "nobody", "Dave")), storage.ErrNotFound)
	h.meetingMembers(t, m.ID, "Dave:member:declined", "alice:host:left", "bob:member:joined", "carol:member:invited")
	if err := h.SetMeetingMembers(ctx, m.ID, batch("alice", "Dave")); err != nil {
		t.Fatalf("SetMeetingMembers: %v", err)
	}
	h.meetingMembers(t, m.ID, "Dave:member:invited", "alice:member:invited", "bob:member:joined", "carol:member:invited")
	if err := h.SetMeetingMembers(ctx, m.ID, nil); err != nil {
		t.Errorf("SetMeetingMembers(none): %v", err)
	}
	wantErr(t, "SetMeetingMembers(unknown meeting)", h.SetMeetingMembers(ctx, 999999, batch("carol")), storage.ErrNotFound)
}

// Any status but joined deletes the member's sources, and only theirs.
func testMeetingMemberLeaves(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	h.addSource(t, m.ID, source("alice", "audio", "10.0.0.1:5000", 100), nil)
	for i, status := range []string{storage.StatusInvited, storage.StatusDeclined, storage.StatusLeft, storage.StatusKicked} {
		h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, at(time.Duration(i)*time.Minute))
		h.addSource(t, m.ID, source("bob", "audio", "10.0.0.2:5000", 1), nil)
		h.addSource(t, m.ID, source("bob", "video", "10.0.0.2:5002", 2), nil)
		h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, at(time.Duration(i)*time.Minute))
		h.sources(t, m.ID, "alice:audio:10.0.0.1:5000:100", "bob:audio:10.0.0.2:5000:1", "bob:video:10.0.0.2:5002:2")
		h.setMember(t, m.ID, "bob", storage.MeetingAttendee, status, at(time.Duration(i)*time.Minute))
		h.sources(t, m.ID, "alice:audio:10.0.0.1:5000:100")
		// Not joined, bob registers nothing.
		h.addSource(t, m.ID, source("bob", "audio", "10.0.0.2:5000", 1), storage.ErrNotFound)
	}
	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, at(time.Hour))
	h.sources(t, m.ID, "alice:audio:10.0.0.1:5000:100")
}

// UserMeetings lists the live meetings a user hosts (also after leaving
// them) or is invited to or joined.
func testUserMeetings(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	var ids []int64
	for i, name := range []string{"invited", "joined", "declined", "left", "kicked", "ended", "hosted"} {
		host := "alice"
		if name == "hosted" {
			host = "bob"
		}
		ids = append(ids, h.newMeeting(t, meeting(name, host, fmt.Sprintf("239.255.0.%d", i+1), 20000)).ID)
	}
	for i, status := range []string{storage.StatusInvited, storage.StatusJoined, storage.StatusDeclined, storage.StatusLeft, storage.StatusKicked, storage.StatusJoined} {
		h.setMember(t, ids[i], "bob", storage.MeetingAttendee, status, epoch)
	}
	wantErr(t, "EndMeeting(ended)", h.EndMeeting(ctx, ids[5], at(time.Hour)), nil)
	left := h.newMeeting(t, meeting("host left", "bob", "239.255.0.9", 20000)).ID
	h.setMember(t, left, "bob", storage.MeetingHost, storage.StatusLeft, at(time.Minute))
	ms := h.userMeetings(t, "bob", "invited:member:invited", "joined:member:joined", "hosted:host:joined", "host left:host:left")
	if len(ms) == 3 {
		want := meeting("joined", "alice", "239.255.0.2", 20000)
		want.ID, want.State, want.Role, want.Status = ids[1], storage.MeetingLive, storage.MeetingAttendee, storage.StatusJoined
		sameMeeting(t, "UserMeetings(bob)[1]", ms[1], want)
	}
	h.userMeetings(t, "alice",
		"invited:host:joined", "joined:host:joined", "declined:host:joined", "left:host:joined", "kicked:host:joined")
	h.userMeetings(t, "nobody")
}

func testMediaSources(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	other := h.newMeeting(t, meeting("other", "carol", "239.255.0.2", 20010))
	h.setMember(t, m.ID, "bob", storage.MeetingAttendee, storage.StatusJoined, epoch)
	h.setMember(t, m.ID, "carol", storage.MeetingAttendee, storage.StatusInvited, epoch)

	h.addSource(t, m.ID, source("bob", "video", "10.0.0.2:5002", 7), nil)
	h.addSource(t, m.ID, source("bob", "audio", "10.0.0.2:5000", 4294967295), nil)
	h.addSource(t, m.ID, source("bob", "audio", "10.0.0.2:5000", 5), nil) // one address, several SSRCs
	h.addSource(t, m.ID, source("alice", "text", "[2001:db8::1]:6000", 0), nil)
	h.addSource(t, m.ID, source("alice", "caption", "10.0.0.1:6000", 9), nil)

	// The SSRC is the meeting's, whoever sends it from wherever.
	h.addSource(t, m.ID, source("alice", "audio", "10.0.0.1:5000", 7), storage.ErrConflict)
	h.addSource(t, m.ID, source("bob", "screen", "10.0.0.2:5004", 5), storage.ErrConflict)
	// An address and SSRC name one source across live meetings, also
	// spelled as an IPv4-mapped IPv6 address.
	h.addSource(t, other.ID, source("carol", "audio", "10.0.0.2:5000", 5), storage.ErrConflict)
	h.addSource(t, other.ID, source("carol", "audio", "[::ffff:10.0.0.2]:5000", 5), storage.ErrConflict)
	h.addSource(t, other.ID, source("carol", "audio", "10.0.0.2:5001", 5), nil) // another port
	h.addSource(t, other.ID, source("carol", "video", "10.0.0.3:5002", 7), nil) // same SSRC, other address
	h.addSource(t, other.ID, source("carol", "text", "[::ffff:10.0.0.4]:6000", 1), nil)

	h.addSource(t, 999999, source("bob", "audio", "10.0.0.9:5000", 1), storage.ErrNotFound)
	h.addSource(t, m.ID, source("nobody", "audio", "10.0.0.9:5000", 1), storage.ErrNotFound)
	h.addSource(t, m.ID, source("carol", "audio", "10.0.0.9:5000", 1), storage.ErrNotFound) // invited only

	h.sources(t, m.ID,
		"alice:caption:10.0.0.1:6000:9", "alice:text:[2001:db8::1]:6000:0",
		"bob:audio:10.0.0.2:5000:5", "bob:audio:10.0.0.2:5000:4294967295", "bob:video:10.0.0.2:5002:7")
	h.sources(t, other.ID, "carol:audio:10.0.0.2:5001:5", "carol:text:10.0.0.4:6000:1", "carol:video:10.0.0.3:5002:7")
	h.sources(t, 999999)

	remove := func(user, track string, ssrc uint32, want error) {
		t.Helper()
		wantErr(t, fmt.Sprintf("RemoveMediaSource(%s %s %d)", user, track, ssrc), h.RemoveMediaSource(ctx, m.ID, user, track, ssrc), want)
	}
	remove("bob", "video", 7, nil)
	remove("bob", "video", 7, storage.ErrNotFound)
	remove("bob", "video", 5, storage.ErrNotFound)   // on audio
	remove("alice", "audio", 5, storage.ErrNotFound) // bob's
	wantErr(t, "RemoveMediaSource(other meeting)", h.RemoveMediaSource(ctx, 999999, "bob", "audio", 5), storage.ErrNotFound)
	h.sources(t, m.ID, "alice:caption:10.0.0.1:6000:9", "alice:text:[2001:db8::1]:6000:0",
		"bob:audio:10.0.0.2:5000:5", "bob:audio:10.0.0.2:5000:4294967295")
	// Its SSRC is free again in the meeting.
	h.addSource(t, m.ID, source("alice", "screen", "10.0.0.1:5004", 7), nil)

	if err := h.AddMediaSource(ctx, m.ID, storage.MediaSource{User: "bob", Track: "audio", SSRC: 99}); err == nil {
		t.Errorf("AddMediaSource(no address) succeeded")
	}
}

// The schema refuses values outside the constants, whatever the caller.
func testMeetingBadValues(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	set := func(role, status string) error {
		return h.SetMeetingMember(ctx, m.ID, storage.MeetingMember{User: "bob", Role: role, Status: status, Updated: epoch})
	}
	refused(t, "SetMeetingMember(status away)", set(storage.MeetingAttendee, "away"))
	refused(t, "SetMeetingMember(status empty)", set(storage.MeetingAttendee, ""))
	refused(t, "SetMeetingMember(role owner)", set("owner", storage.StatusInvited))
	h.meetingMembers(t, m.ID, "alice:host:joined")
	refused(t, "SetMeetingMember(update to status away)", h.SetMeetingMember(ctx, m.ID,
		storage.MeetingMember{User: "alice", Role: storage.MeetingHost, Status: "away", Updated: epoch}))
	h.meetingMembers(t, m.ID, "alice:host:joined")

	refused(t, "AddMediaSource(track smell)", h.AddMediaSource(ctx, m.ID, source("alice", "smell", "10.0.0.1:5000", 1)))
	h.sources(t, m.ID)

	kind := meeting("party", "alice", "239.255.0.2", 20000)
	kind.Kind = "party"
	_, err := h.CreateMeeting(ctx, kind)
	refused(t, "CreateMeeting(kind party)", err)
	port := meeting("port", "alice", "239.255.0.3", 20000)
	port.Ports[3] = 0
	_, err = h.CreateMeeting(ctx, port)
	refused(t, "CreateMeeting(port 0)", err)
	long := meeting(strings.Repeat("x", 65), "alice", "239.255.0.4", 20000)
	_, err = h.CreateMeeting(ctx, long)
	refused(t, "CreateMeeting(65-byte name)", err)
	h.liveMeetings(t, "standup:live")
}

// A meeting's chat is a conversation like a group's: gapless seqs from 1,
// history, no recipient and no read markers.
func testMeetingChat(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	m1, m2 := storage.MeetingConversation(1), storage.MeetingConversation(2)
	g := h.newGroup(t, "team", "alice")
	gc := storage.GroupConversation(g.ID)
	out := h.appendOK(t, msg("alice", m1, "1"), msg("bob", m1, "2"), msg("bob", m2, "3"), msg("bob", gc, "4"), msg("alice", m1, "5"))
	for i, want := range []int64{1, 2, 1, 1, 3} {
		if out[i].Seq != want || out[i].Duplicate {
			t.Errorf("message %d = %+v, want seq %d, new", i, out[i], want)
		}
	}
	out = h.appendOK(t, msg("bob", m1, "2"), msg("bob", m2, "6"))
	if !out[0].Duplicate || out[0].Seq != 2 || out[1].Seq != 2 {
		t.Errorf("second batch = %+v, want the retry at 2 and a new message at 2", out)
	}
	h.seqs(t, m1, "1", "2", "5")
	h.seqs(t, m2, "3", "6")
	page, err := h.History(ctx, m1, storage.HistoryQuery{Before: 3, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Seq != 2 || page[0].Sender != "bob" || page[0].Recipient != "" || page[0].Body != "body of 2" {
		t.Errorf("History(%s, before 3, limit 1) = %+v, %v", m1, page, err)
	}
	h.unread(t, "alice", gc+":1:1")
	h.unread(t, "bob")

	for _, bad := range []storage.Message{
		{Conversation: m1, Sender: "alice", Recipient: "bob", ClientMsgID: "x", Created: epoch},
		{Conversation: "m:", Sender: "alice", ClientMsgID: "x", Created: epoch},
		{Conversation: "m:01", Sender: "alice", ClientMsgID: "x", Created: epoch},
		{Conversation: "m:1:2", Sender: "alice", ClientMsgID: "x", Created: epoch},
		{Conversation: "x:1", Sender: "alice", ClientMsgID: "x", Created: epoch},
	} {
		if _, err := h.AppendMessages(ctx, []storage.Message{bad}); err == nil {
			t.Errorf("AppendMessages(%q, recipient %q) succeeded", bad.Conversation, bad.Recipient)
		}
	}
	h.seqs(t, m1, "1", "2", "5")
}

// A live meeting, its members and sources are there after a restart.
func testMeetingsReopen(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	m := h.newMeeting(t, meeting("standup", "alice", "239.255.0.1", 20000))
	h.addSource(t, m.ID, source("alice", "audio", "10.0.0.1:5000", 1), nil)
	closeStore(t, h.Store)

	s := h.reopen(t)
	t.Cleanup(func() { closeStore(t, s) })
	h2 := &harness{Store: s}
	ms := h2.liveMeetings(t, "standup:live")
	if len(ms) == 1 {
		sameMeeting(t, "LiveMeetings[0] after reopen", ms[0], m)
	}
	h2.meetingMembers(t, m.ID, "alice:host:joined")
	h2.sources(t, m.ID, "alice:audio:10.0.0.1:5000:1")
	_, err := s.CreateMeeting(ctx, meeting("again", "alice", "239.255.0.1", 20010))
	wantErr(t, "CreateMeeting(live group after reopen)", err, storage.ErrConflict)
}
