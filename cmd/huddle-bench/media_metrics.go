package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"huddle/internal/hist"
)

// metricsTimeout bounds one reading of huddled's metrics endpoint.
const metricsTimeout = 5 * time.Second

// relayMetrics reads the relay's latency histogram from huddled's metrics
// endpoint (huddled --metrics; docs/media.md, "Measuring the relay"). The
// histogram is cumulative since the server started, so the run's share is
// a reading after it less one before it.
type relayMetrics struct {
	url    string
	client *http.Client
}

// newRelayMetrics checks --metrics; "" is nil (not asked for).
func newRelayMetrics(raw string) (*relayMetrics, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, usagef("--metrics %q is not an http:// URL such as http://127.0.0.1:7843", raw)
	}
	if !strings.HasSuffix(u.Path, "/debug/vars") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/debug/vars"
	}
	return &relayMetrics{url: u.String(), client: &http.Client{Timeout: metricsTimeout}}, nil
}

// latency reads the relay's histogram as it is now.
func (m *relayMetrics) latency(ctx context.Context) (*hist.Histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the relay's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the relay's metrics: GET %s: %s", m.url, resp.Status)
	}
	var vars struct {
		RelayLatency *struct {
			Enabled bool            `json:"enabled"`
			Buckets *hist.Histogram `json:"buckets"`
		} `json:"relay_latency"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return nil, fmt.Errorf("read the relay's metrics from %s: %w", m.url, err)
	}
	switch lat := vars.RelayLatency; {
	case lat == nil || lat.Buckets == nil:
		return nil, fmt.Errorf("%s has no relay_latency histogram (is it huddled --metrics?)", m.url)
	case !lat.Enabled:
		return nil, fmt.Errorf("%s: the relay does not measure its latency (media.timestamps is off, or the server is not on Linux)", m.url)
	default:
		return lat.Buckets, nil
	}
}

// relayLatency is what the relay itself added to the datagrams it
// forwarded while the bench ran (its publishers' and anything else the
// server forwarded meanwhile): kernel receive on a relay socket to the
// return of the relay's sendmmsg, one value per datagram in.
type relayLatency struct {
	Datagrams uint64  `json:"datagrams"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
}

// between is the relay's latency from reading before to reading after;
// it changes neither.
func between(before, after *hist.Histogram) (*relayLatency, error) {
	run := *after
	if !run.Sub(before) {
		return nil, fmt.Errorf("the relay's latency histogram went back during the run (the server restarted?)")
	}
	us := func(p float64) float64 { return float64(run.Percentile(p)) / float64(time.Microsecond) }
	return &relayLatency{Datagrams: run.Count(), P50us: us(0.50), P99us: us(0.99), P999us: us(0.999)}, nil
}
