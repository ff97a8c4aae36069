package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"huddle/client"
	"huddle/protocol"
)

func listenCommands() []command {
	return []command{
		{"listen", "[--count N] [--timeout DUR]", "print pushes as JSON lines; reconnects and prints the messages missed meanwhile", cmdListen},
	}
}

// Reconnect backoff of listen: doubling from the first to the last step.
const (
	backoffFirst = 200 * time.Millisecond
	backoffMax   = 5 * time.Second
)

// listenPushBuffer is the push channel of listen: room for a burst while
// stdout is slow.
const listenPushBuffer = 4096

func cmdListen(ctx context.Context, a *app, cl *cmdLine) error {
	count := cl.fs.Int("count", 0, "stop after N pushes (0: no limit)")
	timeout := cl.fs.Duration("timeout", 0, "stop after DUR (0: no limit)")
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	if *count < 0 || *timeout < 0 {
		return cl.usageErrorf("--count and --timeout must not be negative")
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	dctx, cancel := context.WithTimeout(ctx, requestTimeout)
	c, err := a.resume(dctx, client.WithPushBuffer(listenPushBuffer))
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	if !a.json {
		fmt.Fprintf(a.stderr, "listening as %s\n", c.Session().User)
	}
	err = newListener(a, c, *count).run(ctx)
	if n := c.DroppedPushes(); n > 0 {
		a.note("%d pushes dropped: output too slow", n)
	}
	if ctx.Err() != nil { // --timeout or an interrupt: a normal end
		return nil
	}
	return err
}

// listener prints pushes, reconnecting whenever the connection drops. It
// remembers the newest message it has printed in each conversation, so that
// after a reconnect it prints the messages it missed (catchUp) and skips a
// push of one it has printed already.
type listener struct {
	a     *app
	c     *client.Client
	me    string
	count int // stop after printing this many (0: no limit)
	n     int // printed so far
	seen  map[protocol.Conversation]int64
}

func newListener(a *app, c *client.Client, count int) *listener {
	l := &listener{a: a, c: c, me: c.Session().User, count: count, seen: make(map[protocol.Conversation]int64)}
	// Messages that were unread before listen started were not missed while
	// it was disconnected: a catch-up starts after them.
	for _, u := range c.Session().Unread {
		l.seen[protocol.Conversation{User: u.User, Group: u.Group}] = u.LastSeq
	}
	return l
}

func (l *listener) done() bool { return l.count > 0 && l.n >= l.count }

// run prints pushes until it has printed count of them or ctx ends.
func (l *listener) run(ctx context.Context) error {
	for !l.done() {
		select {
		case p := <-l.c.Pushes():
			if err := l.push(p); err != nil {
				return err
			}
		case <-l.c.Done():
			// Pushes that arrived before the loss come first.
			if len(l.c.Pushes()) > 0 {
				continue
			}
			if err := l.reconnect(ctx); err != nil {
				return err
			}
			if err := l.catchUp(ctx); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// push prints one push. A revoked session ends listen: reconnecting could
// only be refused.
func (l *listener) push(p protocol.Push) error {
	switch p.Type {
	case protocol.PushMsgNew:
		var m protocol.Message
		if json.Unmarshal(p.Data, &m) == nil && !l.fresh(l.conversation(m), m.Seq) {
			return nil // printed by a catch-up already
		}
	case protocol.PushSessionRevoked:
		if err := l.print(p.Type, p.Data); err != nil {
			return err
		}
		return l.a.sessionEnded(l.c.Session().Token)
	}
	return l.print(p.Type, p.Data)
}

// print writes {"type":...,"data":...}, with or without --json.
func (l *listener) print(typ string, data any) error {
	l.n++
	return writeJSON(l.a.stdout, struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
}

// fresh reports whether message seq of conv is newer than every one
// printed so far, and records it. Within a conversation messages arrive in
// order, so the newest seq printed is all that needs remembering.
func (l *listener) fresh(conv protocol.Conversation, seq int64) bool {
	if seq <= l.seen[conv] {
		return false
	}
	l.seen[conv] = seq
	return true
}

// conversation names the conversation of m as the listening user sees it:
// the group, or the other user.
func (l *listener) conversation(m protocol.Message) protocol.Conversation {
	switch {
	case m.Group != "":
		return client.GroupChat(m.Group)
	case m.From == l.me:
		return client.UserChat(m.To)
	}
	return client.UserChat(m.From)
}

// reconnect retries with exponential backoff until the session is resumed,
// the server refuses the session, or ctx ends.
func (l *listener) reconnect(ctx context.Context) error {
	wait := backoffFirst
	l.a.note("%v; reconnecting in %v", l.c.Err(), wait)
	for {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		token := l.c.Session().Token
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := l.c.Reconnect(rctx)
		cancel()
		switch {
		case err == nil:
			l.a.note("reconnected")
			return nil
		case protocol.CodeOf(err) == protocol.CodeUnauthorized:
			return l.a.sessionEnded(token)
		case errors.Is(err, client.ErrClosed), ctx.Err() != nil:
			return err
		}
		wait = min(2*wait, backoffMax)
		l.a.note("reconnect failed: %s; retrying in %v", cause(err), wait)
	}
}

// cause shortens a dial error to the system's word for it ("connection
// refused"); the address is the same on every attempt and not news.
func cause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
