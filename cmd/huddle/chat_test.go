package main

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// answer makes a fake setup that answers typ with reply after validating
// the request as the server would, and hands each valid request to the
// returned channel.
func answer(typ string, reply any) (func(*clifake.Server), chan protocol.Request) {
	seen := make(chan protocol.Request, 16)
	return func(s *clifake.Server) {
		s.Handlers[typ] = func(c *clifake.Conn, req protocol.Request) {
			if err := validate(req); err != nil {
				c.Fail(req.ID, protocol.CodeOf(err), err.Error())
				return
			}
			seen <- req
			c.Reply(req.ID, reply)
		}
	}, seen
}

// validate runs the server's strict decoding of req's data.
func validate(req protocol.Request) error {
	var v any
	switch req.Type {
	case protocol.TypeMsgSend:
		v = new(protocol.MsgSend)
	case protocol.TypeMsgHistory:
		v = new(protocol.MsgHistory)
	case protocol.TypeMsgRead:
		v = new(protocol.MsgRead)
	case protocol.TypeGroupCreate, protocol.TypeGroupLeave, protocol.TypeGroupDelete, protocol.TypeGroupMembers:
		v = new(protocol.GroupName)
	case protocol.TypeGroupAdd, protocol.TypeGroupRemove:
		v = new(protocol.GroupUsers)
	case protocol.TypeGroupRole:
		v = new(protocol.GroupRole)
	default:
		return nil
	}
	return protocol.DecodeData(req.Data, v)
}

func decodeReq[T any](t *testing.T, seen chan protocol.Request) T {
	t.Helper()
	var v T
	select {
	case req := <-seen:
		if err := protocol.DecodeData(req.Data, &v); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the fake")
	}
	return v
}

func loggedInFake(t *testing.T, setup ...func(*clifake.Server)) *clifake.Server {
	t.Helper()
	s := startFake(t, setup...)
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: "tok-alice"})
	return s
}

func TestSendAgainstFake(t *testing.T) {
	ts := time.Date(2025, 3, 1, 10, 42, 0, 0, time.UTC)
	setup, seen := answer(protocol.TypeMsgSend, protocol.MsgSendReply{Seq: 12, TS: ts})
	loggedInFake(t, setup)

	if out := mustRun(t, "", "send", "bob", "hello", "there"); out != "sent to bob (#12)\n" {
		t.Fatalf("send printed %q", out)
	}
	m := decodeReq[protocol.MsgSend](t, seen)
	if m.User != "bob" || m.Group != "" || m.Text != "hello there" || protocol.CheckClientMsgID(m.ClientMsgID) != nil {
		t.Fatalf("fake saw %+v", m)
	}

	out := decodeLines(t, mustRun(t, "", "--json", "group", "send", "devs", "hi all"))
	m = decodeReq[protocol.MsgSend](t, seen)
	if m.Group != "devs" || m.User != "" || m.Text != "hi all" {
		t.Fatalf("fake saw %+v", m)
	}
	if len(out) != 1 || out[0]["seq"] != 12.0 || out[0]["group"] != "devs" || out[0]["client_msg_id"] != m.ClientMsgID || out[0]["ts"] != "2025-03-01T10:42:00Z" {
		t.Fatalf("group send --json printed %v", out)
	}
}

// TestSendRetriesWithSameID: the first connection drops under msg.send; the
// CLI resends once, on a new connection, with the same client_msg_id.
func TestSendRetriesWithSameID(t *testing.T) {
	var calls atomic.Int32
	ids := make(chan string, 4)
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgSend] = func(c *clifake.Conn, req protocol.Request) {
			var m protocol.MsgSend
			_ = protocol.DecodeData(req.Data, &m)
			ids <- m.ClientMsgID
			if calls.Add(1) == 1 {
				c.Close() // stored, say, but the reply is lost
				return
			}
			c.Reply(req.ID, protocol.MsgSendReply{Seq: 3, Duplicate: true})
		}
	})
	out := decodeLines(t, mustRun(t, "", "send", "bob", "hello", "--json"))
	if len(out) != 1 || out[0]["seq"] != 3.0 || out[0]["duplicate"] != true {
		t.Fatalf("send printed %v", out)
	}
	if first, second := <-ids, <-ids; first != second || out[0]["client_msg_id"] != first {
		t.Fatalf("ids %q then %q, printed %v", first, second, out[0]["client_msg_id"])
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d sends", n)
	}
}

func TestSendRetriesOnlyOnce(t *testing.T) {
	var calls atomic.Int32
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgSend] = func(c *clifake.Conn, _ protocol.Request) {
			calls.Add(1)
			c.Close()
		}
	})
	code, _, stderr := huddle(t, "", "--json", "send", "bob", "hello")
	if code != 1 || !strings.Contains(stderr, `"code":"unavailable"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
}

func TestSendServerError(t *testing.T) {
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgSend] = func(c *clifake.Conn, req protocol.Request) {
			c.Fail(req.ID, protocol.CodeNotFound, "no such user nobody")
		}
	})
	code, stdout, stderr := huddle(t, "", "send", "nobody", "hello", "--json")
	if code != 1 || stdout != "" || stderr != `{"error":{"code":"not_found","message":"no such user nobody"}}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHistoryAgainstFake(t *testing.T) {
	now := time.Now()
	old := time.Date(2024, 12, 31, 23, 5, 0, 0, time.Local)
	setup, seen := answer(protocol.TypeMsgHistory, protocol.MsgHistoryReply{LastSeq: 13, Messages: []protocol.Message{
		{Seq: 11, From: "bob", To: "alice", Text: "hi", TS: old},
		{Seq: 12, From: "alice", To: "bob", Text: "hello\x1b]0;pwned\x07", TS: now},
	}})
	loggedInFake(t, setup)

	out := mustRun(t, "", "history", "bob")
	want := "#11 2024-12-31 23:05 bob: hi\n#12 " + now.Format("15:04") + " alice: hello\uFFFD]0;pwned\uFFFD\n"
	if out != want {
		t.Fatalf("history printed %q, want %q", out, want)
	}
	if q := decodeReq[protocol.MsgHistory](t, seen); q.User != "bob" || q.Limit != protocol.DefaultHistory || q.Before != 0 || q.After != nil {
		t.Fatalf("fake saw %+v", q)
	}

	items := decodeLines(t, mustRun(t, "", "group", "history", "devs", "--limit", "2", "--before", "13", "--after", "10", "--json"))
	if len(items) != 2 || items[0]["seq"] != 11.0 || items[1]["seq"] != 12.0 {
		t.Fatalf("history --json printed %v", items)
	}
	for _, it := range items {
		for _, k := range []string{"seq", "from", "text", "ts"} {
			if _, ok := it[k]; !ok {
				t.Fatalf("item %v lacks %q", it, k)
			}
		}
	}
	if q := decodeReq[protocol.MsgHistory](t, seen); q.Group != "devs" || q.Limit != 2 || q.Before != 13 || q.After == nil || *q.After != 10 {
		t.Fatalf("fake saw %+v", q)
	}
}

// TestHistoryMarksRead: history moves the read marker to the newest message
// it shows; a failure to do so is a warning (none for not_found), and
// history still succeeds.
func TestHistoryMarksRead(t *testing.T) {
	historySetup, _ := answer(protocol.TypeMsgHistory, protocol.MsgHistoryReply{LastSeq: 20, Messages: []protocol.Message{
		{Seq: 11, From: "bob", Text: "hi"}, {Seq: 12, From: "alice", Text: "hello"},
	}})
	readErr := make(chan protocol.Code, 1)
	reads := make(chan protocol.Request, 4)
	loggedInFake(t, historySetup, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgRead] = func(c *clifake.Conn, req protocol.Request) {
			if err := validate(req); err != nil {
				c.Fail(req.ID, protocol.CodeOf(err), err.Error())
				return
			}
			reads <- req
			select {
			case code := <-readErr:
				c.Fail(req.ID, code, "no luck")
			default:
				c.Reply(req.ID, protocol.MsgReadReply{Seq: 15}) // an earlier, newer marker stays
			}
		}
	})

	code, _, stderr := huddle(t, "", "history", "bob", "--before", "13")
	if code != 0 || stderr != "" {
		t.Fatalf("history: exit %d, stderr %q", code, stderr)
	}
	if r := decodeReq[protocol.MsgRead](t, reads); r.Conversation != client.UserChat("bob") || r.Seq != 12 {
		t.Fatalf("fake saw msg.read %+v, want bob up to 12", r)
	}
	mustRun(t, "", "group", "history", "devs", "--json")
	if r := decodeReq[protocol.MsgRead](t, reads); r.Conversation != client.GroupChat("devs") || r.Seq != 12 {
		t.Fatalf("fake saw msg.read %+v, want devs up to 12", r)
	}

	readErr <- protocol.CodeNotFound // no marker yet: not worth a word
	if code, _, stderr := huddle(t, "", "history", "bob"); code != 0 || stderr != "" {
		t.Fatalf("history with msg.read not_found: exit %d, stderr %q", code, stderr)
	}
	readErr <- protocol.CodeUnavailable
	code, stdout, stderr := huddle(t, "", "history", "bob")
	if code != 0 || !strings.Contains(stdout, "#12 ") || stderr != "huddle: warning: mark read: unavailable: no luck\n" {
		t.Fatalf("history with msg.read failing: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	readErr <- protocol.CodeInternal
	code, stdout, stderr = huddle(t, "", "history", "bob", "--json")
	if code != 0 || len(decodeLines(t, stdout)) != 2 || stderr != `{"warning":{"code":"internal","message":"mark read: no luck"}}`+"\n" {
		t.Fatalf("history --json with msg.read failing: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHistoryEmpty(t *testing.T) {
	setup, _ := answer(protocol.TypeMsgHistory, protocol.MsgHistoryReply{})
	readSetup, reads := answer(protocol.TypeMsgRead, protocol.MsgReadReply{})
	loggedInFake(t, setup, readSetup)
	defer func() {
		if len(reads) > 0 {
			t.Error("msg.read sent for an empty history")
		}
	}()
	if out := mustRun(t, "", "history", "bob"); out != "no messages\n" {
		t.Fatalf("history printed %q", out)
	}
	if out := mustRun(t, "", "history", "bob", "--json"); out != "" {
		t.Fatalf("history --json printed %q", out)
	}
}

func TestGroupsAgainstFake(t *testing.T) {
	info := protocol.GroupInfo{Group: "devs", Owner: "alice", Members: 1, Role: protocol.RoleOwner}
	createSetup, created := answer(protocol.TypeGroupCreate, info)
	addSetup, added := answer(protocol.TypeGroupAdd, protocol.GroupUsersReply{Group: "devs", Users: []string{"bob", "carol"}, Members: 3})
	removeSetup, _ := answer(protocol.TypeGroupRemove, protocol.GroupUsersReply{Group: "devs", Members: 3})
	leaveSetup, left := answer(protocol.TypeGroupLeave, protocol.Empty{})
	deleteSetup, _ := answer(protocol.TypeGroupDelete, protocol.Empty{})
	roleSetup, roles := answer(protocol.TypeGroupRole, protocol.Empty{})
	membersSetup, _ := answer(protocol.TypeGroupMembers, protocol.GroupMembersReply{Group: "devs", Members: []protocol.GroupMember{
		{User: "alice", Role: protocol.RoleOwner, Online: true},
		{User: "bob", Role: protocol.RoleMember},
	}})
	listSetup, _ := answer(protocol.TypeGroupList, protocol.GroupListReply{Groups: []protocol.GroupInfo{info}})
	loggedInFake(t, createSetup, addSetup, removeSetup, leaveSetup, deleteSetup, roleSetup, membersSetup, listSetup)

	if out := mustRun(t, "", "group", "create", "devs"); out != "created group devs\n" {
		t.Fatalf("group create printed %q", out)
	}
	if g := decodeReq[protocol.GroupName](t, created); g.Group != "devs" {
		t.Fatalf("fake saw %+v", g)
	}
	if out := mustRun(t, "", "group", "add", "devs", "bob", "carol"); out != "added bob, carol: devs now has 3 member(s)\n" {
		t.Fatalf("group add printed %q", out)
	}
	if g := decodeReq[protocol.GroupUsers](t, added); g.Group != "devs" || strings.Join(g.Users, ",") != "bob,carol" {
		t.Fatalf("fake saw %+v", g)
	}
	if m := decodeLines(t, mustRun(t, "", "group", "remove", "devs", "dave", "--json"))[0]; m["users"] == nil {
		t.Fatalf("group remove --json printed %v: users must be a list", m)
	}
	if out := mustRun(t, "", "group", "role", "devs", "bob", "admin"); out != "bob is now an admin of devs\n" {
		t.Fatalf("group role printed %q", out)
	}
	if r := decodeReq[protocol.GroupRole](t, roles); r != (protocol.GroupRole{Group: "devs", User: "bob", Role: "admin"}) {
		t.Fatalf("fake saw %+v", r)
	}

	items := decodeLines(t, mustRun(t, "", "group", "members", "devs", "--json"))
	if len(items) != 2 || items[0]["user"] != "alice" || items[0]["role"] != "owner" || items[1]["user"] != "bob" || items[1]["role"] != "member" {
		t.Fatalf("group members --json printed %v", items)
	}
	if out := mustRun(t, "", "group", "members", "devs"); out != "alice  owner   online\nbob    member  offline\n" {
		t.Fatalf("group members printed %q", out)
	}
	if out := mustRun(t, "", "group", "list"); out != "devs  owner  1 member(s)  owner alice\n" {
		t.Fatalf("group list printed %q", out)
	}

	if m := decodeLines(t, mustRun(t, "", "group", "leave", "devs", "--json"))[0]; m["group"] != "devs" || m["left"] != true {
		t.Fatalf("group leave --json printed %v", m)
	}
	if g := decodeReq[protocol.GroupName](t, left); g.Group != "devs" {
		t.Fatalf("fake saw %+v", g)
	}
	if out := mustRun(t, "", "group", "delete", "devs"); out != "deleted devs\n" {
		t.Fatalf("group delete printed %q", out)
	}
}

func TestUnreadAgainstFake(t *testing.T) {
	setup, _ := answer(protocol.TypeMsgUnread, protocol.MsgUnreadReply{Unread: []protocol.UnreadCount{
		{User: "bob", Count: 2, LastSeq: 9},
		{Group: "devs", Count: 10, LastSeq: 40},
	}})
	loggedInFake(t, setup)
	if out := mustRun(t, "", "unread"); out != "bob     2 unread   last #9\n[devs]  10 unread  last #40\n" {
		t.Fatalf("unread printed %q", out)
	}
	if items := decodeLines(t, mustRun(t, "", "unread", "--json")); len(items) != 2 || items[1]["group"] != "devs" || items[1]["count"] != 10.0 {
		t.Fatalf("unread --json printed %v", items)
	}
}

func TestLoginShowsUnread(t *testing.T) {
	startFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeAuthLogin] = clifake.Reply(protocol.Session{User: "alice", Token: "tok-alice",
			Unread: []protocol.UnreadCount{{User: "bob", Count: 2}, {Group: "devs", Count: 1}}})
	})
	if out := mustRun(t, "correct horse\n", "login", "alice"); !strings.Contains(out, "unread messages: bob (2), [devs] (1)") {
		t.Fatalf("login printed %q", out)
	}
}

func TestClock(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.Local)
	for _, tt := range []struct {
		ts   time.Time
		want string
	}{
		{time.Date(2025, 3, 1, 9, 7, 0, 0, time.Local), "09:07"},
		{time.Date(2025, 2, 28, 23, 59, 0, 0, time.Local), "2025-02-28 23:59"},
		{time.Date(2024, 3, 1, 9, 7, 0, 0, time.Local), "2024-03-01 09:07"},
	} {
		if got := clock(tt.ts, now); got != tt.want {
			t.Errorf("clock(%v) = %q, want %q", tt.ts, got, tt.want)
		}
	}
}
