package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

func TestMeetingUsageErrors(t *testing.T) {
	notOgg := filepath.Join(t.TempDir(), "x.ogg")
	if err := os.WriteFile(notOgg, []byte("not an ogg file at all, sorry"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []usageCase{
		{"create without name", []string{"meeting", "create"}, "missing argument"},
		{"join without id", []string{"meeting", "join"}, "missing argument"},
		{"join bad id", []string{"meeting", "join", "x"}, `meeting ID must be a positive number, not "x"`},
		{"join zero id", []string{"meeting", "join", "0"}, "positive number"},
		{"join negative id", []string{"meeting", "leave", "--", "-3"}, "positive number"},
		{"accept two ids", []string{"meeting", "accept", "1", "2"}, `unexpected argument "2"`},
		{"invite without users", []string{"meeting", "invite", "7"}, "missing argument"},
		{"invite bad id", []string{"meeting", "invite", "seven", "bob"}, "positive number"},
		{"kick without name", []string{"meeting", "kick", "7"}, "missing argument"},
		{"kick two names", []string{"meeting", "kick", "7", "bob", "carol"}, "unexpected argument"},
		{"members bad id", []string{"meeting", "members", "1.5"}, "positive number"},
		{"list with argument", []string{"meeting", "list", "7"}, "unexpected argument"},
		{"sdp without id", []string{"meeting", "sdp"}, "missing argument"},
		{"say without text", []string{"meeting", "say", "7"}, "missing argument"},
		{"say empty text", []string{"meeting", "say", "7", " "}, "empty text"},
		{"caption bad id", []string{"meeting", "caption", "x", "hi"}, "positive number"},
		{"source without flags", []string{"meeting", "source", "7"}, "--track, --from and --ssrc are required"},
		{"source bad track", []string{"meeting", "source", "7", "--track", "smell", "--from", "127.0.0.1:5004", "--ssrc", "1"}, `--track must be one of text|audio|video|screen|caption, not "smell"`},
		{"source bad from", []string{"meeting", "source", "7", "--track", "audio", "--from", "nonsense", "--ssrc", "1"}, "--from must be IPv4:PORT"},
		{"source from port 0", []string{"meeting", "source", "7", "--track", "audio", "--from", "127.0.0.1:0", "--ssrc", "1"}, "--from must be IPv4:PORT"},
		{"source from ipv6", []string{"meeting", "source", "7", "--track", "audio", "--from", "[::1]:5004", "--ssrc", "1"}, "--from must be IPv4:PORT"},
		{"source from multicast", []string{"meeting", "source", "7", "--track", "audio", "--from", "239.255.0.1:5004", "--ssrc", "1"}, "unicast"},
		{"source ssrc too big", []string{"meeting", "source", "7", "--track", "audio", "--from", "127.0.0.1:5004", "--ssrc", "4294967296"}, "want a number from 0 to 4294967295"},
		{"source ssrc negative", []string{"meeting", "source", "7", "--track", "audio", "--from", "127.0.0.1:5004", "--ssrc", "-1"}, "invalid value"},
		{"source ssrc not a number", []string{"meeting", "source", "7", "--ssrc", "x"}, "invalid value"},
		{"publish without files", []string{"meeting", "publish", "7"}, "give at least one of --audio, --video and --screen"},
		{"publish missing file", []string{"meeting", "publish", "7", "--audio", "/nonexistent/a.ogg"}, "--audio /nonexistent/a.ogg"},
		{"publish not ogg", []string{"meeting", "publish", "7", "--audio", notOgg}, "not an Ogg/Opus file: it does not start with an Ogg page"},
		{"publish ogg as video", []string{"meeting", "publish", "7", "--video", notOgg}, "not an IVF file"},
		{"subscribe negative duration", []string{"meeting", "subscribe", "7", "--duration", "-1s"}, "must not be negative"},
		{"subscribe bad duration", []string{"meeting", "subscribe", "7", "--duration", "soon"}, "invalid value"},
		{"meeting without subcommand", []string{"meeting"}, "missing subcommand"},
		{"unknown meeting subcommand", []string{"meeting", "dance", "7"}, `unknown command "meeting dance"`},
		{"call without name", []string{"call"}, "missing argument"},
		{"call two names", []string{"call", "bob", "carol"}, "unexpected argument"},
		{"call accept bad id", []string{"call", "accept", "bob"}, "positive number"},
		{"call decline without id", []string{"call", "decline"}, "missing argument; to call a user named decline, run huddle call -- decline"},
		{"call accept without id", []string{"call", "accept"}, "missing argument; to call a user named accept, run huddle call -- accept"},
	}
	checkUsageErrors(t, tests)
}

// strictType is the payload the server decodes for each meeting request.
func strictType(typ string) any {
	switch typ {
	case protocol.TypeMeetingCreate:
		return new(protocol.MeetingCreate)
	case protocol.TypeMeetingInvite:
		return new(protocol.MeetingInvite)
	case protocol.TypeMeetingKick:
		return new(protocol.MeetingKick)
	case protocol.TypeMeetingSay, protocol.TypeMeetingCaption:
		return new(protocol.MeetingSay)
	case protocol.TypeMeetingList:
		return new(protocol.MeetingList)
	case protocol.TypeMediaRegister:
		return new(protocol.MediaRegister)
	case protocol.TypeMediaUnregister:
		return new(protocol.MediaUnregister)
	case protocol.TypeMediaSubscribe, protocol.TypeMediaUnsubscribe:
		return new(protocol.MediaSubscribe)
	case protocol.TypeCallStart:
		return new(protocol.CallStart)
	}
	return new(protocol.MeetingID)
}

// meetingFake answers meeting requests with replies[type] after decoding
// them strictly, and hands each request to the returned channel.
func meetingFake(t *testing.T, replies map[string]any) (*clifake.Server, chan protocol.Request) {
	t.Helper()
	seen := make(chan protocol.Request, 64)
	s := loggedInFake(t, func(s *clifake.Server) {
		for typ, reply := range replies {
			s.Handlers[typ] = func(c *clifake.Conn, req protocol.Request) {
				if err := protocol.DecodeData(req.Data, strictType(req.Type)); err != nil {
					c.Fail(req.ID, protocol.CodeOf(err), err.Error())
					return
				}
				seen <- req
				c.Reply(req.ID, reply)
			}
		}
	})
	return s, seen
}

// nextReq returns the next request the fake saw, checking its type and data.
func nextReq(t *testing.T, seen chan protocol.Request, typ, data string) {
	t.Helper()
	select {
	case req := <-seen:
		if req.Type != typ || string(req.Data) != data {
			t.Fatalf("fake saw %s %s, want %s %s", req.Type, req.Data, typ, data)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s reached the fake", typ)
	}
}

var (
	testTS      = time.Date(2026, 3, 1, 10, 42, 0, 0, time.UTC)
	testMembers = []protocol.MeetingMember{
		{User: "alice", Role: protocol.RoleHost, Status: protocol.StatusJoined, Online: true},
		{User: "bob", Role: protocol.RoleAttendee, Status: protocol.StatusInvited},
	}
	testJoin = protocol.MeetingJoinReply{Meeting: 7,
		Relay:     map[string]string{"text": "127.0.0.1:7702", "audio": "127.0.0.1:7702", "video": "127.0.0.1:7702", "screen": "127.0.0.1:7702", "caption": "127.0.0.1:7702"},
		Multicast: map[string]string{"text": "239.255.0.1:20000", "audio": "239.255.0.1:20002", "video": "239.255.0.1:20004", "screen": "239.255.0.1:20006", "caption": "239.255.0.1:20008"},
		Members:   testMembers}
	testInfo = protocol.MeetingInfo{Meeting: 7, Name: "standup", Host: "alice", Kind: protocol.KindMeeting, State: protocol.MeetingLive,
		Multicast: testJoin.Multicast, Role: protocol.RoleHost, Status: protocol.StatusJoined, Created: testTS}
	testSDP = "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=standup\r\n"
)

func TestMeetingCommandsAgainstFake(t *testing.T) {
	_, seen := meetingFake(t, map[string]any{
		protocol.TypeMeetingCreate:  testInfo,
		protocol.TypeMeetingInvite:  protocol.MeetingInviteReply{Meeting: 7, Users: []string{"bob", "carol"}},
		protocol.TypeMeetingJoin:    testJoin,
		protocol.TypeMeetingAccept:  testJoin,
		protocol.TypeCallAccept:     testJoin,
		protocol.TypeMeetingDecline: protocol.Empty{},
		protocol.TypeMeetingLeave:   protocol.Empty{},
		protocol.TypeMeetingEnd:     protocol.Empty{},
		protocol.TypeCallDecline:    protocol.Empty{},
		protocol.TypeMeetingKick:    protocol.Empty{},
		protocol.TypeMeetingMembers: protocol.MeetingMembers{Meeting: 7, Members: testMembers},
		protocol.TypeMeetingList:    protocol.MeetingListReply{Meetings: []protocol.MeetingInfo{testInfo}},
		protocol.TypeMeetingSDP:     protocol.MeetingSDPReply{Meeting: 7, SDP: testSDP},
		protocol.TypeMeetingSay:     protocol.MeetingSayReply{Seq: 3, TS: testTS},
		protocol.TypeMeetingCaption: protocol.MeetingSayReply{TS: testTS},
		protocol.TypeMediaRegister:  protocol.Empty{},
	})
	id7 := `{"meeting":7}`

	if out := mustRun(t, "", "meeting", "create", "standup"); out != "created meeting 7 (standup)\n" {
		t.Fatalf("create printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingCreate, `{"name":"standup"}`)
	if m := decodeLines(t, mustRun(t, "", "--json", "meeting", "create", "standup")); len(m) != 1 || m[0]["meeting"] != 7.0 || m[0]["name"] != "standup" {
		t.Fatalf("create --json printed %v", m)
	}
	nextReq(t, seen, protocol.TypeMeetingCreate, `{"name":"standup"}`)

	if out := mustRun(t, "", "meeting", "invite", "7", "bob", "carol"); out != "invited bob, carol to meeting 7\n" {
		t.Fatalf("invite printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingInvite, `{"meeting":7,"users":["bob","carol"]}`)

	for typ, cmd := range map[string][]string{protocol.TypeMeetingJoin: {"meeting", "join"}, protocol.TypeMeetingAccept: {"meeting", "accept"}, protocol.TypeCallAccept: {"call", "accept"}} {
		m := decodeLines(t, mustRun(t, "", append(cmd, "7", "--json")...))
		relay, _ := m[0]["relay"].(map[string]any)
		multicast, _ := m[0]["multicast"].(map[string]any)
		if len(m) != 1 || m[0]["meeting"] != 7.0 || len(relay) != 5 || relay["audio"] != "127.0.0.1:7702" || multicast["video"] != "239.255.0.1:20004" {
			t.Fatalf("%v --json printed %v", cmd, m)
		}
		nextReq(t, seen, typ, id7)
	}
	out := mustRun(t, "", "meeting", "join", "7")
	if !strings.HasPrefix(out, "joined meeting 7\ntrack    relay           multicast\n") || !strings.Contains(out, "\naudio    127.0.0.1:7702  239.255.0.1:20002\n") {
		t.Fatalf("join printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingJoin, id7)

	for verb, typ := range map[string]string{"decline": protocol.TypeMeetingDecline, "leave": protocol.TypeMeetingLeave, "end": protocol.TypeMeetingEnd} {
		past := map[string]string{"decline": "declined", "leave": "left", "end": "ended"}[verb]
		m := decodeLines(t, mustRun(t, "", "meeting", verb, "7", "--json"))
		if len(m) != 1 || m[0]["meeting"] != 7.0 || m[0][past] != true {
			t.Fatalf("meeting %s --json printed %v", verb, m)
		}
		nextReq(t, seen, typ, id7)
	}
	if out := mustRun(t, "", "call", "decline", "7"); out != "declined call 7\n" {
		t.Fatalf("call decline printed %q", out)
	}
	nextReq(t, seen, protocol.TypeCallDecline, id7)
	if out := mustRun(t, "", "meeting", "kick", "7", "bob"); out != "kicked bob from meeting 7\n" {
		t.Fatalf("kick printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingKick, `{"meeting":7,"user":"bob"}`)

	items := decodeLines(t, mustRun(t, "", "meeting", "members", "7", "--json"))
	if len(items) != 2 || items[0]["user"] != "alice" || items[0]["role"] != "host" || items[0]["status"] != "joined" ||
		items[1]["user"] != "bob" || items[1]["role"] != "member" || items[1]["status"] != "invited" {
		t.Fatalf("members --json printed %v", items)
	}
	nextReq(t, seen, protocol.TypeMeetingMembers, id7)
	if out := mustRun(t, "", "meeting", "members", "7"); out != "alice  host    joined   online\nbob    member  invited  offline\n" {
		t.Fatalf("members printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingMembers, id7)

	if out := mustRun(t, "", "meeting", "list"); out != "7  standup  meeting  host  joined  host alice\n" {
		t.Fatalf("list printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingList, `{}`)
	if items := decodeLines(t, mustRun(t, "", "meeting", "list", "--json")); len(items) != 1 || items[0]["meeting"] != 7.0 || items[0]["status"] != "joined" {
		t.Fatalf("list --json printed %v", items)
	}
	nextReq(t, seen, protocol.TypeMeetingList, `{}`)

	if out := mustRun(t, "", "meeting", "sdp", "7"); out != testSDP {
		t.Fatalf("sdp printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingSDP, id7)
	if m := decodeLines(t, mustRun(t, "", "meeting", "sdp", "7", "--json")); m[0]["meeting"] != 7.0 || m[0]["sdp"] != testSDP {
		t.Fatalf("sdp --json printed %v", m)
	}
	nextReq(t, seen, protocol.TypeMeetingSDP, id7)

	if out := mustRun(t, "", "meeting", "say", "7", "hello", "all"); out != "sent to meeting 7 (#3)\n" {
		t.Fatalf("say printed %q", out)
	}
	nextReq(t, seen, protocol.TypeMeetingSay, `{"meeting":7,"text":"hello all"}`)
	if m := decodeLines(t, mustRun(t, "", "--json", "meeting", "caption", "7", "[applause]")); m[0]["meeting"] != 7.0 || m[0]["ts"] != "2026-03-01T10:42:00Z" || m[0]["seq"] != nil {
		t.Fatalf("caption --json printed %v", m)
	}
	nextReq(t, seen, protocol.TypeMeetingCaption, `{"meeting":7,"text":"[applause]"}`)

	m := decodeLines(t, mustRun(t, "", "meeting", "source", "7", "--track", "audio", "--from", "127.0.0.1:5004", "--ssrc", "4294967295", "--json"))
	if m[0]["relay"] != "127.0.0.1:7702" || m[0]["ssrc"] != 4294967295.0 || m[0]["source"] != "127.0.0.1:5004" || m[0]["track"] != "audio" {
		t.Fatalf("source --json printed %v", m)
	}
	nextReq(t, seen, protocol.TypeMeetingJoin, id7)
	nextReq(t, seen, protocol.TypeMediaRegister, `{"meeting":7,"track":"audio","source":"127.0.0.1:5004","ssrc":4294967295}`)
	if out := mustRun(t, "", "meeting", "source", "7", "--track", "video", "--from", "127.0.0.1:5006", "--ssrc", "0x10"); !strings.Contains(out, "send RTP (payload type 96) to 127.0.0.1:7702") {
		t.Fatalf("source printed %q", out)
	}
}

func TestMeetingServerErrors(t *testing.T) {
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMeetingJoin] = func(c *clifake.Conn, req protocol.Request) {
			c.Fail(req.ID, protocol.CodeForbidden, "not invited to meeting 7")
		}
	})
	code, stdout, stderr := huddle(t, "", "--json", "meeting", "join", "7")
	if code != 1 || stdout != "" || stderr != `{"error":{"code":"forbidden","message":"not invited to meeting 7"}}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// The fake does not know meeting.sdp: forbidden, exit 1.
	if code, _, stderr := huddle(t, "", "meeting", "sdp", "7"); code != 1 || !strings.Contains(stderr, "forbidden") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// publish and subscribe join first, so they fail the same way.
	if code, _, stderr := huddle(t, "", "meeting", "subscribe", "7", "--out", t.TempDir()); code != 1 || !strings.Contains(stderr, "not invited") {
		t.Fatalf("subscribe: exit %d, stderr %q", code, stderr)
	}
}

// callFake answers call.start (the callee online or not) and then, after
// the reply, sends pushes.
func callFake(t *testing.T, online bool, pushes ...func(c *clifake.Conn)) {
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeCallStart] = func(c *clifake.Conn, req protocol.Request) {
			var cs protocol.CallStart
			if err := protocol.DecodeData(req.Data, &cs); err != nil || cs.User != "bob" {
				c.Fail(req.ID, protocol.CodeBadRequest, "bad call.start")
				return
			}
			c.Reply(req.ID, protocol.CallStartReply{CallInfo: protocol.CallInfo{Meeting: 9, Caller: "alice", Callee: "bob"}, CalleeOnline: online})
			for _, p := range pushes {
				time.Sleep(20 * time.Millisecond)
				p(c)
			}
		}
	})
}

func members(meeting int64, bob string) func(c *clifake.Conn) {
	return func(c *clifake.Conn) {
		c.Push(protocol.PushMeetingMembers, protocol.MeetingMembers{Meeting: meeting, Members: []protocol.MeetingMember{
			{User: "alice", Role: protocol.RoleHost, Status: protocol.StatusJoined, Online: true},
			{User: "bob", Role: protocol.RoleAttendee, Status: bob, Online: true}}})
	}
}

func TestCallAnswered(t *testing.T) {
	callFake(t, true, members(8, protocol.StatusJoined), members(9, protocol.StatusInvited), members(9, protocol.StatusJoined))
	out := mustRun(t, "", "call", "bob", "--json")
	m := decodeLines(t, out)
	if len(m) != 1 || m[0]["meeting"] != 9.0 || m[0]["caller"] != "alice" || m[0]["callee"] != "bob" || m[0]["answered"] != true {
		t.Fatalf("call --json printed %q", out)
	}
	callFake(t, true, members(9, protocol.StatusJoined))
	if code, out, stderr := huddle(t, "", "call", "bob"); code != 0 || out != "bob answered: meeting 9\n" || !strings.Contains(stderr, "ringing bob (meeting 9)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestCallNotAnswered(t *testing.T) {
	for _, reason := range []string{protocol.CallDeclined, protocol.CallTimeout} {
		callFake(t, true, func(c *clifake.Conn) {
			c.Push(protocol.PushCallEnded, protocol.CallEnded{Meeting: 8, Reason: protocol.CallHangup}) // another call
			c.Push(protocol.PushCallEnded, protocol.CallEnded{Meeting: 9, Reason: reason})
		})
		code, stdout, stderr := huddle(t, "", "--json", "call", "bob")
		var res map[string]any
		if code != 1 || json.Unmarshal([]byte(stdout), &res) != nil || res["answered"] != false || res["reason"] != reason {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", reason, code, stdout, stderr)
		}
		want := map[string]string{protocol.CallDeclined: "bob declined the call", protocol.CallTimeout: "bob did not answer"}[reason]
		if !strings.Contains(stderr, `"code":"unavailable","message":"`+want) {
			t.Fatalf("%s: stderr %q", reason, stderr)
		}
		// Unanswered because bob was offline: the note says so at once.
		offline := reason == protocol.CallTimeout
		callFake(t, !offline, func(c *clifake.Conn) { c.Push(protocol.PushCallEnded, protocol.CallEnded{Meeting: 9, Reason: reason}) })
		code, stdout, stderr = huddle(t, "", "call", "bob")
		if code != 1 || stdout != "" || strings.Count(stderr, want) != 1 || strings.Contains(stderr, "bob is offline") != offline {
			t.Fatalf("%s, text: exit %d, stdout %q, stderr %q", reason, code, stdout, stderr)
		}
	}
}
