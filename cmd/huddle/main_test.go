package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"huddle/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// huddle runs the CLI in-process with HUDDLE_HOME and HUDDLE_SERVER as the
// test set them.
func huddle(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// isolate gives the test its own home and a server address nothing listens on.
func isolate(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	t.Setenv("HUDDLE_HOME", home)
	t.Setenv("HUDDLE_SERVER", closedAddr(t))
	return home
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUsageErrors(t *testing.T) {
	tests := []usageCase{
		{"no command", nil, "no command"},
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"group without subcommand", []string{"friend"}, "missing subcommand"},
		{"unknown subcommand", []string{"friend", "poke", "bob"}, `unknown command "friend poke"`},
		{"register without name", []string{"register", "--email", "a@example.com"}, "missing argument"},
		{"register without email", []string{"register", "alice"}, "--email is required"},
		{"login without name", []string{"login"}, "missing argument"},
		{"login with two names", []string{"login", "alice", "bob"}, `unexpected argument "bob"`},
		{"whoami with argument", []string{"whoami", "alice"}, `unexpected argument "alice" (usage: huddle whoami)`},
		{"friend add without name", []string{"friend", "add"}, "missing argument"},
		{"friend list with argument", []string{"friend", "list", "x"}, "unexpected argument"},
		{"unknown global flag", []string{"--bogus", "whoami"}, "unknown flag --bogus"},
		{"unknown command flag", []string{"whoami", "--bogus"}, "whoami: unknown flag --bogus"},
		{"flag without value", []string{"profile", "--email"}, "flag needs an argument: --email"},
		{"bad count", []string{"listen", "--count", "x"}, "invalid value"},
		{"bad boolean", []string{"--json=maybe", "whoami"}, `invalid boolean value "maybe" for --json`},
		{"negative count", []string{"listen", "--count", "-1"}, "must not be negative"},
		{"bad timeout", []string{"listen", "--timeout", "soon"}, "invalid value"},
		{"empty server", []string{"--server", "", "whoami"}, "empty address"},
		{"server not HOST:PORT", []string{"--server", "nonsense", "whoami"}, `invalid value "nonsense" for flag --server: want HOST:PORT`},
		{"server without host", []string{"whoami", "--server", ":7700"}, "want HOST:PORT"},
		{"server with a bad port", []string{"login", "alice", "--server", "localhost:http"}, `port 1-65535, not "http"`},
		{"server port out of range", []string{"--server", "localhost:70000", "listen"}, "port 1-65535"},
		{"help for an unknown command", []string{"help", "nosuch"}, `unknown command "nosuch"`},
		{"help for an unknown subcommand", []string{"help", "group", "nosuch"}, `unknown command "group nosuch"`},
		{"send without text", []string{"send", "bob"}, "missing argument"},
		{"send empty text", []string{"send", "bob", " "}, "empty message"},
		{"send invalid UTF-8", []string{"send", "bob", "\xff\xfe bad"}, "not valid UTF-8"},
		{"group send invalid UTF-8", []string{"group", "send", "devs", "ok \xc3"}, "not valid UTF-8"},
		{"group send without text", []string{"group", "send", "devs"}, "missing argument"},
		{"history without name", []string{"history"}, "missing argument"},
		{"history with two names", []string{"history", "bob", "carol"}, `unexpected argument "carol"`},
		{"history limit zero", []string{"history", "bob", "--limit", "0"}, "--limit must be 1-200"},
		{"history limit too big", []string{"group", "history", "devs", "--limit", "201"}, "--limit must be 1-200"},
		{"history negative before", []string{"history", "bob", "--before", "-1"}, "must not be negative"},
		{"history after not below before", []string{"history", "bob", "--before", "5", "--after", "5"}, "--after must be below --before"},
		{"history bad seq", []string{"history", "bob", "--after", "x"}, "invalid value"},
		{"group create without name", []string{"group", "create"}, "missing argument"},
		{"group add without users", []string{"group", "add", "devs"}, "missing argument"},
		{"group remove without users", []string{"group", "remove", "devs"}, "missing argument"},
		{"group leave with two", []string{"group", "leave", "devs", "ops"}, "unexpected argument"},
		{"group role bad role", []string{"group", "role", "devs", "bob", "owner"}, "role must be admin or member"},
		{"group role without role", []string{"group", "role", "devs", "bob"}, "missing argument"},
		{"group without subcommand", []string{"group"}, "missing subcommand"},
		{"unread with argument", []string{"unread", "bob"}, "unexpected argument"},
	}
	checkUsageErrors(t, tests)
}

// usageCase is a command line that must be a usage error: exit 2, with
// want in stderr and no result on stdout.
type usageCase struct {
	name string
	args []string
	want string // in stderr
}

func checkUsageErrors(t *testing.T, tests []usageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			code, stdout, stderr := huddle(t, "", tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
			if strings.Contains(stdout, "{") {
				t.Fatalf("stdout %q on a usage error", stdout)
			}
		})
	}
}

func TestServerFromEnv(t *testing.T) {
	isolate(t)
	t.Setenv("HUDDLE_SERVER", "nonsense")
	code, _, stderr := huddle(t, "", "whoami")
	if code != 2 || !strings.Contains(stderr, `HUDDLE_SERVER="nonsense": want HOST:PORT`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// --server replaces a bad HUDDLE_SERVER: not logged in, no usage error.
	if code, _, stderr := huddle(t, "", "whoami", "--server", "127.0.0.1:7700"); code != 1 || !strings.Contains(stderr, "not logged in") {
		t.Fatalf("with --server: exit %d, stderr %q", code, stderr)
	}
}

func TestUsageErrorJSON(t *testing.T) {
	isolate(t)
	code, _, stderr := huddle(t, "", "login", "--json")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code != 2 || json.Unmarshal([]byte(stderr), &e) != nil || e.Error.Code != "bad_request" || e.Error.Message == "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestPasswordInputErrors(t *testing.T) {
	isolate(t)
	if code, _, stderr := huddle(t, "", "register", "alice", "--email", "a@example.com"); code != 2 || !strings.Contains(stderr, "password") {
		t.Fatalf("register with empty stdin: exit %d, %q", code, stderr)
	}
	if code, _, stderr := huddle(t, "\n", "login", "alice"); code != 2 || !strings.Contains(stderr, "empty line") {
		t.Fatalf("login with an empty line: exit %d, %q", code, stderr)
	}
	writeSession(t, session{Server: os.Getenv("HUDDLE_SERVER"), User: "alice", Token: "tok-alice"})
	if code, _, stderr := huddle(t, "only-the-old-one\n", "passwd"); code != 2 || !strings.Contains(stderr, "no more lines") {
		t.Fatalf("passwd with one line: exit %d, %q", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"--version"}, {"whoami", "--version"}} {
		code, stdout, _ := huddle(t, "", args...)
		if args[0] == "--version" && (code != 0 || !strings.HasPrefix(stdout, "huddle "+version)) {
			t.Fatalf("%v: exit %d, %q", args, code, stdout)
		}
		if args[0] != "--version" && code != 2 {
			t.Fatalf("%v: exit %d, want 2 (--version is not a command flag)", args, code)
		}
	}
	code, stdout, stderr := huddle(t, "", "--json", "--version")
	var v struct {
		Version  string `json:"version"`
		Protocol int    `json:"protocol"`
	}
	if code != 0 || stderr != "" || json.Unmarshal([]byte(stdout), &v) != nil || v.Version != version || v.Protocol != protocol.Version {
		t.Fatalf("--json --version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"login", "-h"}, {"help", "friend"}, {"help", "friend", "add"}} {
		code, stdout, _ := huddle(t, "", args...)
		if code != 0 || !strings.Contains(stdout, "usage: huddle") {
			t.Fatalf("%v: exit %d, %q", args, code, stdout)
		}
	}
	_, helpGroup, _ := huddle(t, "", "help", "group")
	for _, args := range [][]string{{"group", "--help"}, {"group", "-h"}} {
		code, stdout, stderr := huddle(t, "", args...)
		if code != 0 || stdout != helpGroup || stderr != "" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want huddle help group", args, code, stdout, stderr)
		}
	}
	stdout = helpGroup
	if !strings.Contains(stdout, "group send GROUP TEXT") || !strings.Contains(stdout, "group history GROUP [--limit N]") || strings.Contains(stdout, "friend") {
		t.Fatalf("help group lists:\n%s", stdout)
	}
	_, stdout, _ = huddle(t, "", "help", "friend")
	if !strings.Contains(stdout, "friend accept NAME") || strings.Contains(stdout, "register") {
		t.Fatalf("help friend lists:\n%s", stdout)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args  []string
		pos   []string
		email string
		json  bool
	}{
		{[]string{"alice", "--email", "a@x.io"}, []string{"alice"}, "a@x.io", false},
		{[]string{"--email=a@x.io", "alice", "--json"}, []string{"alice"}, "a@x.io", true},
		{[]string{"alice", "--", "--json"}, []string{"alice", "--json"}, "", false},
		{[]string{"a", "b", "--json", "c"}, []string{"a", "b", "c"}, "", true},
	}
	for _, tt := range tests {
		a := newApp(nil, nil, nil)
		cl := &cmdLine{cmd: &command{name: "t"}, a: a, fs: a.newFlagSet("t"), args: tt.args}
		email := cl.fs.String("email", "", "")
		pos, err := cl.parse(0, -1)
		if err != nil || strings.Join(pos, " ") != strings.Join(tt.pos, " ") || *email != tt.email || a.json != tt.json {
			t.Errorf("%q: pos %q email %q json %v err %v", tt.args, pos, *email, a.json, err)
		}
	}
}

func writeSession(t *testing.T, s session) {
	t.Helper()
	a := newApp(nil, nil, nil)
	if err := a.saveSession(s); err != nil {
		t.Fatal(err)
	}
}

func TestSessionFile(t *testing.T) {
	home := isolate(t)
	a := newApp(nil, nil, nil)
	if _, err := a.loadSession(); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("load without a session: %v", err)
	}
	want := session{Server: "127.0.0.1:7700", User: "alice", Token: "tok-alice"}
	if err := a.saveSession(want); err != nil {
		t.Fatal(err)
	}
	want.Token = "tok-newer" // overwrite in place
	if err := a.saveSession(want); err != nil {
		t.Fatal(err)
	}
	got, err := a.loadSession()
	if err != nil || got != want {
		t.Fatalf("load = %+v, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		for path, mode := range map[string]os.FileMode{home: 0o700, filepath.Join(home, sessionFile): 0o600} {
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
			}
		}
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("home holds %d entries, want only %s", len(entries), sessionFile)
	}
	if err := os.WriteFile(filepath.Join(home, sessionFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.loadSession(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("load of a damaged file: %v", err)
	}
	if err := a.removeSession(); err != nil {
		t.Fatal(err)
	}
	if err := a.removeSession(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"whoami"}, {"whoami", "--json"}, {"--json", "friend", "list"}, {"logout"}} {
		code, _, stderr := huddle(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "not logged in") || !strings.Contains(stderr, "huddle login") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if strings.Contains(strings.Join(args, " "), "--json") && !strings.Contains(stderr, `"code":"unauthorized"`) {
			t.Fatalf("%v: stderr %q, want code unauthorized", args, stderr)
		}
	}
}

func TestNetworkError(t *testing.T) {
	isolate(t)
	code, _, stderr := huddle(t, "correct horse\n", "--json", "login", "alice")
	if code != 1 || !strings.Contains(stderr, `"code":"unavailable"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestServerNotRunning: a command that cannot connect says where it tried,
// once, and how to point it elsewhere, and exits 1 (unavailable).
func TestServerNotRunning(t *testing.T) {
	isolate(t)
	addr := os.Getenv("HUDDLE_SERVER")
	code, stdout, stderr := huddle(t, "secret password\n", "login", "alice")
	want := "huddle: cannot reach the server at " + addr + ": connect: connection refused (is huddled running there? --server or HUDDLE_SERVER names another address)\n"
	if runtime.GOOS != "linux" { // the errno's text and its match differ elsewhere
		want = "huddle: cannot reach the server at " + addr + ": "
	}
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want stderr %q", code, stdout, stderr, want)
	}
	code, _, stderr = huddle(t, "secret password\n", "--json", "login", "alice")
	if code != 1 || !strings.Contains(stderr, `"code":"unavailable"`) || strings.Count(stderr, addr) != 1 {
		t.Fatalf("--json: exit %d, stderr %q", code, stderr)
	}
}
