package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// startFake runs a fake server that also answers the account and friend
// requests, and points HUDDLE_SERVER at it.
func startFake(t *testing.T, setup ...func(*clifake.Server)) *clifake.Server {
	t.Helper()
	isolate(t)
	setup = append([]func(*clifake.Server){func(s *clifake.Server) {
		s.Handlers[protocol.TypeAuthRegister] = func(c *clifake.Conn, req protocol.Request) {
			var r protocol.Register
			if err := protocol.DecodeData(req.Data, &r); err != nil {
				c.Fail(req.ID, protocol.CodeOf(err), err.Error())
				return
			}
			c.Reply(req.ID, protocol.RegisterReply{User: r.Name})
		}
		s.Handlers[protocol.TypeUserGet] = clifake.Reply(protocol.Profile{User: "alice", Email: "alice@example.com"})
		s.Handlers[protocol.TypeUserUpdate] = func(c *clifake.Conn, req protocol.Request) {
			var u protocol.UserUpdate
			_ = protocol.DecodeData(req.Data, &u)
			c.Reply(req.ID, protocol.Profile{User: "alice", Email: u.Email})
		}
		s.Handlers[protocol.TypeFriendAdd] = clifake.Reply(protocol.FriendState{User: "bob", State: protocol.FriendRequested})
		s.Handlers[protocol.TypeFriendList] = clifake.Reply(protocol.FriendListReply{Friends: []protocol.Friend{
			{User: "bob", State: protocol.FriendAccepted, Online: true},
			{User: "carol", State: protocol.FriendPending},
		}})
		s.Handlers[protocol.TypeAuthPasswd] = func(c *clifake.Conn, req protocol.Request) {
			var p protocol.Passwd
			_ = protocol.DecodeData(req.Data, &p)
			if p.OldPassword != "correct horse" {
				c.Fail(req.ID, protocol.CodeUnauthorized, "wrong password")
				return
			}
			c.Reply(req.ID, protocol.PasswdReply{Revoked: 2})
		}
	}}, setup...)
	s := clifake.Start(t, setup...)
	t.Setenv("HUDDLE_SERVER", s.Addr())
	return s
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, stdout, stderr := huddle(t, stdin, args...)
	if code != 0 {
		t.Fatalf("huddle %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

func TestFlowAgainstFake(t *testing.T) {
	s := startFake(t)
	if out := mustRun(t, "correct horse\n", "register", "alice", "--email", "alice@example.com"); out != "registered alice\n" {
		t.Fatalf("register printed %q", out)
	}
	out := mustRun(t, "correct horse\n", "login", "alice", "--json")
	if m := decodeLines(t, out)[0]; m["user"] != "alice" || m["server"] != s.Addr() {
		t.Fatalf("login printed %q", out)
	}
	b, err := os.ReadFile(filepath.Join(os.Getenv("HUDDLE_HOME"), sessionFile))
	var saved session
	if err != nil || json.Unmarshal(b, &saved) != nil || saved != (session{Server: s.Addr(), User: "alice", Token: "tok-alice"}) {
		t.Fatalf("session file %s (%v)", b, err)
	}
	if m := decodeLines(t, mustRun(t, "", "--json", "whoami"))[0]; m["user"] != "alice" {
		t.Fatalf("whoami --json: %v", m)
	}
	if tok := <-s.Resumes; tok != "tok-alice" {
		t.Fatalf("whoami resumed with %q", tok)
	}
	if out := mustRun(t, "", "whoami"); out != "alice\n" {
		t.Fatalf("whoami printed %q", out)
	}
	if m := decodeLines(t, mustRun(t, "", "profile", "--email", "new@example.com", "--json"))[0]; m["user"] != "alice" || m["email"] != "new@example.com" {
		t.Fatalf("profile --email: %v", m)
	}
	if out := mustRun(t, "", "profile"); !strings.Contains(out, "alice@example.com") {
		t.Fatalf("profile printed %q", out)
	}
	if out := mustRun(t, "", "friend", "add", "bob"); out != "friend request sent to bob\n" {
		t.Fatalf("friend add printed %q", out)
	}
	items := decodeLines(t, mustRun(t, "", "friend", "list", "--json"))
	if len(items) != 2 || items[0]["user"] != "bob" || items[0]["state"] != "accepted" || items[0]["online"] != true || items[1]["online"] != false {
		t.Fatalf("friend list --json: %v", items)
	}
	if out := mustRun(t, "", "friend", "list"); !strings.Contains(out, "bob    accepted  online") {
		t.Fatalf("friend list printed %q", out)
	}
	code, _, stderr := huddle(t, "", "friend", "accept", "bob") // the fake does not know friend.accept
	if code != 1 || !strings.Contains(stderr, "forbidden") {
		t.Fatalf("server error: exit %d, %q", code, stderr)
	}
	if out := mustRun(t, "correct horse\nnew password 2\n", "passwd"); !strings.Contains(out, "2 other session") {
		t.Fatalf("passwd printed %q", out)
	}
	code, _, stderr = huddle(t, "wrong\nnew password 2\n", "passwd", "--json")
	if code != 1 || !strings.Contains(stderr, `"code":"unauthorized"`) {
		t.Fatalf("passwd with a wrong password: exit %d, %q", code, stderr)
	}
	mustRun(t, "", "logout")
	if _, err := os.Stat(filepath.Join(os.Getenv("HUDDLE_HOME"), sessionFile)); !os.IsNotExist(err) {
		t.Fatalf("session file still there after logout: %v", err)
	}
	if code, _, _ := huddle(t, "", "whoami"); code != 1 {
		t.Fatalf("whoami after logout: exit %d", code)
	}
}

func TestRevokedSession(t *testing.T) {
	s := startFake(t)
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: clifake.Revoked})
	code, _, stderr := huddle(t, "", "whoami")
	if code != 1 || stderr != "huddle: session expired; log in again (huddle login NAME)\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// The dead session is gone: the next command says so at once.
	code, _, stderr = huddle(t, "", "whoami", "--json")
	if code != 1 || !strings.Contains(stderr, "not logged in (no session in") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// logout of a dead session still clears it.
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: clifake.Revoked})
	mustRun(t, "", "logout")
	if _, err := newApp(nil, nil, nil).loadSession(); err == nil {
		t.Fatal("session kept")
	}
}

func TestSessionServerMismatch(t *testing.T) {
	s := startFake(t)
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: "tok-alice"})
	other := closedAddr(t)
	code, _, stderr := huddle(t, "", "whoami", "--server", other)
	if code != 1 || !strings.Contains(stderr, "is for "+s.Addr()) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// Without an explicit address the session's server is used.
	t.Setenv("HUDDLE_SERVER", "")
	if out := mustRun(t, "", "whoami"); out != "alice\n" {
		t.Fatalf("whoami printed %q", out)
	}
}

func TestListenReconnects(t *testing.T) {
	s := startFake(t)
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: "tok-alice"})
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := huddle(t, "", "listen", "--count", "3", "--timeout", "20s")
		done <- result{code, stdout, stderr}
	}()
	c := s.NextConn()
	<-s.Resumes
	c.Push(protocol.PushPresence, protocol.Presence{User: "bob", Online: true})
	time.Sleep(50 * time.Millisecond) // let it arrive before the drop
	c.Close()
	c = s.NextConn()
	if tok := <-s.Resumes; tok != "tok-alice" {
		t.Fatalf("resumed with %q after reconnect", tok)
	}
	c.Push(protocol.PushFriendRequest, protocol.FriendEvent{User: "carol"})
	c.Push(protocol.PushPresence, protocol.Presence{User: "bob"})
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not stop after 3 pushes")
	}
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := `{"type":"presence","data":{"user":"bob","online":true}}
{"type":"friend.request","data":{"user":"carol"}}
{"type":"presence","data":{"user":"bob","online":false}}
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "reconnected") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestListenTimeout(t *testing.T) {
	s := startFake(t)
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: "tok-alice"})
	start := time.Now()
	code, stdout, stderr := huddle(t, "", "--json", "listen", "--timeout", "200ms")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Fatalf("listen took %v", d)
	}
}

func TestListenStopsWhenSessionEnds(t *testing.T) {
	var resumes atomic.Int32
	s := startFake(t, func(s *clifake.Server) {
		s.Handlers[protocol.TypeAuthResume] = func(c *clifake.Conn, req protocol.Request) {
			if resumes.Add(1) > 1 { // revoked while the connection was down
				c.Fail(req.ID, protocol.CodeUnauthorized, "session expired or revoked")
				return
			}
			c.Reply(req.ID, protocol.Session{User: "alice"})
			c.Close() // after the reply, so the first resume succeeds
		}
	})
	writeSession(t, session{Server: s.Addr(), User: "alice", Token: "tok-alice"})
	done := make(chan int, 1)
	var stderr string
	go func() {
		var code int
		code, _, stderr = huddle(t, "", "listen", "--timeout", "20s")
		done <- code
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr, "huddle: connection lost: server closed the connection; reconnecting in 200ms\n") ||
			!strings.HasSuffix(stderr, "huddle: session expired; log in again (huddle login NAME)\n") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(os.Getenv("HUDDLE_HOME"), sessionFile)); !os.IsNotExist(err) {
			t.Fatalf("session file after the resume was refused: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("listen kept going without a session")
	}
}
