package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
)

// sendPipelined sends text once per id, all at once from goroutines of
// their own, and returns when every reply is in; a failed send fails t
// (from the test's goroutine: FailNow may not be called from others).
func sendPipelined(t *testing.T, c *clientT, to protocol.Conversation, text string, ids ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := c.Call(context.Background(), protocol.TypeMsgSend, protocol.MsgSend{Conversation: to, ClientMsgID: id, Text: text}, nil); err != nil {
				t.Errorf("send %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func send(t *testing.T, c *clientT, to protocol.Conversation, id, text string) protocol.MsgSendReply {
	t.Helper()
	var out protocol.MsgSendReply
	call(t, c, protocol.TypeMsgSend, protocol.MsgSend{Conversation: to, ClientMsgID: id, Text: text}, &out)
	return out
}

func history(t *testing.T, c *clientT, q protocol.MsgHistory) []protocol.Message {
	t.Helper()
	var out protocol.MsgHistoryReply
	call(t, c, protocol.TypeMsgHistory, q, &out)
	return out.Messages
}

// seqs returns the seqs of msgs, in order.
func seqs(msgs []protocol.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func wantSeqs(t *testing.T, what string, msgs []protocol.Message, from, to int64) {
	t.Helper()
	got := seqs(msgs)
	if len(got) != int(to-from+1) {
		t.Fatalf("%s: seqs %v, want %d..%d", what, got, from, to)
	}
	for i, s := range got {
		if s != from+int64(i) {
			t.Fatalf("%s: seqs %v, want %d..%d", what, got, from, to)
		}
	}
}

func TestPrivateChat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a1, _ := e.newUser("alice")
		a2, _ := e.login("alice")
		e.register(e.dial(), "bob")
		bob := protocol.Conversation{User: "bob"}

		// bob is offline: alice's messages wait for him; her other session sees them.
		for i := 1; i <= 3; i++ {
			r := send(t, a1, bob, fmt.Sprintf("a-%d", i), fmt.Sprintf("hello %d", i))
			if r.Seq != int64(i) || r.Duplicate || r.TS.IsZero() {
				t.Fatalf("send %d: %+v", i, r)
			}
			var m protocol.Message
			expectPush(t, a2, protocol.PushMsgNew, &m)
			if m.Seq != int64(i) || m.From != "alice" || m.To != "bob" || m.Text != fmt.Sprintf("hello %d", i) {
				t.Fatalf("alice's other session got %+v", m)
			}
		}
		noPush(t, a1, protocol.PushMsgNew, 100*time.Millisecond) // not to the sending session

		b, bs := e.login("bob")
		if len(bs.Unread) != 1 || bs.Unread[0] != (protocol.UnreadCount{User: "alice", Count: 3, LastSeq: 3}) {
			t.Fatalf("bob's unread at login: %+v", bs.Unread)
		}
		msgs := history(t, b, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}})
		wantSeqs(t, "bob's history", msgs, 1, 3)
		if msgs[0].From != "alice" || msgs[0].Text != "hello 1" || msgs[0].ClientMsgID != "a-1" {
			t.Fatalf("first message %+v", msgs[0])
		}

		// bob answers: both of alice's sessions get it.
		r := send(t, b, protocol.Conversation{User: "alice"}, "b-1", "hi alice")
		if r.Seq != 4 {
			t.Fatalf("bob's reply seq %d", r.Seq)
		}
		for _, a := range []*clientT{a1, a2} {
			var m protocol.Message
			expectPush(t, a, protocol.PushMsgNew, &m)
			if m.Seq != 4 || m.From != "bob" || m.Text != "hi alice" {
				t.Fatalf("alice got %+v", m)
			}
		}

		// Read markers: bob reads up to 3; alice gets a receipt.
		var rr protocol.MsgReadReply
		call(t, b, protocol.TypeMsgRead, protocol.MsgRead{Conversation: protocol.Conversation{User: "alice"}, Seq: 3}, &rr)
		if rr.Seq != 3 {
			t.Fatalf("read marker %d", rr.Seq)
		}
		var receipt protocol.ReadReceipt
		expectPush(t, a1, protocol.PushMsgRead, &receipt)
		if receipt != (protocol.ReadReceipt{User: "bob", Peer: "alice", Seq: 3}) {
			t.Fatalf("receipt %+v", receipt)
		}
		call(t, b, protocol.TypeMsgRead, protocol.MsgRead{Conversation: protocol.Conversation{User: "alice"}, Seq: 1}, &rr)
		if rr.Seq != 3 {
			t.Fatalf("read marker moved back to %d", rr.Seq)
		}
		noPush(t, a1, protocol.PushMsgRead, 100*time.Millisecond) // the marker did not move
		var un protocol.MsgUnreadReply
		call(t, a1, protocol.TypeMsgUnread, nil, &un)
		if len(un.Unread) != 1 || un.Unread[0] != (protocol.UnreadCount{User: "bob", Count: 1, LastSeq: 4}) {
			t.Fatalf("alice's unread: %+v", un.Unread)
		}
		call(t, b, protocol.TypeMsgUnread, nil, &un)
		if len(un.Unread) != 0 {
			t.Fatalf("bob's unread after reading: %+v", un.Unread)
		}

		// Typing goes to the other side only.
		call(t, b, protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: protocol.Conversation{User: "alice"}}, nil)
		var typing protocol.Typing
		expectPush(t, a2, protocol.PushMsgTyping, &typing)
		if typing.User != "bob" {
			t.Fatalf("typing %+v", typing)
		}

		// Paging: 4 + 16 = 20 messages.
		for i := 0; i < 16; i++ {
			send(t, a1, bob, fmt.Sprintf("p-%d", i), "page")
		}
		wantSeqs(t, "newest 5", history(t, b, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}, Limit: 5}), 16, 20)
		wantSeqs(t, "before 16", history(t, b, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}, Limit: 5, Before: 16}), 11, 15)
		wantSeqs(t, "after 2", history(t, b, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}, Limit: 5, After: new(int64(2))}), 3, 7)
		wantSeqs(t, "between", history(t, b, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}, Limit: 50, After: new(int64(17)), Before: 20}), 18, 19)
		wantSeqs(t, "all", history(t, a1, protocol.MsgHistory{Conversation: bob, Limit: 200}), 1, 20)

		// Nobody else reads alice and bob's conversation: a third user's
		// "conversation with alice" is their own, and empty.
		c, _ := e.newUser("carol")
		if msgs := history(t, c, protocol.MsgHistory{Conversation: protocol.Conversation{User: "alice"}}); len(msgs) != 0 {
			t.Fatalf("carol sees %d messages", len(msgs))
		}
	})
}

func TestSendIsIdempotent(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
			a, sess := e.newUser("dora")
			e.register(e.dial(), "eve")
			e.register(e.dial(), "finn")
			eve := protocol.Conversation{User: "eve"}
			first := send(t, a, eve, "same-id", "once")
			again := send(t, a, eve, "same-id", "once")
			if again.Seq != first.Seq || !again.Duplicate || !again.TS.Equal(first.TS) {
				t.Fatalf("retry %+v, original %+v", again, first)
			}
			// Pipelined duplicates land in one batch: still one message.
			var wg sync.WaitGroup
			replies := make([]protocol.MsgSendReply, 8)
			for i := range replies {
				wg.Go(func() { replies[i] = send(t, a, eve, "burst-id", "burst") })
			}
			wg.Wait()
			for _, r := range replies {
				if r.Seq != 2 {
					t.Fatalf("burst replies %+v", replies)
				}
			}
			callErr(t, a, protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "finn"}, ClientMsgID: "same-id", Text: "elsewhere"}, protocol.CodeConflict)
			a.Close()
			testutil.StopServer(t, e.srv)

			e.srv = testutil.StartServer(t, cfg)
			a = e.dial()
			call(t, a, protocol.TypeAuthResume, protocol.Resume{Token: sess.Token}, nil)
			after := send(t, a, eve, "same-id", "once")
			if after.Seq != first.Seq || !after.Duplicate {
				t.Fatalf("retry after restart %+v, original %+v", after, first)
			}
			if next := send(t, a, eve, "new-id", "next"); next.Seq != 3 {
				t.Fatalf("next seq after restart %d", next.Seq)
			}
			wantSeqs(t, "history", history(t, a, protocol.MsgHistory{Conversation: eve}), 1, 3)
		})
	}
}

func TestGroupChat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		o, _ := e.newUser("owner")
		m1, _ := e.newUser("member1")
		m2, _ := e.newUser("member2")
		x, _ := e.newUser("outsider")
		devs := protocol.Conversation{Group: "devs"}

		var info protocol.GroupInfo
		call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "devs"}, &info)
		if info.Group != "devs" || info.Owner != "owner" || info.Members != 1 || info.Role != protocol.RoleOwner {
			t.Fatalf("create: %+v", info)
		}
		callErr(t, x, protocol.TypeGroupCreate, protocol.GroupName{Group: "devs"}, protocol.CodeConflict)
		callErr(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"member1", "ghost"}}, protocol.CodeNotFound)
		callErr(t, x, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"outsider"}}, protocol.CodeForbidden)
		var added protocol.GroupUsersReply
		call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"member1", "member2"}}, &added)
		if added.Members != 3 || len(added.Users) != 2 {
			t.Fatalf("add: %+v", added)
		}
		var ev protocol.GroupEvent
		expectPush(t, m1, protocol.PushGroupAdded, &ev)
		if ev.Group != "devs" || ev.By != "owner" {
			t.Fatalf("group.added %+v", ev)
		}

		// A non-member can neither send nor read.
		callErr(t, x, protocol.TypeMsgSend, protocol.MsgSend{Conversation: devs, ClientMsgID: "x1", Text: "let me in"}, protocol.CodeForbidden)
		callErr(t, x, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: devs}, protocol.CodeForbidden)
		callErr(t, x, protocol.TypeGroupMembers, protocol.GroupName{Group: "devs"}, protocol.CodeForbidden)

		// A message reaches every other member.
		if r := send(t, m1, devs, "m1-1", "hello devs"); r.Seq != 1 {
			t.Fatalf("first group seq %d", r.Seq)
		}
		for _, c := range []*clientT{o, m2} {
			var m protocol.Message
			expectPush(t, c, protocol.PushMsgNew, &m)
			if m.Group != "devs" || m.From != "member1" || m.Seq != 1 || m.Text != "hello devs" {
				t.Fatalf("group push %+v", m)
			}
		}
		noPush(t, x, protocol.PushMsgNew, 100*time.Millisecond)

		var members protocol.GroupMembersReply
		call(t, m2, protocol.TypeGroupMembers, protocol.GroupName{Group: "devs"}, &members)
		if len(members.Members) != 3 || members.Members[0] != (protocol.GroupMember{User: "member1", Role: protocol.RoleMember, Online: true}) ||
			members.Members[2].User != "owner" || members.Members[2].Role != protocol.RoleOwner {
			t.Fatalf("members %+v", members)
		}
		var list protocol.GroupListReply
		call(t, m2, protocol.TypeGroupList, nil, &list)
		if len(list.Groups) != 1 || list.Groups[0].Group != "devs" || list.Groups[0].Members != 3 {
			t.Fatalf("group list %+v", list)
		}

		// Roles: an admin may add and remove members, not the owner.
		callErr(t, m1, protocol.TypeGroupRole, protocol.GroupRole{Group: "devs", User: "member2", Role: protocol.RoleAdmin}, protocol.CodeForbidden)
		call(t, o, protocol.TypeGroupRole, protocol.GroupRole{Group: "devs", User: "member1", Role: protocol.RoleAdmin}, nil)
		callErr(t, m1, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "devs", Users: []string{"owner"}}, protocol.CodeForbidden)

		// Removal takes effect at once: no more sends, reads or pushes.
		call(t, m1, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "devs", Users: []string{"member2"}}, nil)
		expectPush(t, m2, protocol.PushGroupRemoved, &ev)
		if ev.User != "member2" || ev.By != "member1" {
			t.Fatalf("group.removed %+v", ev)
		}
		callErr(t, m2, protocol.TypeMsgSend, protocol.MsgSend{Conversation: devs, ClientMsgID: "m2-1", Text: "still here?"}, protocol.CodeForbidden)
		callErr(t, m2, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: devs}, protocol.CodeForbidden)
		send(t, o, devs, "o-1", "after removal")
		noPush(t, m2, protocol.PushMsgNew, 200*time.Millisecond)
		wantSeqs(t, "group history", history(t, m1, protocol.MsgHistory{Conversation: devs}), 1, 2)

		// Leaving; the owner can neither leave nor be removed.
		callErr(t, o, protocol.TypeGroupLeave, protocol.GroupName{Group: "devs"}, protocol.CodeForbidden)
		callErr(t, m1, protocol.TypeGroupDelete, protocol.GroupName{Group: "devs"}, protocol.CodeForbidden)
		call(t, m1, protocol.TypeGroupLeave, protocol.GroupName{Group: "devs"}, nil)
		expectPush(t, o, protocol.PushGroupRemoved, &ev) // member2's removal
		expectPush(t, o, protocol.PushGroupRemoved, &ev)
		if ev.User != "member1" || ev.By != "member1" {
			t.Fatalf("leave push %+v", ev)
		}

		// Deleting: members are told; the name is free again, history is not kept.
		call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs", Users: []string{"member2"}}, nil)
		call(t, o, protocol.TypeGroupDelete, protocol.GroupName{Group: "devs"}, nil)
		expectPush(t, m2, protocol.PushGroupDeleted, &ev)
		callErr(t, o, protocol.TypeMsgSend, protocol.MsgSend{Conversation: devs, ClientMsgID: "o-2", Text: "gone"}, protocol.CodeNotFound)
		call(t, x, protocol.TypeGroupCreate, protocol.GroupName{Group: "devs"}, nil)
		if msgs := history(t, x, protocol.MsgHistory{Conversation: devs}); len(msgs) != 0 {
			t.Fatalf("a new group of the old name sees %d old messages", len(msgs))
		}
	})
}

func TestChatBadInput(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Chat.MaxText = 100
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("gwen")
	e.register(e.dial(), "hugo")
	hugo := protocol.Conversation{User: "hugo"}
	for _, tc := range []struct {
		name string
		typ  string
		data any
		want protocol.Code
	}{
		{"empty text", protocol.TypeMsgSend, protocol.MsgSend{Conversation: hugo, ClientMsgID: "1", Text: ""}, protocol.CodeBadRequest},
		{"text over the limit", protocol.TypeMsgSend, protocol.MsgSend{Conversation: hugo, ClientMsgID: "2", Text: strings.Repeat("x", 101)}, protocol.CodeTooLarge},
		{"unknown group", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{Group: "nogroup"}, ClientMsgID: "3", Text: "hi"}, protocol.CodeNotFound},
		{"unknown user", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "nobody"}, ClientMsgID: "4", Text: "hi"}, protocol.CodeNotFound},
		{"missing client_msg_id", protocol.TypeMsgSend, protocol.MsgSend{Conversation: hugo, Text: "hi"}, protocol.CodeBadRequest},
		{"invalid client_msg_id", protocol.TypeMsgSend, protocol.MsgSend{Conversation: hugo, ClientMsgID: "has space", Text: "hi"}, protocol.CodeBadRequest},
		{"long client_msg_id", protocol.TypeMsgSend, protocol.MsgSend{Conversation: hugo, ClientMsgID: strings.Repeat("a", 65), Text: "hi"}, protocol.CodeBadRequest},
		{"to myself", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "gwen"}, ClientMsgID: "5", Text: "hi"}, protocol.CodeBadRequest},
		{"user and group", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "hugo", Group: "devs"}, ClientMsgID: "6", Text: "hi"}, protocol.CodeBadRequest},
		{"no conversation", protocol.TypeMsgSend, protocol.MsgSend{ClientMsgID: "7", Text: "hi"}, protocol.CodeBadRequest},
		{"history limit", protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: hugo, Limit: 201}, protocol.CodeBadRequest},
		{"history after before", protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: hugo, Before: 3, After: new(int64(5))}, protocol.CodeBadRequest},
		{"read seq 0", protocol.TypeMsgRead, protocol.MsgRead{Conversation: hugo}, protocol.CodeBadRequest},
		{"bad group name", protocol.TypeGroupCreate, protocol.GroupName{Group: "Bad Name"}, protocol.CodeBadRequest},
		{"no users", protocol.TypeGroupAdd, protocol.GroupUsers{Group: "devs"}, protocol.CodeBadRequest},
		{"bad role", protocol.TypeGroupRole, protocol.GroupRole{Group: "devs", User: "hugo", Role: protocol.RoleOwner}, protocol.CodeBadRequest},
		{"unknown field", protocol.TypeMsgSend, map[string]any{"user": "hugo", "client_msg_id": "8", "text": "hi", "extra": 1}, protocol.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) { callErr(t, a, tc.typ, tc.data, tc.want) })
	}
	// The longest text allowed is stored whole.
	r := send(t, a, hugo, "max", strings.Repeat("é", 50))
	msgs := history(t, a, protocol.MsgHistory{Conversation: hugo, After: new(r.Seq - 1)})
	if len(msgs) != 1 || msgs[0].Text != strings.Repeat("é", 50) {
		t.Fatalf("stored %+v", msgs)
	}
}

// TestGroupActorCrash fails a group actor between messages: its supervisor
// restarts it and nothing acknowledged is lost or numbered twice.
func TestGroupActorCrash(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	o, _ := e.newUser("ivan")
	call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "ops"}, nil)
	ops := protocol.Conversation{Group: "ops"}
	for i := 1; i <= 20; i++ {
		if i%5 == 0 {
			e.srv.Hub().Crash("group/ops")
		}
		if r := send(t, o, ops, fmt.Sprintf("c-%d", i), "msg"); r.Seq != int64(i) {
			t.Fatalf("message %d got seq %d", i, r.Seq)
		}
	}
	wantSeqs(t, "after crashes", history(t, o, protocol.MsgHistory{Conversation: ops}), 1, 20)
}

func TestGroupMemberLimit(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Chat.MaxMembers = 2
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	o, _ := e.newUser("pia")
	e.register(e.dial(), "quinn")
	e.register(e.dial(), "ruth")
	call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "tiny"}, nil)
	callErr(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "tiny", Users: []string{"quinn", "ruth"}}, protocol.CodeTooLarge)
	call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "tiny", Users: []string{"quinn"}}, nil)
	callErr(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "tiny", Users: []string{"ruth"}}, protocol.CodeTooLarge)
}
