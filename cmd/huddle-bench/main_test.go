package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"huddle/internal/testutil"
	"huddle/protocol"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(forwarderEnv); spec != "" { // hop starts this binary as its forwarder
		os.Exit(forwarderMain(spec))
	}
	goleak.VerifyTestMain(m,
		// As in server/main_test.go: gnet's default worker pool lives for the
		// process, protoactor's throttle timer ends a moment after shutdown.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1.1"),
	)
}

// bench runs huddle-bench in-process and returns its exit status and output.
func bench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestScenarios(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Metrics.Addr = "127.0.0.1:0"
	srv := testutil.StartServer(t, cfg)
	addr := srv.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"request", []string{"request", "--conns", "3", "--pipeline", "2", "--duration", "500ms"}},
		{"login", []string{"login", "--conns", "2", "--duration", "500ms"}},
		{"connect", []string{"connect", "--conns", "3", "--users", "2", "--duration", "300ms"}},
		// The server runs in this process, so idle finds it by its port.
		{"idle", []string{"idle", "--conns", "20", "--users", "3", "--steps", "2", "--pause", "50ms", "--hold", "100ms"}},
		{"chat", []string{"chat", "--clients", "3", "--pipeline", "2", "--duration", "300ms"}},
		// --max-lag 1: the senders wait for the members again and again (the drive's gate).
		{"fanout", []string{"fanout", "--members", "4", "--senders", "2", "--pipeline", "2", "--duration", "300ms", "--size", "40", "--max-lag", "1"}},
		{"mixed", []string{"mixed", "--clients", "4", "--pipeline", "2", "--duration", "300ms", "--mix", "send=4,group=2,history=2,typing=1,get=1"}},
		{"file", []string{"file", "--size", "4MiB"}},
		// Paced below the test server's media.source_rate (2000/s).
		{"media", []string{"media", "--meetings", "2", "--fanout", "3", "--rate", "400", "--duration", "300ms", "--warmup", "200ms",
			"--metrics", "http://" + srv.MetricsAddr().String()}},
		// No server: the same load through the bench's own forwarder,
		// pinned to a CPU this test may use (Linux only).
		{"hop", []string{"hop", "--meetings", "2", "--fanout", "3", "--rate", "400", "--duration", "300ms", "--warmup", "0", "--cpu", strconv.Itoa(someCPU(t))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "hop" && runtime.GOOS != "linux" {
				t.Skip("hop runs on Linux only")
			}
			code, stdout, stderr := bench(t, append([]string{"--server", addr, "--json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			var res result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("output %q: %v", stdout, err)
			}
			if res.Scenario != tc.name || res.Ops <= 0 || res.Errors != 0 || res.OpsPerSec <= 0 || res.Unit == "" {
				t.Fatalf("result %+v", res)
			}
			switch tc.name {
			case "idle":
				if res.ServerPID == 0 || res.RSSAfterBytes <= 0 {
					t.Fatalf("idle did not measure RSS: %+v", res)
				}
			case "chat":
				// Every acked message reached its peer, and nothing else did.
				if res.Messages != res.Ops || res.Deliveries != res.Messages || res.DeliveryP50ms <= 0 {
					t.Fatalf("chat: %+v", res)
				}
			case "file":
				// Both directions ran next to the baseline, with the
				// server's RSS read while they did.
				for _, tr := range []*fileTransfer{res.Upload, res.Download} {
					if tr == nil || tr.MiBPerSec <= 0 || tr.BaselineMiBPerSec <= 0 || tr.Ratio <= 0 ||
						tr.BytesMiBPerSec <= 0 || tr.RSSSamples == 0 || tr.ServerRSSMax < tr.ServerRSSMin {
						t.Fatalf("file: %+v", tr)
					}
				}
				if res.FileBytes != 4<<20 || res.SHA256Seconds <= 0 {
					t.Fatalf("file: %+v", res)
				}
			case "media":
				// Packets went through the relay to the subscribers, none
				// more than once, and their latency was measured.
				if res.Sent <= 0 || res.Received <= 0 || res.Received > res.Sent*int64(res.Fanout) ||
					res.Loss == nil || res.Meetings != 2 || res.Fanout != 3 || res.P50ms <= 0 || res.P99ms < res.P50ms {
					t.Fatalf("media: %+v", res)
				}
				// The warm-up's 200 ms of packets are in no figure: had the
				// receivers kept them, more than 2 × 3 × 400 × 1.1 would
				// have arrived per second of the run; had the publishers
				// kept their counts, they would have owed, sent and
				// delivered only a third of the run's packets.
				if res.WarmupSeconds != 0.2 || res.OpsPerSec > 2*3*400*1.1 || *res.Loss > 0.3 {
					t.Fatalf("media: the warm-up was counted: %+v (loss %v)", res, *res.Loss)
				}
				// The relay's own latency, of the packets it forwarded in
				// the run: each at most once, however many copies.
				if l := res.RelayLatency; l == nil || l.Datagrams == 0 || l.Datagrams > uint64(res.Sent) ||
					l.P50us <= 0 || l.P99us < l.P50us || l.P999us < l.P99us {
					t.Fatalf("media relay latency: %+v (sent %d)", l, res.Sent)
				}
			case "mixed":
				// Every kind was asked and answered, and every message
				// reached its members: a private one its one peer, a group
				// one the three others.
				var n int64
				for _, k := range mixKinds {
					if res.Mix[k] <= 0 {
						t.Fatalf("mixed: no %s answered: %+v", k, res)
					}
					n += res.Mix[k]
				}
				if n != res.Ops || res.Messages != res.Mix["send"]+res.Mix["group"] ||
					res.Deliveries != res.Mix["send"]+3*res.Mix["group"] || res.Dropped != 0 || res.Disconnects != 0 {
					t.Fatalf("mixed: %+v", res)
				}
			case "hop":
				// The bare forwarder drops nothing at this rate and sends
				// each packet to its own publisher's receivers only (the
				// receivers count anything else as an error, above), each
				// at most once.
				if res.Sent <= 0 || res.Received <= 0 || res.Received > res.Sent*3 || res.Meetings != 2 || res.Fanout != 3 ||
					res.ForwarderDropped != 0 || res.ForwarderTruncated != 0 || res.ServerCPUSeconds < 0 ||
					res.DeliveryP50ms <= 0 || res.DeliveryP99ms < res.DeliveryP50ms {
					t.Fatalf("hop: %+v", res)
				}
			case "fanout":
				// Every acked message reached every member; the senders'
				// connections are not counted (none is sent its own).
				if res.Deliveries != res.Ops || res.Deliveries != res.Messages*int64(res.Members) ||
					res.Messages <= 0 || res.Dropped != 0 || res.Disconnects != 0 {
					t.Fatalf("fanout: %+v", res)
				}
			}
		})
	}
}

// TestFlagsAfterScenario checks DESIGN §5's form, with the shared flags after
// the scenario and --clients for --conns, and the human table.
func TestFlagsAfterScenario(t *testing.T) {
	srv := testutil.StartServer(t, testutil.TestConfig(t, "sqlite"))
	code, stdout, stderr := bench(t, "request", "--server", srv.Addr().String(), "--clients", "2", "--duration", "200ms")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"scenario", "request", "connections", "requests/s", "latency p99"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// TestMediaMemberLimit: a --fanout the server's meetings.max_members cannot
// hold (it counts the host) fails with the limit named and what fits.
func TestMediaMemberLimit(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Meetings.MaxMembers = 3
	srv := testutil.StartServer(t, cfg)
	code, _, stderr := bench(t, "--server", srv.Addr().String(), "media", "--fanout", "3", "--rate", "100", "--duration", "100ms")
	if code != 1 || !strings.Contains(stderr, "too_large") ||
		!strings.Contains(stderr, "meetings.max_members of at least 4") || !strings.Contains(stderr, "--fanout") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"--bogus", "request"},
		{"request", "--conns", "0"},
		{"request", "extra"},
		{"login", "--duration", "-1s"},
		{"idle", "--conns", "100000000"},
		{"idle", "--conns", "10", "--steps", "1"},
		{"chat", "--clients", "0"},
		{"chat", "--size", "3"},
		{"fanout", "--members", "0"},
		{"fanout", "--pipeline", "0"},
		{"file", "--size", "0"},
		{"file", "--size", "1TB"},
		{"file", "--server-pid", "-1"},
		{"media", "--server-pid", "999999999"}, // no such process
		{"media", "--server-pid", "-1"},
		{"idle", "--conns", "10", "--steps", "2", "--server-pid", "-1"},
		{"media", "--fanout", "100001"},
		{"hop", "--meetings", "100001"},
		{"media", "--fanout", "0"},
		{"media", "--rate", "-1"},
		{"media", "--warmup", "-1s"},
		{"media", "--size", "4"},
		{"media", "--metrics", "127.0.0.1:7843"},
		{"media", "--metrics", "ftp://127.0.0.1:7843"},
		{"connect", "--conns", "0"},
		{"connect", "--duration", "0s"},
		{"mixed", "--clients", "1"},
		{"mixed", "--mix", "send"},
		{"mixed", "--mix", "send=1,chat=2"},
		{"mixed", "--mix", "send=-1"},
		{"mixed", "--mix", "send=0,get=0"},
		{"mixed", "--mix", "send=1,send=2"},
		{"hop", "--fanout", "0"},
		{"hop", "--cpu", "-2"},
		{"hop", "--cpu", "100000"},
		{"hop", "--size", "2000"},
	} {
		if code, _, _ := bench(t, args...); code != 2 {
			t.Errorf("huddle-bench %q: exit %d, want 2", args, code)
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		back string
	}{
		{"4096", 4096, "4KiB"},
		{"1000B", 1000, "1000B"},
		{"512KiB", 512 << 10, "512KiB"},
		{"256MiB", 256 << 20, "256MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"3 GiB", 3 << 30, "3GiB"},
	} {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want || b.String() != tc.back {
			t.Errorf("Set(%q) = %d (%s), %v; want %d (%s)", tc.in, b, b.String(), err, tc.want, tc.back)
		}
	}
	for _, in := range []string{"", "1GB", "-1", "1.5GiB", "GiB", "9999999999GiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, b)
		}
	}
}

func TestRSSSlope(t *testing.T) {
	for _, tc := range []struct {
		steps [][2]int64
		want  float64
	}{
		{[][2]int64{{100, 1000}, {200, 2000}, {300, 3000}}, 10},
		// The first reading still held set-up garbage: measure from the second.
		{[][2]int64{{100, 9000}, {200, 2000}, {300, 3000}}, 10},
		// No growth after the lowest point that can be measured against.
		{[][2]int64{{100, 3000}, {200, 2000}}, 0},
		{[][2]int64{{100, 0}, {200, 0}}, 0},
	} {
		if got := rssSlope(tc.steps); got != tc.want {
			t.Errorf("rssSlope(%v) = %v, want %v", tc.steps, got, tc.want)
		}
	}
}

func TestSentAt(t *testing.T) {
	stamp := time.Unix(0, 1764090462966813230)
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{`{"seq":1,"from":"a","text":"1764090462966813230xxxx","ts":"x"}`, true},
		{`{"seq":1,"from":"a","text":"1764090462966813230"}`, true},
		{`{"seq":1,"from":"a","text":"hello"}`, false},
		{`{"seq":1,"from":"a","text":"17640904629668132xx"}`, false},
		{`{"seq":1}`, false},
	} {
		got, err := sentAt([]byte(tc.data))
		if (err == nil) != tc.ok || tc.ok && !got.Equal(stamp) {
			t.Errorf("sentAt(%s) = %v, %v", tc.data, got, err)
		}
	}
}

// TestPushTally: every msg.new counted, its latency kept across blocks,
// other pushes ignored and a push without a send time an error.
func TestPushTally(t *testing.T) {
	var pt pushTally
	stamp := fmt.Sprintf(`{"seq":1,"from":"a","text":"%019d"}`, time.Now().Add(-time.Second).UnixNano())
	n := 2*latBlock + 5
	for range n {
		pt.add(protocol.Push{Type: protocol.PushMsgNew, Data: []byte(stamp)})
	}
	pt.add(protocol.Push{Type: protocol.PushPresence, Data: []byte(stamp)})
	pt.add(protocol.Push{Type: protocol.PushMsgNew, Data: []byte(`{"text":"hi"}`)})
	var rec recorder
	pt.addTo(&rec)
	if got := pt.n.Load(); got != int64(n+1) {
		t.Errorf("counted %d msg.new, want %d", got, n+1)
	}
	if rec.count() != int64(n) || rec.errors != 1 {
		t.Fatalf("recorder has %d latencies and %d errors, want %d and 1", rec.count(), rec.errors, n)
	}
	for _, d := range rec.lat {
		if d < time.Second || d > time.Minute {
			t.Fatalf("latency %v, want about a second", d)
		}
	}
}

// --metrics reads huddled's relay histogram, and says so when the URL is
// not huddled's metrics endpoint, the relay measures nothing, or the
// histogram went back between two readings.
func TestRelayMetrics(t *testing.T) {
	var body atomic.Value // the handler's goroutine reads it
	body.Store(`{"relay_latency":{"enabled":true,"buckets":[[992,1008,3],[2048,2112,1]]}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/vars" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	m, err := newRelayMetrics(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	before, err := m.latency(t.Context())
	if err != nil || before.Count() != 4 {
		t.Fatalf("latency: %v, %v", before, err)
	}
	body.Store(`{"relay_latency":{"enabled":true,"buckets":[[992,1008,5],[2048,2112,1],[4096,4224,2]]}}`)
	after, err := m.latency(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	afterCount := after.Count()
	l, err := between(before, after)
	if err != nil || l.Datagrams != 4 || l.P50us < 0.99 || l.P50us > 1.01 || l.P999us < 4.09 || l.P999us > 4.23 {
		t.Fatalf("between: %+v, %v", l, err)
	}
	if before.Count() != 4 || after.Count() != afterCount {
		t.Fatalf("between changed its readings: %d and %d values, want 4 and %d", before.Count(), after.Count(), afterCount)
	}
	if _, err := between(after, before); err == nil {
		t.Fatal("a histogram that went back gave a latency")
	}
	for _, b := range []string{`{"relay_latency":{"enabled":false,"buckets":[]}}`, `{"relay":{}}`, `not json`} {
		body.Store(b)
		if _, err := m.latency(t.Context()); err == nil {
			t.Errorf("%s: no error", b)
		}
	}
	srv.Close()
	if _, err := m.latency(t.Context()); err == nil {
		t.Error("no error from a closed endpoint")
	}
}

// A kind is drawn in proportion to its weight, and one that weighs 0 never.
func TestMixPick(t *testing.T) {
	m, err := parseMix("send=3, get=1,history=0")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, len(mixKinds))
	for range 40000 {
		counts[m.pick(r)]++
	}
	send, get := counts[mixSend], counts[mixGet]
	if send+get != 40000 || send < 29000 || send > 31000 {
		t.Fatalf("picked %v of %v, want send 3/4 and get 1/4, nothing else", counts, mixKinds)
	}
}

// A run cut short by SIGINT prints what it measured until then, marked
// interrupted, with no errors for the requests the interruption cut off,
// and exits 130.
func TestInterrupted(t *testing.T) {
	srv := testutil.StartServer(t, testutil.TestConfig(t, "sqlite"))
	for _, args := range [][]string{
		{"request", "--conns", "2", "--duration", "1m"},
		{"connect", "--conns", "2", "--duration", "1m"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var out bytes.Buffer
		progress := &watcher{want: "for 1m0s", seen: make(chan struct{})}
		done := make(chan int)
		go func() {
			done <- run(ctx, append([]string{"--server", srv.Addr().String(), "--json"}, args...), &out, progress)
		}()
		select { // the set-up is done and the run has begun
		case <-progress.seen:
		case <-time.After(30 * time.Second):
			t.Fatalf("%v: the run did not start", args)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
		if code := <-done; code != exitInterrupted {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s", args, code, exitInterrupted, progress.text())
		}
		var res result
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("%v: output %q: %v", args, out.String(), err)
		}
		if !res.Interrupted || res.Errors != 0 || res.Ops <= 0 || res.Seconds > 30 {
			t.Fatalf("%v: %+v", args, res)
		}
	}
}

// watcher is a progress writer that closes seen once want was written.
type watcher struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *watcher) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// someCPU is a CPU this process may run on, for hop's --cpu.
func someCPU(t *testing.T) int {
	t.Helper()
	cpus := allowedCPUs()
	if len(cpus) == 0 {
		return -1 // not Linux: hop is skipped
	}
	return cpus[len(cpus)-1]
}
