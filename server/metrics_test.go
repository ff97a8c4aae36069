package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"huddle/configs"
	"huddle/internal/hist"
	"huddle/internal/testutil"
	"huddle/protocol"
	"huddle/server"
)

// vars is what the test reads of GET /debug/vars.
type vars struct {
	Relay struct {
		Received  uint64 `json:"received"`
		Forwarded uint64 `json:"forwarded"`
	} `json:"relay"`
	RelayLatency struct {
		Enabled bool           `json:"enabled"`
		Count   uint64         `json:"count"`
		P50us   float64        `json:"p50_us"`
		P999us  float64        `json:"p999_us"`
		Buckets hist.Histogram `json:"buckets"`
	} `json:"relay_latency"`
	Netio struct {
		Active   int64
		Accepted uint64
	} `json:"netio"`
}

func getVars(t *testing.T, addr net.Addr) vars {
	t.Helper()
	resp, err := http.Get("http://" + addr.String() + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /debug/vars: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var v vars
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// With metrics.addr set, GET /debug/vars shows the relay's counters and
// its latency (one value per datagram forwarded) and the front end's
// counters; the endpoint ends with the server.
func TestMetricsEndpoint(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Metrics.Addr = "127.0.0.1:0"
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	addr := e.srv.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics address")
	}
	alice, bob, m, jr := bobJoinsAlice(t, e, "metrics")
	relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])
	bobOut, aliceIn := newPeer(t), newPeer(t)
	call(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: bobOut.addr(), SSRC: 7}, nil)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)
	const n = 5
	for seq := range uint16(n) {
		bobOut.send(relay, protocol.PayloadOpus, 7, seq, "hello")
		if got := aliceIn.recv(2 * time.Second); got != "hello" {
			t.Fatalf("packet %d: alice got %q", seq, got)
		}
	}
	// The worker counts a batch's latency before its counters.
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Relay().Stats().Received < n && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}

	v := getVars(t, addr)
	lat := &v.RelayLatency
	if v.Relay.Received != n || v.Relay.Forwarded != 2*n { // alice and the multicast group
		t.Errorf("relay %+v, want %d in and %d out", v.Relay, n, 2*n)
	}
	if !lat.Enabled || lat.Count != n || lat.Buckets.Count() != n || lat.P50us <= 0 || lat.P999us < lat.P50us {
		t.Errorf("relay_latency %+v, want %d values", lat, n)
	}
	if v.Netio.Accepted < 2 || v.Netio.Active < 2 {
		t.Errorf("netio %+v, want alice's and bob's connections", v.Netio)
	}

	for _, req := range []struct{ method, path string }{{http.MethodPost, "/debug/vars"}, {http.MethodGet, "/"}, {http.MethodGet, "/debug/pprof/"}} {
		r, err := http.NewRequest(req.method, "http://"+addr.String()+req.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s: %s, want only GET /debug/vars served", req.method, req.path, resp.Status)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	testutil.StopServer(t, e.srv)
	if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the metrics endpoint still accepts after Shutdown")
	}
}

// Off by default; an address that cannot be bound fails the start, saying
// which setting it is, before anything else has started.
func TestMetricsAddress(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	if srv := testutil.StartServer(t, cfg); srv.MetricsAddr() != nil {
		t.Fatalf("metrics endpoint on at %v by default", srv.MetricsAddr())
	}
	testTakenAddress(t, "metrics.addr", func(c *configs.Config, addr string) { c.Metrics.Addr = addr })
}

// So does a taken control or data channel address.
func TestListenAddressesTaken(t *testing.T) {
	testTakenAddress(t, "listen, --listen", func(c *configs.Config, addr string) { c.Listen = addr })
	testTakenAddress(t, "http, --http", func(c *configs.Config, addr string) { c.HTTP = addr })
}

// And a taken media port.
func TestMediaPortTaken(t *testing.T) {
	taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.MediaIP = "127.0.0.1"
	cfg.Media.Port = taken.LocalAddr().(*net.UDPAddr).Port
	srv, err := server.Start(context.Background(), cfg, testutil.Logger(t))
	if err == nil {
		testutil.StopServer(t, srv)
		t.Fatalf("started with media.port %d taken", cfg.Media.Port)
	}
	if !strings.Contains(err.Error(), "media.port") || !strings.Contains(err.Error(), "--media-ip") {
		t.Fatalf("error %q does not name media_ip and media.port", err)
	}
}

func testTakenAddress(t *testing.T, key string, set func(*configs.Config, string)) {
	t.Helper()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testutil.TestConfig(t, "sqlite")
	addr := taken.Addr().String()
	set(&cfg, addr)
	srv, err := server.Start(context.Background(), cfg, testutil.Logger(t))
	if err == nil {
		testutil.StopServer(t, srv)
		t.Fatalf("started with %s %s taken", key, addr)
	}
	if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q does not name %s and the address", err, key)
	}
}

// With media.timestamps off the endpoint says that the relay measures
// nothing, so that a reader does not take an empty histogram for a run
// without traffic.
func TestMetricsTimestampsOff(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Metrics.Addr = "127.0.0.1:0"
	cfg.Media.Timestamps = false
	srv := testutil.StartServer(t, cfg)
	v := getVars(t, srv.MetricsAddr())
	http.DefaultClient.CloseIdleConnections()
	if v.RelayLatency.Enabled || v.RelayLatency.Count != 0 {
		t.Fatalf("relay_latency %+v with media.timestamps off", v.RelayLatency)
	}
}
