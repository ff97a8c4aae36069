package client

import (
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// recorder keeps the requests that its handlers answer.
type recorder struct {
	mu   sync.Mutex
	seen []protocol.Request
}

func (r *recorder) handler(reply any) clifake.Handler {
	return func(c *clifake.Conn, req protocol.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req)
		r.mu.Unlock()
		c.Reply(req.ID, reply)
	}
}

func (r *recorder) last(t *testing.T) protocol.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		t.Fatal("no request reached the server")
	}
	return r.seen[len(r.seen)-1]
}

// decodeAs decodes req's data into a new T with the server's strict check.
func decodeAs[T any](t *testing.T, req protocol.Request) T {
	t.Helper()
	var v T
	if err := protocol.DecodeData(req.Data, &v); err != nil {
		t.Fatalf("%s data %s: %v", req.Type, req.Data, err)
	}
	return v
}

func TestSendGeneratesClientMsgID(t *testing.T) {
	var r recorder
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgSend] = r.handler(protocol.MsgSendReply{Seq: 7})
	})
	c := dial(t, s)
	ids := map[string]bool{}
	for range 3 {
		out, err := c.Send(testCtx(t), UserChat("bob"), "hello", "")
		if err != nil || out.Seq != 7 {
			t.Fatalf("Send = %+v, %v", out, err)
		}
		m := decodeAs[protocol.MsgSend](t, r.last(t))
		if m.User != "bob" || m.Group != "" || m.Text != "hello" || len(m.ClientMsgID) != 32 {
			t.Fatalf("server saw %+v", m)
		}
		ids[m.ClientMsgID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("3 sends used %d distinct ids", len(ids))
	}
	if _, err := c.Send(testCtx(t), GroupChat("devs"), "hi all", "my-id:1"); err != nil {
		t.Fatal(err)
	}
	if m := decodeAs[protocol.MsgSend](t, r.last(t)); m.Group != "devs" || m.ClientMsgID != "my-id:1" {
		t.Fatalf("server saw %+v", m)
	}
}

func TestNewClientMsgIDValid(t *testing.T) {
	for range 100 {
		if id := NewClientMsgID(); protocol.CheckClientMsgID(id) != nil {
			t.Fatalf("NewClientMsgID() = %q is not valid", id)
		}
	}
}

// TestSendRetryKeepsID is the retry the id exists for: the connection drops
// after the server stored the message but before its reply; the resend on a
// new connection with the same id gets the original seq.
func TestSendRetryKeepsID(t *testing.T) {
	var (
		mu     sync.Mutex
		stored = map[string]int64{}
	)
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgSend] = func(c *clifake.Conn, req protocol.Request) {
			var m protocol.MsgSend
			if err := protocol.DecodeData(req.Data, &m); err != nil {
				c.Fail(req.ID, protocol.CodeOf(err), err.Error())
				return
			}
			mu.Lock()
			seq, dup := stored[m.ClientMsgID]
			if !dup {
				seq = int64(len(stored) + 1)
				stored[m.ClientMsgID] = seq
			}
			mu.Unlock()
			if !dup {
				c.Close() // stored, but the reply is lost
				return
			}
			c.Reply(req.ID, protocol.MsgSendReply{Seq: seq, Duplicate: true})
		}
	})
	c := dial(t, s)
	if _, err := c.Login(testCtx(t), "alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	id := NewClientMsgID()
	_, err := c.Send(testCtx(t), UserChat("bob"), "hello", id)
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("first Send: %v, want ErrConnectionLost", err)
	}
	if err := c.Reconnect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	out, err := c.Send(testCtx(t), UserChat("bob"), "hello", id)
	if err != nil || out.Seq != 1 || !out.Duplicate {
		t.Fatalf("retry = %+v, %v; want seq 1, duplicate", out, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 1 {
		t.Fatalf("%d messages stored", len(stored))
	}
}

func TestChatRequests(t *testing.T) {
	var r recorder
	history := protocol.MsgHistoryReply{LastSeq: 9, Messages: []protocol.Message{{Seq: 8, From: "bob", Text: "a"}, {Seq: 9, From: "alice", Text: "b"}}}
	unread := protocol.MsgUnreadReply{Unread: []protocol.UnreadCount{{User: "bob", Count: 2, LastSeq: 9}}}
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeMsgHistory] = r.handler(history)
		s.Handlers[protocol.TypeMsgRead] = r.handler(protocol.MsgReadReply{Seq: 9})
		s.Handlers[protocol.TypeMsgTyping] = r.handler(protocol.Empty{})
		s.Handlers[protocol.TypeMsgUnread] = r.handler(unread)
	})
	c := dial(t, s)
	ctx := testCtx(t)

	h, err := c.History(ctx, protocol.MsgHistory{Conversation: GroupChat("devs"), Before: 10, Limit: 2})
	if err != nil || !reflect.DeepEqual(h, history) {
		t.Fatalf("History = %+v, %v", h, err)
	}
	if q := decodeAs[protocol.MsgHistory](t, r.last(t)); q.Group != "devs" || q.Before != 10 || q.After != nil || q.Limit != 2 {
		t.Fatalf("server saw %+v", q)
	}
	if seq, err := c.MarkRead(ctx, UserChat("bob"), 12); err != nil || seq != 9 {
		t.Fatalf("MarkRead = %d, %v", seq, err)
	}
	if q := decodeAs[protocol.MsgRead](t, r.last(t)); q.User != "bob" || q.Seq != 12 {
		t.Fatalf("server saw %+v", q)
	}
	if err := c.Typing(ctx, UserChat("bob")); err != nil {
		t.Fatal(err)
	}
	if q := decodeAs[protocol.MsgTyping](t, r.last(t)); q.User != "bob" {
		t.Fatalf("server saw %+v", q)
	}
	if u, err := c.Unread(ctx); err != nil || !reflect.DeepEqual(u, unread.Unread) {
		t.Fatalf("Unread = %+v, %v", u, err)
	}
	if typ := r.last(t).Type; typ != protocol.TypeMsgUnread {
		t.Fatalf("last request %s", typ)
	}
}

func TestGroupRequests(t *testing.T) {
	var r recorder
	info := protocol.GroupInfo{Group: "devs", Owner: "alice", Members: 1, Role: protocol.RoleOwner}
	users := protocol.GroupUsersReply{Group: "devs", Users: []string{"bob", "carol"}, Members: 3}
	members := protocol.GroupMembersReply{Group: "devs", Members: []protocol.GroupMember{{User: "alice", Role: protocol.RoleOwner}, {User: "bob", Role: protocol.RoleMember}}}
	s := clifake.Start(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeGroupCreate] = r.handler(info)
		s.Handlers[protocol.TypeGroupAdd] = r.handler(users)
		s.Handlers[protocol.TypeGroupRemove] = r.handler(users)
		s.Handlers[protocol.TypeGroupLeave] = r.handler(protocol.Empty{})
		s.Handlers[protocol.TypeGroupDelete] = r.handler(protocol.Empty{})
		s.Handlers[protocol.TypeGroupRole] = r.handler(protocol.Empty{})
		s.Handlers[protocol.TypeGroupMembers] = r.handler(members)
		s.Handlers[protocol.TypeGroupList] = r.handler(protocol.GroupListReply{Groups: []protocol.GroupInfo{info}})
	})
	c := dial(t, s)
	ctx := testCtx(t)
	wantData := func(typ string, want any) {
		t.Helper()
		req := r.last(t)
		got, _ := json.Marshal(want)
		if req.Type != typ || string(req.Data) != string(got) {
			t.Fatalf("server saw %s %s, want %s %s", req.Type, req.Data, typ, got)
		}
	}

	if g, err := c.GroupCreate(ctx, "devs"); err != nil || g != info {
		t.Fatalf("GroupCreate = %+v, %v", g, err)
	}
	wantData(protocol.TypeGroupCreate, protocol.GroupName{Group: "devs"})
	if u, err := c.GroupAdd(ctx, "devs", "bob", "carol"); err != nil || !reflect.DeepEqual(u, users) {
		t.Fatalf("GroupAdd = %+v, %v", u, err)
	}
	wantData(protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"bob", "carol"}})
	if _, err := c.GroupRemove(ctx, "devs", "carol"); err != nil {
		t.Fatal(err)
	}
	wantData(protocol.TypeGroupRemove, protocol.GroupUsers{Group: "devs", Users: []string{"carol"}})
	if err := c.GroupRole(ctx, "devs", "bob", protocol.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	wantData(protocol.TypeGroupRole, protocol.GroupRole{Group: "devs", User: "bob", Role: protocol.RoleAdmin})
	if m, err := c.GroupMembers(ctx, "devs"); err != nil || !reflect.DeepEqual(m, members.Members) {
		t.Fatalf("GroupMembers = %+v, %v", m, err)
	}
	wantData(protocol.TypeGroupMembers, protocol.GroupName{Group: "devs"})
	if l, err := c.GroupList(ctx); err != nil || len(l) != 1 || l[0] != info {
		t.Fatalf("GroupList = %+v, %v", l, err)
	}
	wantData(protocol.TypeGroupList, protocol.GroupList{})
	if err := c.GroupLeave(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
	wantData(protocol.TypeGroupLeave, protocol.GroupName{Group: "devs"})
	if err := c.GroupDelete(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
	wantData(protocol.TypeGroupDelete, protocol.GroupName{Group: "devs"})
}
