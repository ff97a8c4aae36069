package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"huddle/client"
	"huddle/protocol"
)

func chatCommands() []command {
	return []command{
		{"send", "NAME TEXT", "send a message to NAME", cmdSend(client.UserChat)},
		{"history", historyUsage("NAME"), "show your conversation with NAME, oldest first, and mark it read", cmdHistory(client.UserChat)},
		{"unread", "", "list conversations with unread messages", listCommand((*client.Client).Unread, "no unread messages", unreadRow)},
	}
}

func historyUsage(arg string) string { return arg + " [--limit N] [--before SEQ] [--after SEQ]" }

// chat names a conversation from the command's first argument: a user's
// for send and history, a group's for group send and group history.
type chat func(name string) protocol.Conversation

// cmdSend makes send and group send. Words after NAME are joined with
// spaces, so that an unquoted sentence is sent as typed.
func cmdSend(to chat) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		args, err := cl.parse(2, -1)
		if err != nil {
			return err
		}
		text := strings.Join(args[1:], " ")
		if strings.TrimSpace(text) == "" {
			return cl.usageErrorf("empty message")
		}
		if !utf8.ValidString(text) {
			// JSON would carry it with U+FFFD in place of the bad bytes.
			return cl.usageErrorf("the message is not valid UTF-8")
		}
		conv := to(args[0])
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			id := client.NewClientMsgID()
			out, err := a.sendRetry(ctx, c, conv, text, id)
			if err != nil {
				return err
			}
			return a.print(struct {
				protocol.Conversation
				protocol.MsgSendReply
				ClientMsgID string `json:"client_msg_id"`
			}{conv, out, id}, "sent to %s (#%d)", args[0], out.Seq)
		})
	}
}

// sendRetry sends once more, on a new connection, when the connection is
// lost under the first try: the message may have been stored without the
// reply arriving, and the same client_msg_id makes the server answer the
// retry with the original seq instead of storing it twice.
func (a *app) sendRetry(ctx context.Context, c *client.Client, to protocol.Conversation, text, id string) (protocol.MsgSendReply, error) {
	out, err := c.Send(ctx, to, text, id)
	if !errors.Is(err, client.ErrConnectionLost) {
		return out, err
	}
	if err := c.Reconnect(ctx); err != nil {
		if protocol.CodeOf(err) == protocol.CodeUnauthorized {
			return out, a.sessionEnded(c.Session().Token)
		}
		return out, err
	}
	return c.Send(ctx, to, text, id)
}

// cmdHistory makes history and group history.
func cmdHistory(in chat) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		limit := cl.fs.Int("limit", protocol.DefaultHistory, fmt.Sprintf("show at most N messages (1-%d)", protocol.MaxHistoryLimit))
		before := cl.fs.Int64("before", 0, "show the messages before SEQ")
		after := cl.fs.Int64("after", 0, "show the messages after SEQ")
		args, err := cl.parse(1, 1)
		if err != nil {
			return err
		}
		switch {
		case *limit < 1 || *limit > protocol.MaxHistoryLimit:
			return cl.usageErrorf("--limit must be 1-%d", protocol.MaxHistoryLimit)
		case *before < 0 || *after < 0:
			return cl.usageErrorf("--before and --after must not be negative")
		case *before > 0 && *after >= *before:
			return cl.usageErrorf("--after must be below --before")
		}
		q := protocol.MsgHistory{Conversation: in(args[0]), Before: *before, Limit: *limit}
		cl.fs.Visit(func(f *flag.Flag) {
			if f.Name == "after" { // --after 0 pages from the first message
				q.After = after
			}
		})
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			h, err := c.History(ctx, q)
			if err != nil {
				return err
			}
			now := time.Now()
			err = printLines(a, h.Messages, "no messages", func(m protocol.Message) string {
				return fmt.Sprintf("#%d %s %s: %s", m.Seq, clock(m.TS, now), m.From, printable(m.Text))
			})
			if err != nil || len(h.Messages) == 0 {
				return err
			}
			a.markRead(ctx, c, q.Conversation, h.Messages[len(h.Messages)-1].Seq)
			return nil
		})
	}
}

// markRead moves the read marker up to seq, the newest message history has
// shown; the server never moves it back, so showing an older page is
// harmless. History has succeeded by then, so a failure is only a warning,
// and not_found (a conversation without a marker yet) not even that.
func (a *app) markRead(ctx context.Context, c *client.Client, in protocol.Conversation, seq int64) {
	_, err := c.MarkRead(ctx, in, seq)
	if err != nil && protocol.CodeOf(err) != protocol.CodeNotFound {
		a.warn("mark read", err)
	}
}

// clock shows ts as HH:MM when it is today, with the date otherwise.
func clock(ts, now time.Time) string {
	ts, now = ts.Local(), now.Local()
	if y, m, d := ts.Date(); now.Year() == y && now.Month() == m && now.Day() == d {
		return ts.Format("15:04")
	}
	return ts.Format("2006-01-02 15:04")
}

func unreadRow(u protocol.UnreadCount) []string {
	return []string{chatLabel(u.User, u.Group), fmt.Sprintf("%d unread", u.Count), fmt.Sprintf("last #%d", u.LastSeq)}
}

// chatLabel names a conversation for people: the other user, or the group
// in brackets, as listen and unread show them.
func chatLabel(user, group string) string {
	if group != "" {
		return "[" + group + "]"
	}
	return user
}
