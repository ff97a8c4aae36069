package server_test

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"huddle/internal/testutil"
	"huddle/protocol"
)

func createMeeting(t *testing.T, c *clientT, name string) protocol.MeetingInfo {
	t.Helper()
	var m protocol.MeetingInfo
	call(t, c, protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: name}, &m)
	if m.Meeting <= 0 || m.Name != name || m.State != protocol.MeetingLive || len(m.Multicast) != len(protocol.Tracks) {
		t.Fatalf("meeting.create = %+v", m)
	}
	return m
}

func join(t *testing.T, c *clientT, id int64) protocol.MeetingJoinReply {
	t.Helper()
	var out protocol.MeetingJoinReply
	call(t, c, protocol.TypeMeetingJoin, protocol.MeetingID{Meeting: id}, &out)
	if out.Meeting != id || len(out.Relay) != len(protocol.Tracks) || len(out.Multicast) != len(protocol.Tracks) {
		t.Fatalf("meeting.join = %+v", out)
	}
	return out
}

// statuses returns "user:status" of every member, ordered by name.
func statuses(ms []protocol.MeetingMember) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.User + ":" + m.Status
	}
	return out
}

func wantMembers(t *testing.T, what string, ms []protocol.MeetingMember, want ...string) {
	t.Helper()
	if got := statuses(ms); !slices.Equal(got, want) {
		t.Fatalf("%s: members %v, want %v", what, got, want)
	}
}

// expectMembers waits for a meeting.members push showing want.
func expectMembers(t *testing.T, c *clientT, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.Pushes():
			if p.Type != protocol.PushMeetingMembers {
				continue
			}
			var mm protocol.MeetingMembers
			if err := protocol.DecodeData(p.Data, &mm); err != nil {
				t.Fatal(err)
			}
			if slices.Equal(statuses(mm.Members), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no meeting.members push showing %v within 5s", want)
		}
	}
}

func TestMeetingLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		alice, _ := e.newUser("alice")
		bob, _ := e.newUser("bob")
		e.register(e.dial(), "carol")
		dave, _ := e.newUser("dave")

		m := createMeeting(t, alice, "standup")
		id := protocol.MeetingID{Meeting: m.Meeting}
		if m.Host != "alice" || m.Kind != protocol.KindMeeting {
			t.Fatalf("meeting %+v", m)
		}
		var inv protocol.MeetingInviteReply
		call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob", "carol"}}, &inv)
		if !slices.Equal(inv.Users, []string{"bob", "carol"}) {
			t.Fatalf("invite = %+v", inv)
		}
		var ev protocol.MeetingEvent
		expectPush(t, bob, protocol.PushMeetingInvite, &ev)
		if ev.Meeting != m.Meeting || ev.Host != "alice" || ev.Name != "standup" {
			t.Fatalf("meeting.invite push %+v", ev)
		}
		expectMembers(t, alice, "alice:joined", "bob:invited", "carol:invited")

		// Only the host invites, kicks and ends; outsiders cannot join or look.
		callErr(t, bob, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"dave"}}, protocol.CodeForbidden)
		callErr(t, dave, protocol.TypeMeetingJoin, id, protocol.CodeForbidden)
		callErr(t, dave, protocol.TypeMeetingMembers, id, protocol.CodeForbidden)
		callErr(t, dave, protocol.TypeMeetingSDP, id, protocol.CodeForbidden)
		callErr(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"nobody"}}, protocol.CodeNotFound)
		callErr(t, alice, protocol.TypeMeetingJoin, protocol.MeetingID{Meeting: m.Meeting + 1000}, protocol.CodeNotFound)
		callErr(t, bob, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "hi"}, protocol.CodeForbidden) // not joined yet

		// The offline invitee sees the invitation at login.
		carol, _ := e.login("carol")
		var list protocol.MeetingListReply
		call(t, carol, protocol.TypeMeetingList, protocol.MeetingList{}, &list)
		if len(list.Meetings) != 1 || list.Meetings[0].Meeting != m.Meeting || list.Meetings[0].Status != protocol.StatusInvited {
			t.Fatalf("carol's meeting.list = %+v", list)
		}

		var jr protocol.MeetingJoinReply
		call(t, bob, protocol.TypeMeetingAccept, id, &jr)
		if jr.Relay[protocol.TrackAudio] != e.srv.MediaAddr().String() || jr.Multicast[protocol.TrackAudio] != m.Multicast[protocol.TrackAudio] {
			t.Fatalf("accept reply %+v (relay %s)", jr, e.srv.MediaAddr())
		}
		expectMembers(t, alice, "alice:joined", "bob:joined", "carol:invited")
		join(t, bob, m.Meeting) // again: the same answer
		call(t, carol, protocol.TypeMeetingDecline, id, nil)
		expectMembers(t, bob, "alice:joined", "bob:joined", "carol:declined")

		var said protocol.MeetingSayReply
		call(t, bob, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "hello all"}, &said)
		if said.Seq != 1 {
			t.Fatalf("meeting.say = %+v", said)
		}
		var text protocol.MeetingText
		expectPush(t, alice, protocol.PushMeetingText, &text)
		if text.From != "bob" || text.Text != "hello all" || text.Seq != 1 {
			t.Fatalf("meeting.text push %+v", text)
		}
		call(t, bob, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "second"}, &said)
		if said.Seq != 2 {
			t.Fatalf("second meeting.say = %+v", said)
		}
		call(t, alice, protocol.TypeMeetingCaption, protocol.MeetingSay{Meeting: m.Meeting, Text: "[laughter]"}, &said)
		expectPush(t, bob, protocol.PushMeetingCaption, &text)
		if text.From != "alice" || text.Text != "[laughter]" {
			t.Fatalf("meeting.caption push %+v", text)
		}

		callErr(t, bob, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "alice"}, protocol.CodeForbidden)
		call(t, alice, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "bob"}, nil)
		expectMembers(t, bob, "alice:joined", "bob:kicked", "carol:declined")
		if pe := callErr(t, bob, protocol.TypeMeetingJoin, id, protocol.CodeForbidden); !strings.Contains(pe.Message, "removed you") {
			t.Fatalf("a kicked member's join: %q, want it to say they were removed", pe.Message)
		}
		callErr(t, bob, protocol.TypeMeetingEnd, id, protocol.CodeForbidden)

		// The host leaves and comes back: the meeting goes on.
		call(t, alice, protocol.TypeMeetingLeave, id, nil)
		var mm protocol.MeetingMembers
		call(t, alice, protocol.TypeMeetingMembers, id, &mm)
		wantMembers(t, "members after the host left", mm.Members, "alice:left", "bob:kicked", "carol:declined")
		join(t, alice, m.Meeting)
		call(t, alice, protocol.TypeMeetingMembers, id, &mm)
		wantMembers(t, "members", mm.Members, "alice:joined", "bob:kicked", "carol:declined")

		call(t, carol, protocol.TypeMeetingJoin, id, nil) // changed her mind
		expectMembers(t, alice, "alice:joined", "bob:kicked", "carol:joined")
		callErr(t, carol, protocol.TypeMeetingEnd, id, protocol.CodeForbidden) // joined, but not the host
		callErr(t, carol, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "alice"}, protocol.CodeForbidden)

		// The host disconnects: the meeting goes on, and she is still in it.
		alice.Close()
		call(t, carol, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "still here?"}, nil)
		call(t, carol, protocol.TypeMeetingMembers, id, &mm)
		wantMembers(t, "members after the host disconnected", mm.Members, "alice:joined", "bob:kicked", "carol:joined")
		alice, _ = e.login("alice")
		call(t, alice, protocol.TypeMeetingEnd, id, nil)
		expectPush(t, carol, protocol.PushMeetingEnded, &ev)
		if ev.Meeting != m.Meeting || ev.By != "alice" {
			t.Fatalf("meeting.ended push %+v", ev)
		}
		callErr(t, carol, protocol.TypeMeetingJoin, id, protocol.CodeNotFound)
		call(t, carol, protocol.TypeMeetingList, protocol.MeetingList{}, &list)
		if len(list.Meetings) != 0 {
			t.Fatalf("meeting.list after the end = %+v", list)
		}

		// The ended meeting's addresses are free again.
		again := createMeeting(t, alice, "retro")
		if again.Multicast[protocol.TrackAudio] != m.Multicast[protocol.TrackAudio] {
			t.Fatalf("new meeting got %v, want the freed %v", again.Multicast, m.Multicast)
		}
	})
}

func TestMeetingBadInput(t *testing.T) {
	e := &env{t: t}
	e.cfg = testutil.TestConfig(t, "sqlite")
	e.cfg.Chat.MaxText = 1024
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	m := createMeeting(t, alice, "design review")
	for _, tc := range []struct {
		typ  string
		data any
		want protocol.Code
	}{
		{protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: ""}, protocol.CodeBadRequest},
		{protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: " padded "}, protocol.CodeBadRequest},
		{protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "bell\a"}, protocol.CodeBadRequest},
		{protocol.TypeMeetingJoin, protocol.MeetingID{Meeting: 0}, protocol.CodeBadRequest},
		{protocol.TypeMeetingJoin, map[string]any{"meeting": 1, "extra": true}, protocol.CodeBadRequest},
		{protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: ""}, protocol.CodeBadRequest},
		{protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: string(make([]byte, 2000))}, protocol.CodeTooLarge},
		{protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: "smell", Source: "127.0.0.1:5000", SSRC: 1}, protocol.CodeBadRequest},
		{protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: "audio", Source: "127.0.0.1", SSRC: 1}, protocol.CodeBadRequest},
		{protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: "audio", Source: "239.1.1.1:5000", SSRC: 1}, protocol.CodeBadRequest},
		{protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: "audio", Source: "10.9.8.7:5000", SSRC: 1}, protocol.CodeForbidden},
		{protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: "audio", Address: "10.9.8.7:5000"}, protocol.CodeForbidden},
		{protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob", "bob"}}, protocol.CodeBadRequest},
		{protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "alice"}, protocol.CodeBadRequest},
		{protocol.TypeCallStart, protocol.CallStart{User: "alice"}, protocol.CodeBadRequest},
		{protocol.TypeCallStart, protocol.CallStart{User: "nobody"}, protocol.CodeForbidden},
	} {
		callErr(t, alice, tc.typ, tc.data, tc.want)
	}
	// The host limit: a meeting its host left is live and still counts, and
	// its host still finds it in meeting.list.
	for i := 1; i < e.cfg.Meetings.MaxLivePerHost; i++ {
		mi := createMeeting(t, alice, "m")
		join(t, alice, mi.Meeting)
		call(t, alice, protocol.TypeMeetingLeave, protocol.MeetingID{Meeting: mi.Meeting}, nil)
	}
	var list protocol.MeetingListReply
	call(t, alice, protocol.TypeMeetingList, nil, &list)
	if len(list.Meetings) != e.cfg.Meetings.MaxLivePerHost {
		t.Fatalf("meeting.list after leaving: %d meetings, want the %d alice hosts: %+v", len(list.Meetings), e.cfg.Meetings.MaxLivePerHost, list.Meetings)
	}
	callErr(t, alice, protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "one too many"}, protocol.CodeRateLimited)
}

func TestMeetingSDP(t *testing.T) {
	e := &env{t: t}
	e.cfg = testutil.TestConfig(t, "sqlite")
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	m := createMeeting(t, alice, "all hands")
	var out protocol.MeetingSDPReply
	call(t, alice, protocol.TypeMeetingSDP, protocol.MeetingID{Meeting: m.Meeting}, &out)
	audio, _ := netip.ParseAddrPort(m.Multicast[protocol.TrackAudio])
	for _, want := range []string{
		"c=IN IP4 " + audio.Addr().String() + "/1",
		"m=audio " + strconv.Itoa(int(audio.Port())) + " RTP/AVP 111",
		"a=rtpmap:111 opus/48000/2",
		"a=rtpmap:96 VP8/90000",
		"a=rtpmap:98 t140/1000",
		"s=all hands",
	} {
		if !strings.Contains(out.SDP, want) {
			t.Errorf("SDP lacks %q:\n%s", want, out.SDP)
		}
	}
	// One media section per track, in track order, on the track's
	// multicast port with its codec (DESIGN §4), receive-only.
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(out.SDP); err != nil {
		t.Fatalf("pion/sdp cannot read the SDP: %v\n%s", err, out.SDP)
	}
	want := map[string]struct{ kind, rtpmap string }{
		protocol.TrackText: {"text", "98 t140/1000"}, protocol.TrackAudio: {"audio", "111 opus/48000/2"},
		protocol.TrackVideo: {"video", "96 VP8/90000"}, protocol.TrackScreen: {"video", "96 VP8/90000"},
		protocol.TrackCaption: {"text", "98 t140/1000"},
	}
	if len(sd.MediaDescriptions) != len(protocol.Tracks) {
		t.Fatalf("%d media sections, want %d:\n%s", len(sd.MediaDescriptions), len(protocol.Tracks), out.SDP)
	}
	// pion keeps the "/TTL" in the address it reads.
	if group, ttl, _ := strings.Cut(sd.ConnectionInformation.Address.Address, "/"); group != audio.Addr().String() || ttl != "1" {
		t.Errorf("c= names %s with TTL %s, want %s with 1", group, ttl, audio.Addr())
	}
	for i, track := range protocol.Tracks {
		md := sd.MediaDescriptions[i]
		addr := netip.MustParseAddrPort(m.Multicast[track])
		label, _ := md.Attribute("label")
		rtpmap, _ := md.Attribute("rtpmap")
		_, recvonly := md.Attribute(sdp.AttrKeyRecvOnly)
		if md.MediaName.Media != want[track].kind || md.MediaName.Port.Value != int(addr.Port()) || label != track ||
			rtpmap != want[track].rtpmap || !recvonly || addr.Addr() != audio.Addr() {
			t.Errorf("%s: media section %+v (label %q, rtpmap %q, recvonly %v), want %s on %s with %s", track, md.MediaName, label, rtpmap, recvonly,
				want[track].kind, addr, want[track].rtpmap)
		}
	}
}

// TestMeetingLimits: meetings.max_members, media.max_sources and
// media.max_subscriptions refuse the request beyond them with too_large.
func TestMeetingLimits(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Meetings.MaxMembers = 2
	e.cfg.Media.MaxSources = 1
	e.cfg.Media.MaxSubscriptions = 1
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	e.register(e.dial(), "bob")
	e.register(e.dial(), "carol")
	m := createMeeting(t, alice, "small")
	callErr(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob", "carol"}}, protocol.CodeTooLarge)
	call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob"}}, nil)
	callErr(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"carol"}}, protocol.CodeTooLarge)

	src := "127.0.0.1:5004"
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: src, SSRC: 1}, nil)
	callErr(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackVideo, Source: "127.0.0.1:5006", SSRC: 2}, protocol.CodeTooLarge)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: "127.0.0.1:6000"}, nil)
	callErr(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackVideo, Address: "127.0.0.1:6002"}, protocol.CodeTooLarge)
	// Another connection has its own allowance.
	other, _ := e.login("alice")
	call(t, other, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackVideo, Address: "127.0.0.1:6002"}, nil)
}

// A burst of status changes shares pushes of the member list: the first
// change goes out at once, the ones within meetings.members_push of it in
// one push at its end, which shows them all. Kicked members get that push
// too, though no longer present.
func TestMeetingMembersPushCoalesces(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Meetings.MembersPush = time.Second
	e.srv = testutil.StartServer(t, e.cfg)
	host, _ := e.newUser("host")
	const n = 12
	names := make([]string, n)
	guests := make([]*clientT, n)
	for i := range guests {
		names[i] = "guest" + strconv.Itoa(i)
		guests[i], _ = e.newUser(names[i])
	}
	m := createMeeting(t, host, "all hands")
	start := time.Now()
	call(t, host, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: names}, nil)
	status := map[string]string{"host": "joined"}
	for _, u := range names {
		status[u] = "invited"
	}
	list := func() []string { // as statuses() gives it
		var out []string
		for _, u := range slices.Sorted(maps.Keys(status)) {
			out = append(out, u+":"+status[u])
		}
		return out
	}
	expectMembers(t, host, list()...) // the first change: at once
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("the first meeting.members push took %v", d)
	}
	for _, g := range guests {
		join(t, g, m.Meeting)
	}
	call(t, host, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: names[0]}, nil)
	for _, u := range names {
		status[u] = "joined"
	}
	status[names[0]] = "kicked"
	want := list()

	// The host and the kicked guest each get the joins and the kick in one
	// push, a second after the invitation's.
	for _, c := range []*clientT{host, guests[0]} {
		var pushes int
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case p := <-c.Pushes():
				if p.Type != protocol.PushMeetingMembers {
					continue
				}
				pushes++
				var mm protocol.MeetingMembers
				if err := protocol.DecodeData(p.Data, &mm); err != nil {
					t.Fatal(err)
				}
				if slices.Equal(statuses(mm.Members), want) {
					break wait
				}
			case <-deadline:
				t.Fatalf("no meeting.members push showing %v within 5s", want)
			}
		}
		// The guest's first is the invitation's, which the host took above.
		if max := map[*clientT]int{host: 1, guests[0]: 2}[c]; pushes > max {
			t.Errorf("%d meeting.members pushes for %d joins and a kick, want at most %d", pushes, n, max)
		}
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the burst's push came %v after the first, before meetings.members_push", d)
	}

	// A change still waiting when the meeting ends goes out first, at once.
	m2 := createMeeting(t, host, "short")
	call(t, host, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m2.Meeting, Users: names[1:2]}, nil)
	expectMembers(t, host, names[1]+":invited", "host:joined")
	join(t, guests[1], m2.Meeting)
	ending := time.Now()
	call(t, host, protocol.TypeMeetingEnd, protocol.MeetingID{Meeting: m2.Meeting}, nil)
	var last []string
	for {
		p := nextPush(t, host)
		if p.Type == protocol.PushMeetingEnded {
			break
		}
		var mm protocol.MeetingMembers
		if p.Type == protocol.PushMeetingMembers && protocol.DecodeData(p.Data, &mm) == nil && mm.Meeting == m2.Meeting {
			last = statuses(mm.Members)
		}
	}
	if want := []string{names[1] + ":joined", "host:joined"}; !slices.Equal(last, want) {
		t.Errorf("last meeting.members before meeting.ended: %v, want %v", last, want)
	}
	if d := time.Since(ending); d > 900*time.Millisecond {
		t.Errorf("meeting.ended and the waiting list took %v", d)
	}
}

func nextPush(t *testing.T, c *clientT) protocol.Push {
	t.Helper()
	select {
	case p := <-c.Pushes():
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5s")
		return protocol.Push{}
	}
}
