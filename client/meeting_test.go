package client

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// TestMeetingRequests checks that every meeting, media and call method
// sends its type with the payload the server's strict decoder accepts, and
// decodes the reply.
func TestMeetingRequests(t *testing.T) {
	var r recorder
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := protocol.MeetingInfo{Meeting: 7, Name: "standup", Host: "alice", Kind: protocol.KindMeeting, State: protocol.MeetingLive,
		Multicast: map[string]string{"audio": "239.255.0.1:20002"}, Created: ts}
	join := protocol.MeetingJoinReply{Meeting: 7, Relay: map[string]string{"audio": "127.0.0.1:7702"},
		Multicast: map[string]string{"audio": "239.255.0.1:20002"},
		Members:   []protocol.MeetingMember{{User: "alice", Role: protocol.RoleHost, Status: protocol.StatusJoined, Online: true}}}
	invite := protocol.MeetingInviteReply{Meeting: 7, Users: []string{"bob", "carol"}}
	members := protocol.MeetingMembers{Meeting: 7, Members: join.Members}
	say := protocol.MeetingSayReply{Seq: 3, TS: ts}
	call := protocol.CallStartReply{CallInfo: protocol.CallInfo{Meeting: 8, Caller: "alice", Callee: "bob"}, CalleeOnline: true}
	s := clifake.Start(t, func(s *clifake.Server) {
		h := s.Handlers
		h[protocol.TypeMeetingCreate] = r.handler(info)
		h[protocol.TypeMeetingInvite] = r.handler(invite)
		for _, typ := range []string{protocol.TypeMeetingAccept, protocol.TypeMeetingJoin, protocol.TypeCallAccept} {
			h[typ] = r.handler(join)
		}
		for _, typ := range []string{protocol.TypeMeetingDecline, protocol.TypeMeetingLeave, protocol.TypeMeetingEnd,
			protocol.TypeMeetingKick, protocol.TypeCallDecline, protocol.TypeMediaRegister, protocol.TypeMediaUnregister,
			protocol.TypeMediaSubscribe, protocol.TypeMediaUnsubscribe} {
			h[typ] = r.handler(protocol.Empty{})
		}
		h[protocol.TypeMeetingMembers] = r.handler(members)
		h[protocol.TypeMeetingList] = r.handler(protocol.MeetingListReply{Meetings: []protocol.MeetingInfo{info}})
		h[protocol.TypeMeetingSDP] = r.handler(protocol.MeetingSDPReply{Meeting: 7, SDP: "v=0\r\n"})
		h[protocol.TypeMeetingSay] = r.handler(say)
		h[protocol.TypeMeetingCaption] = r.handler(protocol.MeetingSayReply{TS: ts})
		h[protocol.TypeCallStart] = r.handler(call)
	})
	c := dial(t, s)
	ctx := testCtx(t)
	// want checks the last request's type and data, and that the server's
	// strict decoding (unknown fields, Validate) accepts it.
	want := func(typ string, data any, strict any) {
		t.Helper()
		req := r.last(t)
		got, _ := json.Marshal(data)
		if req.Type != typ || string(req.Data) != string(got) {
			t.Fatalf("server saw %s %s, want %s %s", req.Type, req.Data, typ, got)
		}
		if err := protocol.DecodeData(req.Data, strict); err != nil {
			t.Fatalf("%s %s: %v", typ, req.Data, err)
		}
	}
	id := protocol.MeetingID{Meeting: 7}
	check := func(what string, err error, ok bool) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: %v", what, err)
		}
	}

	got, err := c.MeetingCreate(ctx, "standup")
	check("MeetingCreate", err, reflect.DeepEqual(got, info))
	want(protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "standup"}, new(protocol.MeetingCreate))

	inv, err := c.MeetingInvite(ctx, 7, "bob", "carol")
	check("MeetingInvite", err, reflect.DeepEqual(inv, invite))
	want(protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: 7, Users: []string{"bob", "carol"}}, new(protocol.MeetingInvite))

	for typ, f := range map[string]func() (protocol.MeetingJoinReply, error){
		protocol.TypeMeetingAccept: func() (protocol.MeetingJoinReply, error) { return c.MeetingAccept(ctx, 7) },
		protocol.TypeMeetingJoin:   func() (protocol.MeetingJoinReply, error) { return c.MeetingJoin(ctx, 7) },
		protocol.TypeCallAccept:    func() (protocol.MeetingJoinReply, error) { return c.CallAccept(ctx, 7) },
	} {
		j, err := f()
		check(typ, err, reflect.DeepEqual(j, join))
		want(typ, id, new(protocol.MeetingID))
	}
	for typ, f := range map[string]func() error{
		protocol.TypeMeetingDecline: func() error { return c.MeetingDecline(ctx, 7) },
		protocol.TypeMeetingLeave:   func() error { return c.MeetingLeave(ctx, 7) },
		protocol.TypeMeetingEnd:     func() error { return c.MeetingEnd(ctx, 7) },
		protocol.TypeCallDecline:    func() error { return c.CallDecline(ctx, 7) },
	} {
		check(typ, f(), true)
		want(typ, id, new(protocol.MeetingID))
	}
	check("MeetingKick", c.MeetingKick(ctx, 7, "bob"), true)
	want(protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: 7, User: "bob"}, new(protocol.MeetingKick))

	m, err := c.MeetingMembers(ctx, 7)
	check("MeetingMembers", err, reflect.DeepEqual(m, members.Members))
	want(protocol.TypeMeetingMembers, id, new(protocol.MeetingID))

	l, err := c.MeetingList(ctx)
	check("MeetingList", err, len(l) == 1 && reflect.DeepEqual(l[0], info))
	want(protocol.TypeMeetingList, protocol.MeetingList{}, new(protocol.MeetingList))

	sdp, err := c.MeetingSDP(ctx, 7)
	check("MeetingSDP", err, sdp == "v=0\r\n")
	want(protocol.TypeMeetingSDP, id, new(protocol.MeetingID))

	sr, err := c.MeetingSay(ctx, 7, "hello")
	check("MeetingSay", err, sr == say)
	want(protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: 7, Text: "hello"}, new(protocol.MeetingSay))
	sr, err = c.MeetingCaption(ctx, 7, "[laughter]")
	check("MeetingCaption", err, sr.Seq == 0 && sr.TS.Equal(ts))
	want(protocol.TypeMeetingCaption, protocol.MeetingSay{Meeting: 7, Text: "[laughter]"}, new(protocol.MeetingSay))

	src := netip.MustParseAddrPort("127.0.0.1:5004")
	check("MediaRegister", c.MediaRegister(ctx, 7, protocol.TrackAudio, src, 0xDEADBEEF), true)
	want(protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: 7, Track: "audio", Source: "127.0.0.1:5004", SSRC: 0xDEADBEEF}, new(protocol.MediaRegister))
	check("MediaUnregister", c.MediaUnregister(ctx, 7, protocol.TrackAudio, 0xDEADBEEF), true)
	want(protocol.TypeMediaUnregister, protocol.MediaUnregister{Meeting: 7, Track: "audio", SSRC: 0xDEADBEEF}, new(protocol.MediaUnregister))
	check("MediaSubscribe", c.MediaSubscribe(ctx, 7, protocol.TrackVideo, src), true)
	want(protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: 7, Track: "video", Address: "127.0.0.1:5004"}, new(protocol.MediaSubscribe))
	check("MediaUnsubscribe", c.MediaUnsubscribe(ctx, 7, protocol.TrackVideo, src), true)
	want(protocol.TypeMediaUnsubscribe, protocol.MediaSubscribe{Meeting: 7, Track: "video", Address: "127.0.0.1:5004"}, new(protocol.MediaSubscribe))

	ci, err := c.CallStart(ctx, "bob")
	check("CallStart", err, ci == call)
	want(protocol.TypeCallStart, protocol.CallStart{User: "bob"}, new(protocol.CallStart))
}

func TestMeetingServerError(t *testing.T) {
	s := clifake.Start(t) // the fake answers unknown types with forbidden
	c := dial(t, s)
	if _, err := c.MeetingJoin(testCtx(t), 7); protocol.CodeOf(err) != protocol.CodeForbidden {
		t.Fatalf("MeetingJoin = %v, want forbidden", err)
	}
}

func TestLocalAddr(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	if got := c.LocalAddr(); got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("LocalAddr = %v", got)
	}
}
