package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test drives the real binaries: huddled as a subprocess and
// huddle once per command, with two HUDDLE_HOMEs for two users. Its helpers
// stay in this file: internal/testutil imports the server package, which
// the CLI's unit tests must not need.

const e2ePassword = "correct horse battery"

type e2e struct {
	t      *testing.T
	bin    string // directory holding huddle and huddled
	addr   string
	args   []string // huddled's arguments, the same on a restart
	server *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// syncBuffer is a bytes.Buffer safe for a subprocess writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBinaries builds both commands; a huddled that does not build yet
// skips the test rather than failing it.
func buildBinaries(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()
	build := func(pkg, out string) error {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, out), pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
		return nil
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	if err := build("huddle/cmd/huddled", "huddled"+exe); err != nil {
		t.Skipf("SKIP: ./cmd/huddled does not build yet, so the CLI end-to-end test cannot run:\n%v", err)
	}
	if err := build("huddle/cmd/huddle", "huddle"+exe); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startE2E(t *testing.T) *e2e {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops huddled with SIGTERM")
	}
	e := &e2e{t: t, bin: buildBinaries(t), addr: freePort(t), logs: &syncBuffer{}}
	data := t.TempDir()
	// Friends hear of going offline at once, so that the tests can expect
	// presence pushes exactly (huddled waits actors.presence_grace by default).
	// The relay takes a free port rather than 7702, so that test servers can
	// run side by side, and an unanswered call ends after 3s rather than 30s.
	config := filepath.Join(t.TempDir(), "huddled.yaml")
	yaml := "actors:\n  presence_grace: 0s\nmedia:\n  port: 0\nmeetings:\n  ring_timeout: 3s\n"
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	e.args = []string{"--config", config, "--listen", e.addr, "--http", freePort(t), "--media-ip", "127.0.0.1",
		"--store", "sqlite:" + filepath.Join(data, "huddle.db"), "--data", data}
	t.Cleanup(func() {
		if e.server != nil && e.server.Process != nil && e.server.ProcessState == nil {
			_ = e.server.Process.Kill()
			<-e.exited
		}
		if t.Failed() {
			t.Logf("huddled output:\n%s", e.logs.String())
		}
	})
	e.start()
	return e
}

// start runs huddled and waits until it accepts connections.
func (e *e2e) start() {
	t := e.t
	t.Helper()
	e.server = exec.Command(filepath.Join(e.bin, "huddled"), e.args...)
	e.server.Env = cleanEnv()
	e.server.Stdout, e.server.Stderr = e.logs, e.logs
	if err := e.server.Start(); err != nil {
		t.Fatalf("start huddled: %v", err)
	}
	e.exited = make(chan error, 1)
	go func() { e.exited <- e.server.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", e.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-e.exited:
			e.exited <- err
			t.Fatalf("huddled exited before listening: %v\n%s", err, e.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("huddled does not accept on %s after 20s\n%s", e.addr, e.logs.String())
		}
	}
}

// stop sends huddled SIGTERM and waits for it to drain and exit 0.
func (e *e2e) stop() {
	t := e.t
	t.Helper()
	if err := e.server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.exited:
		if err != nil {
			t.Fatalf("huddled after SIGTERM: %v\n%s", err, e.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("huddled still running 20s after SIGTERM\n%s", e.logs.String())
	}
}

// cleanEnv drops HUDDLE_* from the environment so that only the test's
// settings apply.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUDDLE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (e *e2e) command(home, stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(e.bin, "huddle"), args...)
	cmd.Env = append(cleanEnv(), "HUDDLE_HOME="+home, "HUDDLE_SERVER="+e.addr)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// huddle runs one CLI command and returns its exit status and output.
func (e *e2e) huddle(home, stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	return e.in("", home, stdin, args...)
}

// in runs one CLI command in dir ("": the test's) and returns its exit
// status and output.
func (e *e2e) in(dir, home, stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	cmd := e.command(home, stdin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	e.t.Fatalf("run huddle %v: %v", args, err)
	return 0, "", ""
}

// users registers and logs in each of names, each with a home of its own,
// and returns the homes in the order of names.
func (e *e2e) users(names ...string) []string {
	e.t.Helper()
	homes := make([]string, len(names))
	for i, name := range names {
		homes[i] = e.t.TempDir()
		e.ok(homes[i], e2ePassword+"\n", "register", name, "--email", name+"@example.com")
		e.ok(homes[i], e2ePassword+"\n", "login", name)
	}
	return homes
}

// ok runs a command that must succeed and returns its stdout.
func (e *e2e) ok(home, stdin string, args ...string) string {
	e.t.Helper()
	code, out, errs := e.huddle(home, stdin, args...)
	if code != 0 {
		e.t.Fatalf("huddle %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fails runs a command that must exit with code and returns its stderr.
func (e *e2e) fails(code int, home, stdin string, args ...string) string {
	e.t.Helper()
	got, out, errs := e.huddle(home, stdin, args...)
	if got != code {
		e.t.Fatalf("huddle %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	return errs
}

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

// listenProc is `huddle listen` running in the background.
type listenProc struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	ready  chan struct{} // closed when it says it is listening
	done   chan error
}

func (e *e2e) listen(home string, args ...string) *listenProc {
	e.t.Helper()
	l := &listenProc{cmd: e.command(home, "", append([]string{"listen"}, args...)...),
		ready: make(chan struct{}), done: make(chan error, 1)}
	l.cmd.Stdout = &l.stdout
	pipe, err := l.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		ready := false
		for sc.Scan() {
			_, _ = l.stderr.Write([]byte(sc.Text() + "\n"))
			if !ready && strings.HasPrefix(sc.Text(), "listening as ") {
				ready = true
				close(l.ready)
			}
		}
		l.done <- l.cmd.Wait() // after the pipe is drained
	}()
	e.t.Cleanup(func() { _ = l.cmd.Process.Kill() })
	select {
	case <-l.ready:
	case err := <-l.done:
		e.t.Fatalf("listen exited early: %v\n%s", err, l.stderr.String())
	case <-time.After(15 * time.Second):
		e.t.Fatal("listen not ready after 15s")
	}
	return l
}

// first waits up to 30s for the first push of type typ the listen process
// prints, passing over others (a member list's online flags change with
// every CLI command of a member), and returns its data.
func (l *listenProc) first(t *testing.T, typ string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, p := range jsonLines(t, l.stdout.String()) {
			if p["type"] == typ {
				return p["data"].(map[string]any)
			}
		}
	}
	t.Fatalf("no %s push within 30s; printed:\n%s", typ, l.stdout.String())
	return nil
}

// pushes waits for the listen process to exit 0 and returns its pushes.
func (l *listenProc) pushes(t *testing.T) []map[string]any {
	t.Helper()
	select {
	case err := <-l.done:
		if err != nil {
			t.Fatalf("listen: %v\nstderr: %s", err, l.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("listen did not finish within 30s")
	}
	return jsonLines(t, l.stdout.String())
}

func pushFrom(p map[string]any) (typ, user string) {
	typ, _ = p["type"].(string)
	if d, ok := p["data"].(map[string]any); ok {
		user, _ = d["user"].(string)
	}
	return typ, user
}

func TestCLIEndToEnd(t *testing.T) {
	e := startE2E(t)
	alice, bob := t.TempDir(), t.TempDir()

	e.ok(alice, e2ePassword+"\n", "register", "alice", "--email", "alice@example.com")
	e.ok(bob, e2ePassword+"\n", "register", "bob", "--email", "bob@example.com")
	e.fails(1, bob, e2ePassword+"\n", "register", "alice", "--email", "x@example.com") // taken
	e.ok(alice, e2ePassword+"\n", "login", "alice")
	e.ok(bob, e2ePassword+"\n", "--json", "login", "bob")
	e.fails(1, bob, "wrong password\n", "login", "bob")

	if fi, err := os.Stat(filepath.Join(alice, sessionFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v, %v", fi, err)
	}
	if m := jsonLines(t, e.ok(alice, "", "whoami", "--json"))[0]; m["user"] != "alice" {
		t.Fatalf("whoami --json = %v", m)
	}
	if out := e.ok(bob, "", "whoami"); out != "bob\n" {
		t.Fatalf("whoami = %q", out)
	}

	m := jsonLines(t, e.ok(alice, "", "--json", "profile", "--email", "alice@example.org"))[0]
	if m["user"] != "alice" || m["email"] != "alice@example.org" {
		t.Fatalf("profile --email = %v", m)
	}
	if m := jsonLines(t, e.ok(alice, "", "profile", "--json"))[0]; m["email"] != "alice@example.org" {
		t.Fatalf("profile after change = %v", m)
	}
	e.fails(1, alice, "", "profile", "--email", "not-an-address")

	// bob hears alice's friend request.
	l := e.listen(bob, "--count", "1", "--timeout", "30s")
	if m := jsonLines(t, e.ok(alice, "", "friend", "add", "bob", "--json"))[0]; m["user"] != "bob" || m["state"] != "requested" {
		t.Fatalf("friend add = %v", m)
	}
	if p := l.pushes(t); len(p) != 1 || p[0]["type"] != "friend.request" || p[0]["data"].(map[string]any)["user"] != "alice" {
		t.Fatalf("bob's pushes = %v", p)
	}
	items := jsonLines(t, e.ok(bob, "", "friend", "list", "--json"))
	if len(items) != 1 || items[0]["user"] != "alice" || items[0]["state"] != "pending" {
		t.Fatalf("bob's friend list = %v", items)
	}

	// alice hears bob accept.
	l = e.listen(alice, "--count", "1", "--timeout", "30s")
	if m := jsonLines(t, e.ok(bob, "", "--json", "friend", "accept", "alice"))[0]; m["state"] != "accepted" {
		t.Fatalf("friend accept = %v", m)
	}
	if p := l.pushes(t); len(p) != 1 {
		t.Fatalf("alice's pushes = %v", p)
	} else if typ, user := pushFrom(p[0]); user != "bob" || (typ != "friend.accepted" && typ != "presence") {
		t.Fatalf("alice's push = %v", p[0])
	}

	// While bob listens he is online, and hears alice come and go. (With
	// --count 1 his listen could end on alice's arrival, before her list.)
	l = e.listen(bob, "--count", "2", "--timeout", "30s")
	items = jsonLines(t, e.ok(alice, "", "friend", "list", "--json"))
	if len(items) != 1 || items[0]["user"] != "bob" || items[0]["state"] != "accepted" || items[0]["online"] != true {
		t.Fatalf("alice's friend list = %v", items)
	}
	p := l.pushes(t)
	if len(p) != 2 {
		t.Fatalf("bob's pushes = %v", p)
	}
	for i, online := range []bool{true, false} {
		if typ, user := pushFrom(p[i]); typ != "presence" || user != "alice" || p[i]["data"].(map[string]any)["online"] != online {
			t.Fatalf("bob's push %d = %v, want alice online=%v", i, p[i], online)
		}
	}
	if out := e.ok(alice, "", "friend", "list"); !strings.Contains(out, "bob") || !strings.Contains(out, "accepted") {
		t.Fatalf("friend list = %q", out)
	}

	// passwd: two stdin lines; the old password stops working.
	const newPassword = "a brand new password"
	e.ok(alice, e2ePassword+"\n"+newPassword+"\n", "passwd")
	e.fails(1, alice, "wrong\n"+newPassword+"x\n", "passwd")
	e.fails(1, alice, e2ePassword+"\n", "login", "alice")
	e.ok(alice, newPassword+"\n", "login", "alice")
	e.ok(alice, "", "whoami")

	e.ok(alice, "", "logout")
	if errs := e.fails(1, alice, "", "whoami"); !strings.Contains(errs, "not logged in") {
		t.Fatalf("whoami after logout: %q", errs)
	}
	e.ok(bob, "", "logout")
	e.fails(1, bob, "", "--json", "friend", "list")

	e.fails(2, alice, "", "friend")
	e.fails(2, alice, "", "register", "carol")
	e.fails(2, alice, "", "whoami", "--no-such-flag")

	// SIGTERM drains the server, which must exit 0.
	e.stop()
}
