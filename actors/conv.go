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

	queue   []*request // requests waiting for a load or a membership change
	busy    bool       // a load or membership change is running
	drain   bool       // a group.delete waits for the writer to answer pending messages
	leaving bool       // passivating: forward everything to the successor
	pending int        // messages at the writer
	reads   int        // history and read-marker jobs running
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
	req *request
	msg storage.Message
	res storage.Appended
	err error
}

// readDone says a history or read-marker job has finished.
type readDone struct{}

// crash makes an actor fail as a panic would; see Hub.Crash.
type crash struct{}

// Receive dispatches on the message type.
func (c *convActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.SetReceiveTimeout(c.hub.chat.GroupIdle)
	case *actor.Restarting:
		c.hub.log.Warn("conversation actor restarting", "actor", c.name)
	case *actor.ReceiveTimeout:
		c.maybePassivate(ctx)
	case *request:
		if c.st.leaving {
			c.hub.dir.send(c.name, m, true)
			return
		}
		c.enqueue(ctx, m)
	case *committed:
		c.st.pending--
		c.committed(m)
		if c.st.drain && c.st.pending == 0 {
			c.st.drain = false
			c.runQueue(ctx)
		}
	case readDone:
		c.st.reads--
	case *jobDone:
		c.jobDone(ctx, m)
	case crash:
		panic("crash requested for " + c.name)
	}
}

func (c *convActor) enqueue(ctx actor.Context, r *request) {
	if c.st.busy || c.st.drain || !c.st.loaded {
		if len(c.st.queue) >= c.hub.acfg.RequestQueue {
			c.hub.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
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
		c.hub.fail(m.req, m.err)
	case m.err != nil:
		// The load failed: everything waiting for it fails with it, and
		// the next request tries again.
		for _, r := range c.st.queue {
			c.hub.fail(r, m.err)
		}
		clear(c.st.queue)
		c.st.queue = c.st.queue[:0]
		return
	default:
		data := m.data
		if m.then != nil {
			data = m.then(ctx, data)
		}
		if m.req != nil {
			c.hub.reply(m.req, data)
		}
	}
	c.runQueue(ctx)
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
				// Answer what waits, then forget: the next request loads again.
				for _, r := range c.st.queue {
					c.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "no user %s", c.peer(r.sess.user)))
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
// failing r when not.
func (c *convActor) member(r *request) bool {
	switch {
	case !c.st.exists:
		c.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "no group %s", c.group))
	case c.st.members[r.sess.user] == "":
		c.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "not a member of group %s", c.group))
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
		c.hub.fail(r, protocol.Errorf(protocol.CodeTooLarge, "text is %d bytes; the limit is %d", len(in.Text), c.hub.chat.MaxText))
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
	self, root := ctx.Self(), c.hub.system.Root
	ok := c.hub.writer.submit(&writeReq{msg: m, done: func(res storage.Appended, err error) {
		root.Send(self, &committed{req: r, msg: m, res: res, err: err})
	}})
	if !ok {
		c.hub.fail(r, protocol.Errorf(protocol.CodeUnavailable, "server busy; retry with the same client_msg_id"))
		return
	}
	c.st.pending++
}

// committed answers a stored message and pushes it to every session of the
// conversation's members but the sender's.
func (c *convActor) committed(m *committed) {
	switch {
	case m.err != nil:
		c.hub.fail(m.req, m.err)
		return
	case m.res.Err != nil:
		c.hub.fail(m.req, protocol.Errorf(protocol.CodeConflict, "client_msg_id %s was used in another conversation", m.msg.ClientMsgID))
		return
	}
	c.hub.reply(m.req, protocol.MsgSendReply{Seq: m.res.Seq, TS: m.res.Created, Duplicate: m.res.Duplicate})
	if m.res.Duplicate {
		return
	}
	m.msg.Seq, m.msg.Created = m.res.Seq, m.res.Created
	frame, err := protocol.EncodePush(protocol.PushMsgNew, c.wireMessage(m.msg))
	if err != nil {
		c.hub.log.Error("encode msg.new", "err", err)
		return
	}
	c.hub.dir.push(frame, m.req.conn.ID(), maps.Keys(c.st.members))
}

func (c *convActor) wireMessage(m storage.Message) protocol.Message {
	return protocol.Message{
		Seq: m.Seq, From: m.Sender, To: m.Recipient, Group: c.group,
		Text: m.Body, TS: m.Created, ClientMsgID: m.ClientMsgID,
	}
}

// read runs a read-only storage job without making the actor busy: reads
// need no order among themselves, only a bound.
func (c *convActor) read(ctx actor.Context, r *request, fn func(context.Context) (any, error), after func(any)) {
	if c.st.reads >= c.hub.acfg.RequestQueue {
		c.hub.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
		return
	}
	c.st.reads++
	self, root := ctx.Self(), c.hub.system.Root
	go func() {
		defer root.Send(self, readDone{})
		sctx, cancel := c.hub.storeCtx()
		data, err := fn(sctx)
		cancel()
		if err != nil {
			c.hub.fail(r, err)
			return
		}
		c.hub.reply(r, data)
		if after != nil {
			after(data)
		}
	}()
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

// markRead moves the caller's read marker and tells the caller's other
// sessions and, in a private conversation, the other user.
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
	c.read(ctx, r, func(sctx context.Context) (any, error) {
		seq, err := c.hub.store.MarkRead(sctx, user, conv, in.Seq)
		return protocol.MsgReadReply{Seq: seq}, err
	}, func(data any) {
		receipt.Seq = data.(protocol.MsgReadReply).Seq
		if frame, err := protocol.EncodePush(protocol.PushMsgRead, receipt); err == nil {
			c.hub.dir.push(frame, r.conn.ID(), slices.Values(notify))
		}
	})
}

func (c *convActor) typing(r *request) {
	if !c.member(r) {
		return
	}
	frame, err := protocol.EncodePush(protocol.PushMsgTyping, protocol.Typing{User: r.sess.user, Group: c.group})
	if err != nil {
		c.hub.fail(r, err)
		return
	}
	c.hub.dir.push(frame, r.conn.ID(), func(yield func(string) bool) {
		for u := range c.st.members {
			if u != r.sess.user && !yield(u) {
				return
			}
		}
	})
	c.hub.reply(r, protocol.Empty{})
}

func (c *convActor) maybePassivate(ctx actor.Context) {
	if c.st.busy || len(c.st.queue) > 0 || c.st.pending > 0 || c.st.reads > 0 || c.st.leaving {
		return
	}
	c.st.leaving = true
	c.hub.dir.forget(c.name, ctx.Self())
	ctx.CancelReceiveTimeout()
	ctx.Poison(ctx.Self())
}
