package actors

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// convState is what a conversation actor owns. Like userState it lives
// outside the actor value, so a restart after a panic keeps it: it only ever
// holds what the database has confirmed.
type convState struct {
	loaded  bool
	exists  bool
	conv    string            // storage conversation id
	group   storage.Group     // a group's row; zero for a private conversation
	members map[string]string // user → role; both users of a private conversation

	// replies holds every request taken and not yet answered, in arrival
	// order: answers leave in this order, so that the responses to one
	// connection's requests about one conversation keep their order, even
	// when a later request is answered before an earlier one commits.
	replies []*request
	queue   []*request // requests waiting for a load or a membership change
	busy    bool       // a load or membership change is running
	drain   bool       // a group.delete waits for the writer to answer pending messages
	pending int        // messages at the writer
	reads   int        // history and read-marker jobs running
	// Reads see the sends that came before them: a read waits in
	// readsWaiting until every message submitted before it has committed
	// (submitted and committed count messages; commits come back in order).
	submitted, committed uint64
	readsWaiting         []waitingRead
	received             uint64 // messages received through the directory
	idleness             idleTimer
}

// convActor owns one conversation: a group (membership, roles, and its
// messages' fan-out) or the private conversation of two users. It checks
// every request against the membership it holds, hands messages to the
// group-commit writer in the order they came, and answers and fans out each
// one when its batch has committed.
type convActor struct {
	hub   *Hub
	name  string // directory name
	group string // the group's name; empty for a private conversation
	users [2]string
	st    *convState
}

func newGroupProducer(h *Hub, group string) actor.Producer {
	st := &convState{}
	return func() actor.Actor { return &convActor{hub: h, name: groupPrefix + group, group: group, st: st} }
}

func newChatProducer(h *Hub, a, b string) actor.Producer {
	st := &convState{}
	return func() actor.Actor {
		return &convActor{hub: h, name: chatPrefix + a + ":" + b, users: [2]string{a, b}, st: st}
	}
}

// committed brings a message's outcome back from the writer.
type committed struct {
	req   *request
	msg   storage.Message
	res   storage.Appended
	err   error
	frame []byte // its msg.new, once encoded
}

// readDone brings a history or read-marker job's outcome back.
type readDone struct {
	req   *request
	data  any
	err   error
	after func(data any) // runs in the actor on success, after the answer
}

// waitingRead is a read held until the sends before it have committed.
type waitingRead struct {
	after uint64 // st.submitted when the read came
	start func()
}

// crash makes an actor fail as a panic would; see Hub.Crash.
type crash struct{}

// Receive dispatches on the message type.
func (c *convActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.st.idleness.after = c.hub.chat.GroupIdle
		c.st.idleness.touch()
		c.st.idleness.arm(ctx)
	case *actor.Stopping:
		c.st.idleness.stop()
	case *actor.Restarting:
		c.hub.log.Warn("conversation actor restarting", "actor", c.name)
	case idleCheck:
		c.maybePassivate(ctx)
	case *routed:
		c.st.received++
		c.st.idleness.touch()
		switch m := m.msg.(type) {
		case *request:
			c.st.replies = append(c.st.replies, m)
			c.enqueue(ctx, m)
			c.retireIfMissing(ctx)
		case crash:
			panic("crash requested for " + c.name)
		}
	case committedBatch:
		c.st.pending -= len(m)
		c.st.committed += uint64(len(m))
		c.committed(m)
		c.startReads()
		if c.st.drain && c.st.pending == 0 {
			c.st.drain = false
			c.runQueue(ctx)
		}
	case *readDone:
		c.st.reads--
		if m.err != nil {
			c.fail(m.req, m.err)
			return
		}
		c.reply(m.req, m.data)
		if m.after != nil {
			m.after(m.data)
		}
	case *jobDone:
		c.jobDone(ctx, m)
	}
}

// reply and fail answer r in its turn (see convState.replies).
func (c *convActor) reply(r *request, data any) { c.answer(r, c.hub.replyFrame(r, data)) }
func (c *convActor) fail(r *request, err error) { c.answer(r, c.hub.failFrame(r, err)) }

func (c *convActor) answer(r *request, frame []byte) {
	r.answer = frame
	for len(c.st.replies) > 0 && c.st.replies[0].answer != nil {
		c.hub.deliver(c.st.replies[0], c.st.replies[0].answer)
		c.st.replies[0] = nil
		c.st.replies = c.st.replies[1:]
	}
}

func (c *convActor) enqueue(ctx actor.Context, r *request) {
	if c.st.busy || c.st.drain || !c.st.loaded {
		if len(c.st.queue) >= c.hub.acfg.RequestQueue {
			c.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
			return
		}
		c.st.queue = append(c.st.queue, r)
		if !c.st.busy && !c.st.loaded {
			c.load(ctx)
		}
		return
	}
	c.handle(ctx, r)
}

// job runs a storage job; the actor is busy and queues requests until then
// has run.
func (c *convActor) job(ctx actor.Context, r *request, fn func(context.Context) (any, error),
	then func(ctx actor.Context, data any) any) {
	c.st.busy = true
	c.hub.runJob(ctx, r, fn, then)
}

func (c *convActor) jobDone(ctx actor.Context, m *jobDone) {
	c.st.busy = false
	switch {
	case m.err != nil && m.req != nil:
		var pe *protocol.Error
		if !errors.As(m.err, &pe) {
			// A change may have been stored in part: read it all again
			// before the next request.
			c.st.loaded = false
		}
		c.fail(m.req, m.err)
	case m.err != nil:
		// The load failed: everything waiting for it fails with it, and
		// the next request tries again.
		c.failQueue(m.err)
		return
	default:
		if data := m.outcome(ctx); m.req != nil {
			c.reply(m.req, data)
		}
	}
	c.runQueue(ctx)
	c.retireIfMissing(ctx)
}

// retireIfMissing stops at once an idle actor whose conversation does not
// exist, so that requests naming random users or groups leave nothing behind.
func (c *convActor) retireIfMissing(ctx actor.Context) {
	if !c.st.exists && c.idle() {
		c.hub.dir.retire(c.name, ctx.Self(), c.st.received)
	}
}

func (c *convActor) idle() bool {
	return !c.st.busy && len(c.st.queue) == 0 && len(c.st.replies) == 0 && c.st.pending == 0 && c.st.reads == 0
}

func (c *convActor) failQueue(err error) {
	for _, r := range c.st.queue {
		c.fail(r, err)
	}
	clear(c.st.queue)
	c.st.queue = c.st.queue[:0]
}

// runQueue handles waiting requests until one makes the actor wait again.
func (c *convActor) runQueue(ctx actor.Context) {
	for !c.st.busy && !c.st.drain && len(c.st.queue) > 0 {
		if !c.st.loaded {
			c.load(ctx)
			return
		}
		next := c.st.queue[0]
		c.st.queue[0] = nil
		c.st.queue = c.st.queue[1:]
		c.handle(ctx, next)
	}
}

// load reads the conversation's state. A private conversation exists when
// both users do; it is not remembered as missing, since the missing user may
// register any moment. A group is remembered either way: only this actor
// creates or deletes it.
func (c *convActor) load(ctx actor.Context) {
	type loaded struct {
		exists  bool
		group   storage.Group
		members []storage.GroupMember
	}
	c.job(ctx, nil, func(sctx context.Context) (any, error) {
		if c.group == "" {
			for _, u := range c.users {
				if _, err := c.hub.store.GetUser(sctx, u); err != nil {
					if errors.Is(err, storage.ErrNotFound) {
						return loaded{}, nil
					}
					return nil, err
				}
			}
			return loaded{exists: true}, nil
		}
		g, err := c.hub.store.GetGroup(sctx, c.group)
		if errors.Is(err, storage.ErrNotFound) {
			return loaded{}, nil
		}
		if err != nil {
			return nil, err
		}
		ms, err := c.hub.store.Members(sctx, g.ID)
		return loaded{exists: true, group: g, members: ms}, err
	}, func(_ actor.Context, data any) any {
		l := data.(loaded)
		c.st.exists = l.exists
		c.st.loaded = l.exists || c.group != ""
		c.st.members = make(map[string]string)
		if c.group == "" {
			c.st.conv = storage.PrivateConversation(c.users[0], c.users[1])
			if !l.exists {
				// Answer what waits; the next request loads again.
				for _, r := range c.st.queue {
					c.fail(r, protocol.Errorf(protocol.CodeNotFound, "no user %s", c.peer(r.sess.user)))
				}
				clear(c.st.queue)
				c.st.queue = c.st.queue[:0]
				return nil
			}
			c.st.members[c.users[0]] = storage.RoleMember
			c.st.members[c.users[1]] = storage.RoleMember
			return nil
		}
		c.setGroup(l.group, l.members)
		return nil
	})
}

func (c *convActor) setGroup(g storage.Group, members []storage.GroupMember) {
	c.st.group = g
	c.st.conv = storage.GroupConversation(g.ID)
	clear(c.st.members)
	for _, m := range members {
		c.st.members[m.User] = m.Role
	}
}

// peer is the other user of a private conversation.
func (c *convActor) peer(user string) string {
	if c.users[0] == user {
		return c.users[1]
	}
	return c.users[0]
}

func (c *convActor) handle(ctx actor.Context, r *request) {
	if s, _ := r.conn.Session().(*session); s != r.sess {
		// Logged out or revoked since the request was read.
		c.fail(r, protocol.Errorf(protocol.CodeUnauthorized, "session ended; log in again"))
		return
	}
	switch r.Type {
	case protocol.TypeMsgSend:
		c.send(ctx, r)
	case protocol.TypeMsgHistory:
		c.history(ctx, r)
	case protocol.TypeMsgRead:
		c.markRead(ctx, r)
	case protocol.TypeMsgTyping:
		c.typing(r)
	default:
		c.groupRequest(ctx, r)
	}
}

// member checks that the conversation exists and the caller belongs to it,
// failing r when not. Only a group can be missing or have outsiders: a
// private conversation's actor has both users as members once loaded.
func (c *convActor) member(r *request) bool {
	switch {
	case !c.st.exists:
		c.fail(r, protocol.Errorf(protocol.CodeNotFound, "no group %s", c.group))
	case c.st.members[r.sess.user] == "":
		c.fail(r, protocol.Errorf(protocol.CodeForbidden, "not a member of group %s", c.group))
	default:
		return true
	}
	return false
}

func (c *convActor) send(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MsgSend)
	if !c.member(r) {
		return
	}
	if len(in.Text) > c.hub.chat.MaxText {
		c.fail(r, protocol.Errorf(protocol.CodeTooLarge, "text is %d bytes; the limit is %d", len(in.Text), c.hub.chat.MaxText))
		return
	}
	m := storage.Message{
		Conversation: c.st.conv,
		Sender:       r.sess.user,
		ClientMsgID:  in.ClientMsgID,
		Body:         in.Text,
		Created:      c.hub.now().UTC(),
	}
	if c.group == "" {
		m.Recipient = c.peer(r.sess.user)
	}
	ok := c.hub.writer.submit(&writeReq{msg: m, owner: ctx.Self(), note: &committed{req: r, msg: m}})
	if !ok {
		c.hub.writerFull.Add(1)
		c.fail(r, protocol.Errorf(protocol.CodeUnavailable, "server busy; retry with the same client_msg_id"))
		return
	}
	c.st.pending++
	c.st.submitted++
}

// committed answers the messages of one writer batch and pushes them to
// every session of the conversation's members but each sender's: all of
// them in one Send per session, which goes out as one write. A retry
// of a stored message is pushed again: its first push may be what never
// arrived; clients drop a (conversation, seq) they have already seen.
func (c *convActor) committed(batch committedBatch) {
	frames := 0
	var senders []uint64 // connections that sent some of the batch
	for _, m := range batch {
		switch {
		case m.err != nil:
			// The writer has logged the failure, once for the whole batch.
			c.fail(m.req, protocol.Errorf(protocol.CodeUnavailable, "the message was not stored; retry with the same client_msg_id"))
			continue
		case m.res.Err != nil:
			c.fail(m.req, protocol.Errorf(protocol.CodeConflict, "client_msg_id %s was used in another conversation", m.msg.ClientMsgID))
			continue
		}
		c.reply(m.req, protocol.MsgSendReply{Seq: m.res.Seq, TS: m.res.Created, Duplicate: m.res.Duplicate})
		m.msg.Seq, m.msg.Created = m.res.Seq, m.res.Created
		frame, err := protocol.EncodePush(protocol.PushMsgNew, c.wireMessage(m.msg))
		if err != nil {
			c.hub.log.Error("encode msg.new", "err", err)
			continue
		}
		m.frame = frame
		frames++
		if id := m.req.conn.ID(); !slices.Contains(senders, id) {
			senders = append(senders, id)
		}
	}
	if frames == 0 {
		return
	}
	// A sender's connection gets the batch without its own messages.
	others := make(map[uint64][][]byte, len(senders))
	for _, id := range senders {
		others[id] = framesOf(batch, frames, func(m *committed) bool { return m.req.conn.ID() != id })
	}
	all := framesOf(batch, frames, func(*committed) bool { return true })
	c.hub.dir.pushBatch(all, others, maps.Keys(c.st.members))
}

// framesOf returns the encoded pushes of the batch's messages that keep
// says, in order; n is how many there are in all, a bound.
func framesOf(batch committedBatch, n int, keep func(*committed) bool) [][]byte {
	var out [][]byte
	for _, m := range batch {
		if m.frame != nil && keep(m) {
			if out == nil {
				out = make([][]byte, 0, n)
			}
			out = append(out, m.frame)
		}
	}
	return out
}

func (c *convActor) wireMessage(m storage.Message) protocol.Message {
	return protocol.Message{
		Seq: m.Seq, From: m.Sender, To: m.Recipient, Group: c.group,
		Text: m.Body, TS: m.Created, ClientMsgID: m.ClientMsgID,
	}
}

// read runs a read-only storage job without making the actor busy: reads
// need no order among themselves (their answers keep it), only a bound, and
// they start once the messages sent before them are stored. fn runs in a
// goroutine and must not touch the actor's state; after runs in the actor
// once the answer is out.
func (c *convActor) read(ctx actor.Context, r *request, fn func(context.Context) (any, error), after func(any)) {
	if c.st.reads >= c.hub.acfg.RequestQueue {
		c.hub.readsLimited.Add(1)
		c.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
		return
	}
	c.st.reads++
	self, root := ctx.Self(), c.hub.system.Root
	start := func() {
		go func() {
			sctx, cancel := c.hub.storeCtx()
			data, err := fn(sctx)
			cancel()
			root.Send(self, &readDone{req: r, data: data, err: err, after: after})
		}()
	}
	if c.st.committed < c.st.submitted {
		c.st.readsWaiting = append(c.st.readsWaiting, waitingRead{after: c.st.submitted, start: start})
		return
	}
	start()
}

// startReads starts the waiting reads whose sends have all committed.
func (c *convActor) startReads() {
	for len(c.st.readsWaiting) > 0 && c.st.readsWaiting[0].after <= c.st.committed {
		c.st.readsWaiting[0].start()
		c.st.readsWaiting[0] = waitingRead{}
		c.st.readsWaiting = c.st.readsWaiting[1:]
	}
}

func (c *convActor) history(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MsgHistory)
	if !c.member(r) {
		return
	}
	conv := c.st.conv
	c.read(ctx, r, func(sctx context.Context) (any, error) {
		q := storage.HistoryQuery{Before: in.Before, Limit: in.Limit, Forward: in.After != nil && in.Before == 0}
		if in.After != nil {
			q.After = *in.After
		}
		msgs, err := c.hub.store.History(sctx, conv, q)
		if err != nil {
			return nil, err
		}
		last, err := c.hub.store.LastSeq(sctx, conv)
		out := protocol.MsgHistoryReply{Messages: make([]protocol.Message, len(msgs)), LastSeq: last}
		for i, m := range msgs {
			out.Messages[i] = c.wireMessage(m)
		}
		return out, err
	}, nil)
}

// markRead moves the caller's read marker and, when it moved, tells the
// caller's other sessions and, in a private conversation, the other user.
func (c *convActor) markRead(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MsgRead)
	if !c.member(r) {
		return
	}
	user, conv := r.sess.user, c.st.conv
	receipt := protocol.ReadReceipt{User: user, Group: c.group}
	notify := []string{user}
	if c.group == "" {
		receipt.Peer = c.peer(user)
		notify = append(notify, receipt.Peer)
	}
	var moved bool // set by the read, seen by after through the actor's mailbox
	c.read(ctx, r, func(sctx context.Context) (any, error) {
		seq, m, err := c.hub.store.MarkRead(sctx, user, conv, in.Seq)
		moved = m
		return protocol.MsgReadReply{Seq: seq}, err
	}, func(data any) {
		if !moved {
			return // the marker was there already: nothing new to tell
		}
		receipt.Seq = data.(protocol.MsgReadReply).Seq
		frame, err := protocol.EncodePush(protocol.PushMsgRead, receipt)
		if err != nil {
			c.hub.log.Error("encode msg.read", "err", err)
			return
		}
		c.hub.dir.push(frame, r.conn.ID(), slices.Values(notify))
	})
}

func (c *convActor) typing(r *request) {
	if !c.member(r) {
		return
	}
	frame, err := protocol.EncodePush(protocol.PushMsgTyping, protocol.Typing{User: r.sess.user, Group: c.group})
	if err != nil {
		c.fail(r, err)
		return
	}
	c.hub.dir.push(frame, r.conn.ID(), func(yield func(string) bool) {
		for u := range c.st.members {
			if u != r.sess.user && !yield(u) {
				return
			}
		}
	})
	c.reply(r, protocol.Empty{})
}

// maybePassivate stops an actor with nothing to do; the next message for
// the conversation starts a new one, which loads it again.
func (c *convActor) maybePassivate(ctx actor.Context) {
	if !c.st.idleness.idle() {
		c.st.idleness.arm(ctx)
		return
	}
	if !c.idle() || !c.hub.dir.retire(c.name, ctx.Self(), c.st.received) {
		c.st.idleness.touch() // busy now: look again a whole period later
		c.st.idleness.arm(ctx)
	}
}
