package server_test

import (
	"fmt"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
)

// rawLogin opens a raw connection logged in as name.
func (e *env) rawLogin(name string) *testutil.RawConn {
	e.t.Helper()
	c := testutil.DialRaw(e.t, e.addr())
	c.Hello()
	c.Request(2, protocol.TypeAuthLogin, protocol.Login{Name: name, Password: password})
	if m := c.Read(); !m.OK {
		e.t.Fatalf("login %s: %+v", name, m.Error)
	}
	return c
}

// readReplies reads n responses, skipping pushes, in the order they come.
func readReplies(t *testing.T, c *testutil.RawConn, n int) []protocol.Incoming {
	t.Helper()
	out := make([]protocol.Incoming, 0, n)
	for len(out) < n {
		if m := c.Read(); !m.IsPush() {
			out = append(out, m)
		}
	}
	return out
}

// TestPipelinedRepliesKeepOrder pipelines sends, history requests, typing
// and a failing send on one connection: the responses come back in request
// order, although the sends wait for their commits and the rest does not.
func TestPipelinedRepliesKeepOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.register(e.dial(), "jack")
		e.register(e.dial(), "kate")
		c := e.rawLogin("jack")
		kate := protocol.Conversation{User: "kate"}
		const rounds = 40
		id := uint64(10)
		for i := range rounds {
			c.Request(id, protocol.TypeMsgSend, protocol.MsgSend{Conversation: kate, ClientMsgID: fmt.Sprintf("p%d", i), Text: "hi"})
			c.Request(id+1, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: kate, Limit: 1})
			c.Request(id+2, protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: kate})
			c.Request(id+3, protocol.TypeMsgSend, protocol.MsgSend{Conversation: kate, ClientMsgID: fmt.Sprintf("q%d", i), Text: string(make([]byte, e.cfg.Chat.MaxText+1))})
			id += 4
		}
		replies := readReplies(t, c, 4*rounds)
		for i, m := range replies {
			if want := uint64(10 + i); m.ID != want {
				t.Fatalf("reply %d has id %d, want %d", i, m.ID, want)
			}
		}
		for i := 0; i < rounds; i++ {
			var sent protocol.MsgSendReply
			if err := protocol.DecodeData(replies[4*i].Data, &sent); err != nil || sent.Seq != int64(i+1) {
				t.Fatalf("send %d: seq %d (%v)", i, sent.Seq, err)
			}
			// History asked after send i sees it.
			var h protocol.MsgHistoryReply
			if err := protocol.DecodeData(replies[4*i+1].Data, &h); err != nil || h.LastSeq < int64(i+1) {
				t.Fatalf("history after send %d: last_seq %d (%v)", i, h.LastSeq, err)
			}
			if e := replies[4*i+3].Error; e == nil || e.Code != protocol.CodeTooLarge {
				t.Fatalf("oversized send %d: %+v", i, replies[4*i+3])
			}
		}
	})
}

// TestActorsPassivate: idle user and conversation actors stop, also after
// their users were online for longer than the idle time, and come back with
// the conversation's state from the database.
func TestActorsPassivate(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Actors.UserIdle = 100 * time.Millisecond
	cfg.Chat.GroupIdle = 100 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("liam")
	b, _ := e.newUser("mona")
	call(t, a, protocol.TypeGroupCreate, protocol.GroupName{Group: "idle"}, nil)
	call(t, a, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "idle", Users: []string{"mona"}}, nil)
	send(t, a, protocol.Conversation{User: "mona"}, "l1", "one")
	send(t, b, protocol.Conversation{Group: "idle"}, "m1", "one")
	time.Sleep(300 * time.Millisecond) // online for longer than the idle time
	a.Close()
	b.Close()
	waitLive(t, e, 0)

	a, _ = e.login("liam")
	if r := send(t, a, protocol.Conversation{User: "mona"}, "l2", "two"); r.Seq != 2 {
		t.Fatalf("private seq after passivation %d", r.Seq)
	}
	if r := send(t, a, protocol.Conversation{Group: "idle"}, "l3", "two"); r.Seq != 2 {
		t.Fatalf("group seq after passivation %d", r.Seq)
	}
	callErr(t, a, protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "nobody"}, ClientMsgID: "l4", Text: "x"}, protocol.CodeNotFound)
	a.Close()
	waitLive(t, e, 0)
}

func waitLive(t *testing.T, e *env, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Hub().Stats().LiveActors != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d actors live, want %d", e.srv.Hub().Stats().LiveActors, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPassivationKeepsOrder sends pipelined bursts with pauses around the
// idle time, so that actors stop and start between and inside bursts: one
// sender's messages keep their order and numbering.
func TestPassivationKeepsOrder(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Chat.GroupIdle = 20 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	e.register(e.dial(), "nina")
	e.register(e.dial(), "otto")
	c := e.rawLogin("nina")
	otto := protocol.Conversation{User: "otto"}
	id, seq := uint64(10), int64(0)
	for burst := range 15 {
		n := 1 + burst%4
		for i := range n {
			c.Request(id+uint64(i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: otto, ClientMsgID: fmt.Sprintf("b%d-%d", burst, i), Text: "x"})
		}
		for i, m := range readReplies(t, c, n) {
			var r protocol.MsgSendReply
			if err := protocol.DecodeData(m.Data, &r); err != nil || m.ID != id+uint64(i) || r.Seq != seq+1 {
				t.Fatalf("burst %d reply %d: id %d seq %d (%v), want id %d seq %d", burst, i, m.ID, r.Seq, err, id+uint64(i), seq+1)
			}
			seq++
		}
		id += uint64(n)
		time.Sleep(time.Duration(burst%3) * 15 * time.Millisecond)
	}
}

// TestCrashWithMessagesInFlight fails a group actor while its messages wait
// at the writer: every one is answered once, in order, gaplessly.
func TestCrashWithMessagesInFlight(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	o, _ := e.newUser("pete")
	call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "crashy"}, nil)
	c := e.rawLogin("pete")
	const n = 60
	for i := range n {
		c.Request(uint64(10+i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{Group: "crashy"}, ClientMsgID: fmt.Sprintf("f%d", i), Text: "x"})
		if i%15 == 7 {
			e.srv.Hub().Crash("group/crashy")
		}
	}
	for i, m := range readReplies(t, c, n) {
		var r protocol.MsgSendReply
		if err := protocol.DecodeData(m.Data, &r); err != nil || m.ID != uint64(10+i) || r.Seq != int64(i+1) {
			t.Fatalf("reply %d: id %d seq %d %+v", i, m.ID, r.Seq, m.Error)
		}
	}
	wantSeqs(t, "after crashes", history(t, o, protocol.MsgHistory{Conversation: protocol.Conversation{Group: "crashy"}, Limit: 200}), 1, n)
}

// TestSendAfterLogout: a send pipelined behind auth.logout is refused.
func TestSendAfterLogout(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	e.register(e.dial(), "quin")
	e.register(e.dial(), "rosa")
	c := e.rawLogin("quin")
	c.Request(10, protocol.TypeAuthLogout, nil)
	c.Request(11, protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "rosa"}, ClientMsgID: "late", Text: "x"})
	// The two go to different actors: their replies may come in any order.
	byID := map[uint64]protocol.Incoming{}
	for _, m := range readReplies(t, c, 2) {
		byID[m.ID] = m
	}
	if !byID[10].OK {
		t.Fatalf("logout: %+v", byID[10])
	}
	if m := byID[11]; m.Error == nil || m.Error.Code != protocol.CodeUnauthorized {
		t.Fatalf("send after logout: %+v", m)
	}
	r, _ := e.login("rosa")
	if msgs := history(t, r, protocol.MsgHistory{Conversation: protocol.Conversation{User: "quin"}}); len(msgs) != 0 {
		t.Fatalf("stored after logout: %+v", msgs)
	}
}

// TestGroupDeleteWaitsForPendingSends pipelines sends and the delete on one
// connection: the sends are answered first, then the delete takes their
// messages along.
func TestGroupDeleteWaitsForPendingSends(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		o, _ := e.newUser("sami")
		call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "brief"}, nil)
		c := e.rawLogin("sami")
		for i := range 20 {
			c.Request(uint64(10+i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{Group: "brief"}, ClientMsgID: fmt.Sprintf("d%d", i), Text: "x"})
		}
		c.Request(30, protocol.TypeGroupDelete, protocol.GroupName{Group: "brief"})
		for i, m := range readReplies(t, c, 21) {
			if m.ID != uint64(10+i) || !m.OK {
				t.Fatalf("reply %d: %+v", i, m)
			}
		}
		call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "brief"}, nil)
		if msgs := history(t, o, protocol.MsgHistory{Conversation: protocol.Conversation{Group: "brief"}}); len(msgs) != 0 {
			t.Fatalf("the new group sees %d messages of the deleted one", len(msgs))
		}
	})
}

// TestGroupReceiptsTypingAndRoles covers the group pushes besides msg.new.
func TestGroupReceiptsTypingAndRoles(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	o1, _ := e.newUser("tara")
	o2, _ := e.login("tara")
	m, _ := e.newUser("umar")
	g := protocol.Conversation{Group: "pushy"}
	call(t, o1, protocol.TypeGroupCreate, protocol.GroupName{Group: "pushy"}, nil)
	call(t, o1, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "pushy", Users: []string{"umar"}}, nil)
	send(t, m, g, "u1", "hello")

	var un protocol.MsgUnreadReply
	call(t, o1, protocol.TypeMsgUnread, nil, &un)
	if len(un.Unread) != 1 || un.Unread[0] != (protocol.UnreadCount{Group: "pushy", Count: 1, LastSeq: 1}) {
		t.Fatalf("unread %+v", un.Unread)
	}
	// A read marker goes to the reader's other sessions, not to the group.
	call(t, o1, protocol.TypeMsgRead, protocol.MsgRead{Conversation: g, Seq: 1}, nil)
	var receipt protocol.ReadReceipt
	expectPush(t, o2, protocol.PushMsgRead, &receipt)
	if receipt != (protocol.ReadReceipt{User: "tara", Group: "pushy", Seq: 1}) {
		t.Fatalf("receipt %+v", receipt)
	}
	noPush(t, m, protocol.PushMsgRead, 100*time.Millisecond)

	call(t, m, protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: g}, nil)
	var typing protocol.Typing
	expectPush(t, o2, protocol.PushMsgTyping, &typing)
	if typing != (protocol.Typing{User: "umar", Group: "pushy"}) {
		t.Fatalf("typing %+v", typing)
	}

	call(t, o1, protocol.TypeGroupRole, protocol.GroupRole{Group: "pushy", User: "umar", Role: protocol.RoleAdmin}, nil)
	var ev protocol.GroupEvent
	expectPush(t, m, protocol.PushGroupRole, &ev)
	if ev != (protocol.GroupEvent{Group: "pushy", User: "umar", By: "tara", Role: protocol.RoleAdmin}) {
		t.Fatalf("group.role %+v", ev)
	}
	var list protocol.GroupListReply
	call(t, m, protocol.TypeGroupList, nil, &list)
	if len(list.Groups) != 1 || list.Groups[0].Role != protocol.RoleAdmin {
		t.Fatalf("group list %+v", list)
	}

	// Removed: no more read markers, history or typing.
	call(t, o1, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "pushy", Users: []string{"umar"}}, nil)
	callErr(t, m, protocol.TypeMsgRead, protocol.MsgRead{Conversation: g, Seq: 1}, protocol.CodeForbidden)
	callErr(t, m, protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: g}, protocol.CodeForbidden)
	callErr(t, m, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: protocol.Conversation{Group: "nosuchgroup"}}, protocol.CodeNotFound)
}

// TestMissingConversationsLeaveNoActors: requests naming users or groups
// that do not exist leave no actor behind, however long the idle time.
func TestMissingConversationsLeaveNoActors(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Chat.GroupIdle = time.Hour
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	a, _ := e.newUser("vera")
	for i := range 20 {
		callErr(t, a, protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: fmt.Sprintf("ghost%d", i)}, ClientMsgID: fmt.Sprint(i), Text: "x"}, protocol.CodeNotFound)
		callErr(t, a, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: protocol.Conversation{Group: fmt.Sprintf("nogroup%d", i)}}, protocol.CodeNotFound)
	}
	waitLive(t, e, 1) // vera's own
}

// TestBatchedPushesSkipTheirSender pipelines group messages from two users
// on three connections, so that writer batches hold messages of several
// senders: every connection gets each message exactly once, in seq order,
// except those it sent itself; the sender's other session gets them too.
func TestBatchedPushesSkipTheirSender(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, name := range []string{"ann", "ben", "cat"} {
			e.register(e.dial(), name)
		}
		owner, _ := e.login("ann")
		call(t, owner, protocol.TypeGroupCreate, protocol.GroupName{Group: "crew"}, nil)
		call(t, owner, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "crew", Users: []string{"ben", "cat"}}, nil)
		ann1, ann2, ben, cat := e.rawLogin("ann"), e.rawLogin("ann"), e.rawLogin("ben"), e.rawLogin("cat")
		const n = 60
		crew := protocol.Conversation{Group: "crew"}
		for i := range n {
			ann1.Request(uint64(10+i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: crew, ClientMsgID: fmt.Sprintf("a%d", i), Text: "from ann1"})
			ben.Request(uint64(10+i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: crew, ClientMsgID: fmt.Sprintf("b%d", i), Text: "from ben"})
		}
		// pushes reads until it has n replies and want pushes.
		pushes := func(c *testutil.RawConn, replies, want int) []protocol.Message {
			t.Helper()
			var got []protocol.Message
			for r := 0; r < replies || len(got) < want; {
				m := c.Read()
				if !m.IsPush() {
					if !m.OK {
						t.Fatalf("send failed: %+v", m.Error)
					}
					r++
					continue
				}
				if m.Type == protocol.PushMsgNew {
					var msg protocol.Message
					if err := protocol.DecodeLenient(m.Data, &msg); err != nil {
						t.Fatal(err)
					}
					got = append(got, msg)
				}
			}
			if m, err := c.TryRead(200 * time.Millisecond); err == nil && m.Type == protocol.PushMsgNew {
				t.Fatalf("one msg.new too many: %s", m.Data)
			}
			return got
		}
		check := func(who string, got []protocol.Message, skip string) {
			t.Helper()
			last := int64(0)
			for _, m := range got {
				if m.Seq <= last {
					t.Fatalf("%s: seq %d after %d", who, m.Seq, last)
				}
				last = m.Seq
				if m.Text == skip {
					t.Fatalf("%s got its own message %d back", who, m.Seq)
				}
			}
		}
		check("ann1", pushes(ann1, n, n), "from ann1")
		check("ben", pushes(ben, n, n), "from ben")
		all := pushes(cat, 0, 2*n)
		check("cat", all, "")
		check("ann2", pushes(ann2, 0, 2*n), "")
		if all[len(all)-1].Seq != 2*n {
			t.Fatalf("cat's last seq %d, want %d", all[len(all)-1].Seq, 2*n)
		}
	})
}

// TestWritersKeepEachConversationsOrder runs three writers: pairs pipeline
// their messages at once, and each conversation is still numbered 1..n in
// the order its sender sent (a conversation belongs to one writer).
func TestWritersKeepEachConversationsOrder(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			cfg.Chat.Writers = 3
			e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
			const pairs, n = 6, 40
			conns := make([]*testutil.RawConn, pairs)
			for i := range pairs {
				e.register(e.dial(), fmt.Sprintf("w%ds", i))
				e.register(e.dial(), fmt.Sprintf("w%dr", i))
				conns[i] = e.rawLogin(fmt.Sprintf("w%ds", i))
			}
			for j := range n {
				for i, c := range conns {
					c.Request(uint64(10+j), protocol.TypeMsgSend, protocol.MsgSend{
						Conversation: protocol.Conversation{User: fmt.Sprintf("w%dr", i)},
						ClientMsgID:  fmt.Sprintf("m%d", j), Text: "hi"})
				}
			}
			for i, c := range conns {
				for j, m := range readReplies(t, c, n) {
					var r protocol.MsgSendReply
					if !m.OK || protocol.DecodeLenient(m.Data, &r) != nil || r.Seq != int64(j+1) {
						t.Fatalf("pair %d, message %d: %+v, want seq %d", i, j, m, j+1)
					}
				}
			}
			reader, _ := e.login("w0r")
			ms := history(t, reader, protocol.MsgHistory{Conversation: protocol.Conversation{User: "w0s"}, Limit: n})
			wantSeqs(t, "w0's conversation", ms, 1, n)
			for j, m := range ms {
				if m.ClientMsgID != fmt.Sprintf("m%d", j) {
					t.Fatalf("seq %d holds %s, want m%d", m.Seq, m.ClientMsgID, j)
				}
			}
		})
	}
}
