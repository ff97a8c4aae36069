package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"huddle/configs"
	"huddle/internal/testutil/proc"
)

// clearEnv unsets every HUDDLE_* variable for the test (restored after it),
// so that only the test's settings apply.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HUDDLE_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// runHuddled runs huddled in this process and returns its exit status,
// stdout and stderr. It is for runs that end by themselves.
func runHuddled(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The data directory carries the SQLite database with it unless the store
// is set, by the file, the environment or a flag.
func TestDataMovesDefaultStore(t *testing.T) {
	dir := t.TempDir()
	inDir := "sqlite:" + filepath.Join(dir, "huddle.db")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"defaults", nil, nil, "sqlite:" + filepath.Join("data", "huddle.db")},
		{"--data", nil, []string{"--data", dir}, inDir},
		{"HUDDLE_DATA", map[string]string{"HUDDLE_DATA": dir}, nil, inDir},
		{"data in the file", nil, []string{"--config", writeFile(t, "data: "+dir+"\n")}, inDir},
		{"store in the file", nil, []string{"--config", writeFile(t, "store: sqlite:/x/h.db\n"), "--data", dir}, "sqlite:/x/h.db"},
		{"HUDDLE_STORE", map[string]string{"HUDDLE_STORE": "sqlite:/x/h.db", "HUDDLE_DATA": dir}, nil, "sqlite:/x/h.db"},
		{"--store", nil, []string{"--store", "sqlite:/x/h.db", "--data", dir}, "sqlite:/x/h.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, _, err := loadConfig(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.EffectiveStore(); got != tt.want {
				t.Errorf("store %q, want %q", got, tt.want)
			}
		})
	}
}

// A bad configuration exits with 2 before anything starts, and every line
// it prints carries the prefix.
func TestConfigErrors(t *testing.T) {
	config := writeFile(t, "chat:\n  max_text: 600000\nnet:\n  heartbeat: 5m\n")
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		names []string // keys the error must name, one line each
	}{
		{"listen port", nil, []string{"--listen", "127.0.0.1:99999"}, []string{"listen"}},
		{"http port", nil, []string{"--http", "127.0.0.1:-1"}, []string{"http"}},
		{"HUDDLE_LISTEN", map[string]string{"HUDDLE_LISTEN": "nonsense"}, nil, []string{"listen"}},
		{"metrics address", nil, []string{"--metrics", "127.0.0.1:http"}, []string{"metrics.addr"}},
		{"several", nil, []string{"--config", config, "--listen", "127.0.0.1:99999"},
			[]string{"listen", "net.heartbeat", "chat.max_text"}},
		{"unknown key", nil, []string{"--config", writeFile(t, "net:\n  bogus: 1\n")}, []string{"bogus"}},
		{"unknown key and others", nil, []string{"--config", writeFile(t, "bogus: 1\nmedia:\n  port: 70000\nnet:\n  max_frame: -1\n")},
			[]string{"bogus", "media.port", "net.max_frame"}},
		{"unknown flag", nil, []string{"--bogus"}, []string{"bogus", "--help"}},
		{"argument", nil, []string{"serve"}, []string{"serve", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runHuddled(t, tt.args...)
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, "huddled: ") {
					t.Errorf("line without the prefix: %q", l)
				}
			}
			if len(lines) < len(tt.names) {
				t.Errorf("%d lines for %d problems:\n%s", len(lines), len(tt.names), stderr)
			}
			for _, name := range tt.names {
				if !strings.Contains(stderr, name) {
					t.Errorf("stderr does not name %s:\n%s", name, stderr)
				}
			}
		})
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "huddled.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// --help names, for every flag, the key it overrides, its default and its
// environment variable.
func TestHelp(t *testing.T) {
	clearEnv(t)
	code, stdout, stderr := runHuddled(t, "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := []string{
		`--listen ADDR +control TCP address \(listen; default 127\.0\.0\.1:7700; env HUDDLE_LISTEN\)`,
		`--store URL +.*\(store; default sqlite:<data>/huddle\.db; env HUDDLE_STORE\)`,
		`--log-level LEVEL +.*\(log\.level; default info; env HUDDLE_LOG_LEVEL\)`,
		`--config FILE +.*env HUDDLE_CONFIG`,
		`--version +print the version`,
	}
	for _, s := range configs.Settings() {
		want = append(want, regexp.QuoteMeta("--"+s.Flag+" "+s.Arg)+` +`+regexp.QuoteMeta(
			s.Usage+" ("+s.Key+"; default "+s.Default()+"; env "+s.Env()+")")+"\n")
	}
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(stdout) {
			t.Errorf("help does not match %s:\n%s", w, stdout)
		}
	}
}

// A data directory that cannot be made fails the start with a message that
// says so; a missing one is created, private, with the database in it.
func TestDataDirectory(t *testing.T) {
	clearEnv(t)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{notDir, filepath.Join(notDir, "sub")} {
		code, _, stderr := runHuddled(t, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", data)
		if code != 1 || !strings.Contains(stderr, "data directory") || !strings.Contains(stderr, data) {
			t.Errorf("--data %s: exit %d, want 1 and a message naming the data directory:\n%s", data, code, stderr)
		}
		if strings.Contains(stderr, "huddled running") {
			t.Errorf("--data %s: huddled ran", data)
		}
	}

	data := filepath.Join(t.TempDir(), "new", "data")
	logs := runUntilRunning(t, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", data)
	fi, err := os.Stat(data)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory %s: %v, %v; want a directory with mode 0700", data, fi, err)
	}
	db := filepath.Join(data, "huddle.db")
	if _, err := os.Stat(db); err != nil {
		t.Errorf("database not in the data directory: %v", err)
	}
	if !strings.Contains(logs, "store=sqlite:"+db) {
		t.Errorf("the startup log does not name the store %s:\n%s", db, logs)
	}
}

// runUntilRunning runs huddled in this process until it logs that it is
// running, stops it as SIGTERM would, and returns its log.
func runUntilRunning(t *testing.T, args ...string) string {
	t.Helper()
	return runWhileRunning(t, nil, args...)
}

// runWhileRunning is runUntilRunning that calls during, if not nil, with
// the log so far once huddled runs, and stops huddled when it returns.
func runWhileRunning(t *testing.T, during func(logs string), args ...string) string {
	t.Helper()
	args = append([]string{"--config", anyMediaPort(t)}, args...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &proc.Buffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, io.Discard, logs) }()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(logs.String(), "huddled running") {
		select {
		case c := <-code:
			t.Fatalf("huddled exited with %d before running:\n%s", c, logs)
		case <-deadline:
			t.Fatalf("huddled not running after 20s:\n%s", logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if during != nil {
		during(logs.String())
	}
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("huddled exited with %d after the stop:\n%s", c, logs)
	}
	return logs.String()
}

// anyMediaPort writes a configuration file that lets the relay pick free
// ports, so that tests do not need the default 7702 (and do not stop
// because a huddled of someone else's holds it).
func anyMediaPort(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "media.yaml")
	if err := os.WriteFile(path, []byte("media:\n  port: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The startup log gives one connection capacity: every max_conns it
// prints is the same number.
func TestStartupLogCapacity(t *testing.T) {
	clearEnv(t)
	logs := runUntilRunning(t, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", t.TempDir())
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:^| )max_conns=(\d+)`).FindAllStringSubmatch(logs, -1) {
		seen[m[1]] = true
	}
	if len(seen) != 1 {
		t.Fatalf("max_conns values %v in the log, want one:\n%s", seen, logs)
	}
	if n := strings.Count(logs, "fd_limit="); n != 1 {
		t.Errorf("fd_limit logged %d times, want once:\n%s", n, logs)
	}
}

func TestConnCapacity(t *testing.T) {
	tests := []struct {
		want             int
		fdLimit, reserve uint64
		got              int
	}{
		{100000, 0, 85, 100000}, // limit unknown
		{100000, 1 << 20, 85, 100000},
		{100000, 20000, 85, 19915},
		{100, 20000, 85, 100},
		{100, 50, 85, 1},
	}
	for _, tt := range tests {
		if got := connCapacity(tt.want, tt.fdLimit, tt.reserve); got != tt.got {
			t.Errorf("connCapacity(%d, %d, %d) = %d, want %d", tt.want, tt.fdLimit, tt.reserve, got, tt.got)
		}
	}
}

// When the file limit caps connections, the log says so once with both
// numbers, and huddled runs with the capped one.
func TestLogCapacity(t *testing.T) {
	cfg := configs.DefaultConfig()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	reserve := fdReserve(cfg)
	got := logCapacity(log, cfg, 20000)
	if want := 20000 - int(reserve); got != want {
		t.Fatalf("capacity %d, want %d", got, want)
	}
	line := buf.String()
	for _, w := range []string{"capped by the file limit", "max_conns=" + strconv.Itoa(got), "net.max_conns=100000", "fd_limit=20000"} {
		if !strings.Contains(line, w) {
			t.Errorf("log %q lacks %q", line, w)
		}
	}
	buf.Reset()
	if got := logCapacity(log, cfg, 1<<20); got != cfg.Net.MaxConns || strings.Contains(buf.String(), "capped") {
		t.Errorf("capacity %d with a high limit, log %q; want net.max_conns, not capped", got, buf.String())
	}
}

// --metrics serves GET /debug/vars with the relay's and the front end's
// counters; an address that cannot be bound fails the start with exit 1
// and a message naming the setting.
func TestMetricsFlag(t *testing.T) {
	clearEnv(t)
	base := []string{"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", t.TempDir()}
	runWhileRunning(t, func(logs string) {
		m := regexp.MustCompile(`huddled running.* metrics=(\S+)`).FindStringSubmatch(logs)
		if m == nil {
			t.Fatalf("the running log names no metrics address:\n%s", logs)
		}
		resp, err := http.Get("http://" + m[1] + "/debug/vars")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var vars map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /debug/vars: %s, %v", resp.Status, err)
		}
		for _, k := range []string{"relay", "relay_latency", "netio"} {
			if len(vars[k]) == 0 || vars[k][0] != '{' {
				t.Errorf("/debug/vars has no object %q: %v", k, vars)
			}
		}
		var lat struct {
			Enabled *bool            `json:"enabled"`
			Buckets *json.RawMessage `json:"buckets"`
		}
		if err := json.Unmarshal(vars["relay_latency"], &lat); err != nil || lat.Enabled == nil || !*lat.Enabled || lat.Buckets == nil {
			t.Errorf("relay_latency %s: %v", vars["relay_latency"], err)
		}
		http.DefaultClient.CloseIdleConnections()
	}, append(base, "--metrics", "127.0.0.1:0")...)

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	args := append([]string{"--config", anyMediaPort(t), "--metrics", taken.Addr().String()}, base...)
	code, _, stderr := runHuddled(t, args...)
	if code != 1 || !strings.Contains(stderr, "metrics.addr") || !strings.Contains(stderr, taken.Addr().String()) ||
		strings.Contains(stderr, "huddled running") {
		t.Fatalf("--metrics %s (taken): exit %d, want 1 and a message naming metrics.addr:\n%s", taken.Addr(), code, stderr)
	}
}

// huddled runs one P per CPU and per event loop, unless GOMAXPROCS says.
func TestSetProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	t.Setenv("GOMAXPROCS", "")
	if got, want := setProcs(3), runtime.NumCPU()+3; got != want || runtime.GOMAXPROCS(0) != want {
		t.Fatalf("setProcs(3) = %d, GOMAXPROCS %d; want %d", got, runtime.GOMAXPROCS(0), want)
	}
	runtime.GOMAXPROCS(before)
	t.Setenv("GOMAXPROCS", strconv.Itoa(before))
	if got := setProcs(3); got != before || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("with GOMAXPROCS=%d set: setProcs(3) = %d, GOMAXPROCS %d", before, got, runtime.GOMAXPROCS(0))
	}
}
