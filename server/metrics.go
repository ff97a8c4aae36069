package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"huddle/internal/hist"
	"huddle/media"
	"huddle/netio"
)

// metricsTimeout bounds reading a request's headers and an idle
// keep-alive connection on the metrics endpoint. It is not a setting: a
// reading is one small GET from a private address, and nothing there
// needs more.
const metricsTimeout = 10 * time.Second

// metrics is the operator's endpoint (metrics.addr, --metrics): GET
// /debug/vars on a listener and mux of its own, one JSON object in the
// shape expvar serves (a key per variable), built from the counters at each
// request. It is not the expvar package: that one keeps its variables in
// the process and registers on http.DefaultServeMux when imported, so two
// servers in one process (the tests) would share them. A nil *metrics is
// the endpoint turned off.
type metrics struct {
	ln     net.Listener
	http   *http.Server
	served chan struct{}
}

// listenMetrics binds addr, so that a bad address fails the start before
// anything else has started; "" is off.
func listenMetrics(addr string) (*metrics, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint (metrics.addr, --metrics): %w", err)
	}
	return &metrics{ln: ln, served: make(chan struct{})}, nil
}

// serve answers GET /debug/vars with vars until shutdown.
func (m *metrics) serve(vars http.HandlerFunc, log *slog.Logger) {
	if m == nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/vars", vars)
	m.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: metricsTimeout,
		IdleTimeout:       metricsTimeout,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(m.served)
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: serve", "err", err)
		}
	}()
	log.Info("metrics endpoint up", "addr", m.ln.Addr().String(), "path", "/debug/vars")
}

// addr is the bound address, nil when off.
func (m *metrics) addr() net.Addr {
	if m == nil {
		return nil
	}
	return m.ln.Addr()
}

// shutdown stops the endpoint, letting readings in progress finish until
// ctx ends, and waits for it. Before serve (a start that failed later) it
// closes the listener.
func (m *metrics) shutdown(ctx context.Context) error {
	switch {
	case m == nil:
		return nil
	case m.http == nil:
		return m.ln.Close()
	}
	err := m.http.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, m.http.Close())
	}
	<-m.served
	return err
}

// relayLatency is the relay's latency histogram (media.Relay.Latency) as
// /debug/vars shows it: cumulative since the start, so that a reader takes
// one reading from a later one (hist.Histogram.Sub) for what happened in
// between, and the percentiles since the start for a look by eye.
type relayLatency struct {
	Enabled bool            `json:"enabled"` // media.timestamps, on a system with receive timestamps (Linux)
	Count   uint64          `json:"count"`   // forwarded datagrams measured
	P50us   float64         `json:"p50_us"`
	P99us   float64         `json:"p99_us"`
	P999us  float64         `json:"p999_us"`
	Buckets *hist.Histogram `json:"buckets"` // [lowest ns, first ns above, count] per bucket that counted
}

// debugVars is what GET /debug/vars returns.
type debugVars struct {
	Relay        media.Stats  `json:"relay"`
	RelayLatency relayLatency `json:"relay_latency"`
	Netio        netio.Stats  `json:"netio"`
}

func (s *Server) debugVars(w http.ResponseWriter, _ *http.Request) {
	lat := s.relay.Latency()
	us := func(p float64) float64 { return float64(lat.Percentile(p)) / float64(time.Microsecond) }
	v := debugVars{
		Relay: s.relay.Stats(),
		RelayLatency: relayLatency{Enabled: s.relay.Measures(), Count: lat.Count(),
			P50us: us(0.50), P99us: us(0.99), P999us: us(0.999), Buckets: lat},
		Netio: s.net.Stats(),
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v) // a reader that went away is no error of ours
}
