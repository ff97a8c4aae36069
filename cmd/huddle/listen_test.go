package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// runListen runs listen in the background and returns its result.
func runListen(t *testing.T, args ...string) <-chan [3]string {
	t.Helper()
	done := make(chan [3]string, 1)
	go func() {
		code, stdout, stderr := huddle(t, "", append([]string{"listen"}, args...)...)
		done <- [3]string{fmt.Sprint(code), stdout, stderr}
	}()
	return done
}

func waitListen(t *testing.T, done <-chan [3]string) (code, stdout, stderr string) {
	t.Helper()
	select {
	case r := <-done:
		return r[0], r[1], r[2]
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not finish within 20s")
		return
	}
}

// TestListenCatchesUp: after a reconnect listen prints the messages of the
// gap from msg.history — after the newest it printed in the conversations
// it has seen, the unread ones in those new to it, none of those that were
// unread before it started — page by page, then skips the server's push of
// one it printed already.
func TestListenCatchesUp(t *testing.T) {
	msg := func(seq int64, from, to, group string) protocol.Message {
		return protocol.Message{Seq: seq, From: from, To: to, Group: group, Text: fmt.Sprintf("%s %d", from, seq),
			TS: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), ClientMsgID: fmt.Sprintf("%032d", seq)}
	}
	var (
		resumes atomic.Int32
		pushed  = make(chan struct{}, 1)
		mu      sync.Mutex
		asked   []string
	)
	s := loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeAuthResume] = func(c *clifake.Conn, req protocol.Request) {
			if resumes.Add(1) == 1 {
				c.Reply(req.ID, protocol.Session{User: "alice", Unread: []protocol.UnreadCount{{Group: "ops", Count: 3, LastSeq: 10}}})
				c.Push(protocol.PushMsgNew, msg(4, "bob", "alice", ""))
				c.Push(protocol.PushMsgNew, msg(2, "alice", "carol", "")) // from another device of alice's
				pushed <- struct{}{}
				return
			}
			c.Reply(req.ID, protocol.Session{User: "alice", Unread: []protocol.UnreadCount{
				{User: "bob", Count: 3, LastSeq: 206}, {User: "dave", Count: 2, LastSeq: 9}, {Group: "ops", Count: 4, LastSeq: 11},
			}})
			c.Push(protocol.PushMsgNew, msg(206, "bob", "alice", "")) // printed by the catch-up
			c.Push(protocol.PushMsgNew, msg(207, "bob", "alice", ""))
		}
		s.Handlers[protocol.TypeMsgHistory] = func(c *clifake.Conn, req protocol.Request) {
			var q protocol.MsgHistory
			if err := protocol.DecodeData(req.Data, &q); err != nil || q.After == nil || q.Before != 0 {
				c.Fail(req.ID, protocol.CodeBadRequest, fmt.Sprintf("want after, not %s (%v)", req.Data, err))
				return
			}
			mu.Lock()
			asked = append(asked, fmt.Sprintf("%s%s>%d/%d", q.User, q.Group, *q.After, q.Limit))
			mu.Unlock()
			var out protocol.MsgHistoryReply
			last := map[string]int64{"bob": 206, "carol": 2, "dave": 9, "ops": 11}[q.User+q.Group]
			from, to := q.User, "alice"
			if q.Group != "" {
				from, to = "erin", ""
			}
			for seq := *q.After + 1; seq <= last && len(out.Messages) < q.Limit; seq++ {
				out.Messages = append(out.Messages, msg(seq, from, to, q.Group))
			}
			c.Reply(req.ID, out)
		}
	})
	done := runListen(t, "--count", "208", "--timeout", "20s")
	c := s.NextConn()
	select {
	case <-pushed:
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not resume")
	}
	time.Sleep(50 * time.Millisecond) // let the pushes arrive before the drop
	c.Close()

	code, stdout, stderr := waitListen(t, done)
	if code != "0" {
		t.Fatalf("exit %s, stderr %q", code, stderr)
	}
	var want []string
	add := func(m protocol.Message) {
		b, _ := json.Marshal(struct {
			Type string           `json:"type"`
			Data protocol.Message `json:"data"`
		}{"msg.new", m})
		want = append(want, string(b))
	}
	add(msg(4, "bob", "alice", ""))
	add(msg(2, "alice", "carol", ""))
	for seq := int64(5); seq <= 206; seq++ {
		add(msg(seq, "bob", "alice", ""))
	}
	add(msg(8, "dave", "alice", ""))
	add(msg(9, "dave", "alice", ""))
	add(msg(11, "erin", "", "ops"))
	add(msg(207, "bob", "alice", ""))
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout: %d lines\n%s\nwant %d lines", len(got), stdout, len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(asked, " "); got != "bob>4/200 bob>204/200 carol>2/200 dave>7/200 ops>10/200" {
		t.Fatalf("history requests: %s", got)
	}
	if !strings.Contains(stderr, "huddle: caught up 205 messages missed while disconnected\n") {
		t.Fatalf("stderr %q", stderr)
	}
}

// TestListenSessionRevoked: a session.revoked push is printed, ends listen
// and removes the session file, which holds a token that is dead now.
func TestListenSessionRevoked(t *testing.T) {
	loggedInFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeAuthResume] = func(c *clifake.Conn, req protocol.Request) {
			c.Reply(req.ID, protocol.Session{User: "alice"})
			c.Push(protocol.PushSessionRevoked, protocol.SessionRevoked{Reason: "password changed"})
			c.Close()
		}
	})
	code, stdout, stderr := waitListen(t, runListen(t, "--timeout", "20s"))
	if code != "1" || stdout != `{"type":"session.revoked","data":{"reason":"password changed"}}`+"\n" ||
		!strings.HasSuffix(stderr, "huddle: session expired; log in again (huddle login NAME)\n") {
		t.Fatalf("exit %s, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HUDDLE_HOME"), sessionFile)); !os.IsNotExist(err) {
		t.Fatalf("session file after session.revoked: %v", err)
	}
}

// TestSessionEndedKeepsNewerLogin: a session file that a login has replaced
// since the command started is not the refused one and stays.
func TestSessionEndedKeepsNewerLogin(t *testing.T) {
	isolate(t)
	writeSession(t, session{Server: "127.0.0.1:7700", User: "alice", Token: "tok-newer"})
	a := newApp(nil, nil, nil)
	if err := a.sessionEnded("tok-older"); !errors.Is(err, errSessionEnded) {
		t.Fatalf("sessionEnded = %v", err)
	}
	if s, err := a.loadSession(); err != nil || s.Token != "tok-newer" {
		t.Fatalf("session after sessionEnded of another token: %+v, %v", s, err)
	}
}

func TestCause(t *testing.T) {
	refused := fmt.Errorf("connect to 127.0.0.1:1: %w",
		&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	for _, tt := range []struct {
		err  error
		want string
	}{
		{refused, syscall.ECONNREFUSED.Error()},
		{errors.New("resume after reconnect: unavailable: shutting down"), "resume after reconnect: unavailable: shutting down"},
	} {
		if got := cause(tt.err); got != tt.want {
			t.Errorf("cause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
