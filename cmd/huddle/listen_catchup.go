package main

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

	"huddle/client"
	"huddle/protocol"
)

// catchUp prints, as msg.new pushes, the messages sent while listen was
// disconnected, before the pushes of the new connection: in every
// conversation it has printed from, those after the newest it printed; in
// the others with unread messages (from the session reply of the resume),
// the unread ones. Pushes of messages it prints here are skipped later.
func (l *listener) catchUp(ctx context.Context) error {
	from := maps.Clone(l.seen)
	for _, u := range l.c.Session().Unread {
		conv := protocol.Conversation{User: u.User, Group: u.Group}
		if _, ok := from[conv]; !ok {
			from[conv] = max(u.LastSeq-u.Count, 0)
		}
	}
	convs := slices.SortedFunc(maps.Keys(from), func(x, y protocol.Conversation) int {
		return cmp.Or(cmp.Compare(x.Group, y.Group), cmp.Compare(x.User, y.User))
	})
	printed := 0
	for _, conv := range convs {
		n, err := l.catchUpIn(ctx, conv, from[conv])
		printed += n
		if err != nil {
			return err
		}
		if l.done() || l.c.Err() != nil || ctx.Err() != nil {
			break // a lost connection leaves the rest to the next catch-up
		}
	}
	if printed > 0 {
		l.a.note("caught up %d %s missed while disconnected", printed, plural(printed, "message", "messages"))
	}
	return nil
}

// catchUpIn prints the messages of conv after seq, a page at a time, and
// returns how many it printed. Only an output error is returned: a failed
// fetch (the user has left the group, say) is a warning, and a lost
// connection ends the catch-up quietly.
func (l *listener) catchUpIn(ctx context.Context, conv protocol.Conversation, seq int64) (int, error) {
	printed := 0
	for !l.done() {
		hctx, cancel := context.WithTimeout(ctx, requestTimeout)
		h, err := l.c.History(hctx, protocol.MsgHistory{Conversation: conv, After: new(seq), Limit: protocol.MaxHistoryLimit})
		cancel()
		switch {
		case errors.Is(err, client.ErrConnectionLost), ctx.Err() != nil:
			return printed, nil
		case err != nil:
			l.a.warn("catch up with "+chatLabel(conv.User, conv.Group), err)
			return printed, nil
		}
		for _, m := range h.Messages {
			if l.done() {
				break
			}
			if !l.fresh(conv, m.Seq) {
				continue
			}
			if err := l.print(protocol.PushMsgNew, m); err != nil {
				return printed, err
			}
			printed++
		}
		if len(h.Messages) < protocol.MaxHistoryLimit {
			return printed, nil
		}
		seq = h.Messages[len(h.Messages)-1].Seq
	}
	return printed, nil
}
