package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// result is a scenario's summary. The first fields are common to every
// scenario (DESIGN §5); the rest are set by the scenarios they belong to and
// left out when zero.
type result struct {
	Scenario   string  `json:"scenario"`
	Conns      int     `json:"conns"`
	Ops        int64   `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	Unit       string  `json:"unit"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"duration_s"`
	// Interrupted: SIGINT or SIGTERM cut the run short; the figures cover
	// it until then.
	Interrupted bool `json:"interrupted,omitempty"`

	Users    int `json:"users,omitempty"`
	Pipeline int `json:"pipeline,omitempty"`

	// idle: the server's resident memory before the bench's set-up, after
	// each step as [connections open, bytes], and at the end; the slope
	// between the first step and the end is the cost of one connection.
	ServerPID       int        `json:"server_pid,omitempty"`
	RSSStartBytes   int64      `json:"rss_start_bytes,omitempty"`
	RSSSteps        [][2]int64 `json:"rss_steps,omitempty"`
	RSSAfterBytes   int64      `json:"rss_after_bytes,omitempty"`
	RSSBytesPerConn float64    `json:"rss_bytes_per_conn,omitempty"`

	// chat and fanout: the messages acknowledged (stored) and the msg.new
	// pushes received, each with its rate and latency (send→ack and
	// send→push); one pair is also the headline ops, the other is here.
	// Dropped counts pushes the bench's own buffers lost, Disconnects the
	// connections lost during the run (the server cuts slow consumers).
	Senders          int     `json:"senders,omitempty"`
	Members          int     `json:"members,omitempty"`
	SizeBytes        int     `json:"size_bytes,omitempty"`
	Messages         int64   `json:"messages,omitempty"`
	MessagesPerSec   float64 `json:"messages_per_sec,omitempty"`
	AckP50ms         float64 `json:"ack_p50_ms,omitempty"`
	AckP99ms         float64 `json:"ack_p99_ms,omitempty"`
	Deliveries       int64   `json:"deliveries,omitempty"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec,omitempty"`
	DeliveryP50ms    float64 `json:"delivery_p50_ms,omitempty"`
	DeliveryP99ms    float64 `json:"delivery_p99_ms,omitempty"`
	Dropped          int64   `json:"dropped_pushes,omitempty"`
	// mixed: the requests answered, by kind.
	Mix         map[string]int64 `json:"mix,omitempty"`
	Disconnects int64            `json:"disconnects,omitempty"`

	// file: the file's size, a SHA-256 pass over it (client.HashFile)
	// timed alone, and each direction; RSSStartBytes is the server's RSS before
	// the first transfer.
	FileBytes       int64         `json:"file_bytes,omitempty"`
	SHA256Seconds   float64       `json:"client_sha256_s,omitempty"`
	SHA256MiBPerSec float64       `json:"client_sha256_mib_per_sec,omitempty"`
	Upload          *fileTransfer `json:"upload,omitempty"`
	Download        *fileTransfer `json:"download,omitempty"`
	FileRuns        []fileRun     `json:"file_runs,omitempty"` // every repetition; Upload and Download are the median ones

	// media: packets the publishers sent and the subscribers received,
	// the share lost on the way (1 − received/(sent × fanout)), and the CPU
	// time the server and the bench used while the packets moved; ops are
	// the received packets, the latency is what the relay and loopback add.
	Meetings         int      `json:"meetings,omitempty"`
	Fanout           int      `json:"fanout,omitempty"`
	RatePerPublisher int      `json:"rate_per_publisher,omitempty"`
	WarmupSeconds    float64  `json:"warmup_s,omitempty"` // sent before the run and left out of every figure
	Sent             int64    `json:"sent,omitempty"`
	Received         int64    `json:"received,omitempty"`
	Loss             *float64 `json:"loss,omitempty"`
	// hop: copies its forwarder's socket would not take, and datagrams
	// too large for its buffers (not forwarded), counted over the
	// forwarder's life: the warm-up's included.
	ForwarderDropped   int64   `json:"forwarder_dropped,omitempty"`
	ForwarderTruncated int64   `json:"forwarder_truncated,omitempty"`
	P999ms             float64 `json:"p999_ms,omitempty"`
	ServerCPUSeconds   float64 `json:"server_cpu_s,omitempty"`
	ServerCPUms1k      float64 `json:"server_cpu_ms_per_1k_packets,omitempty"`
	BenchCPUSeconds    float64 `json:"bench_cpu_s,omitempty"`
	// With --metrics: the latency the relay itself added during the run,
	// from huddled's metrics endpoint (docs/media.md, "Measuring the relay").
	RelayLatency *relayLatency `json:"relay_latency,omitempty"`
}

func (r result) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("scenario", r.Scenario)
	if r.Interrupted {
		row("interrupted", "yes: the figures cover the run until then")
	}
	if r.Conns > 0 { // hop has none
		row("connections", strconv.Itoa(r.Conns))
	}
	if r.Users > 0 {
		row("users", strconv.Itoa(r.Users))
	}
	if r.Pipeline > 0 {
		row("pipeline", strconv.Itoa(r.Pipeline))
	}
	row("duration", fmt.Sprintf("%.2f s", r.Seconds))
	row("ops", strconv.FormatInt(r.Ops, 10))
	row("rate", fmt.Sprintf("%.1f %s", r.OpsPerSec, r.Unit))
	if r.Upload == nil { // a file transfer's latency is its duration, below
		row("latency p50", fmt.Sprintf("%.3f ms", r.P50ms))
		row("latency p99", fmt.Sprintf("%.3f ms", r.P99ms))
	}
	row("errors", strconv.FormatInt(r.Errors, 10))
	if r.FirstError != "" {
		row("first error", r.FirstError)
	}
	if r.Messages > 0 || r.Deliveries > 0 {
		if r.Senders > 0 {
			row("senders", strconv.Itoa(r.Senders))
		}
		if r.Members > 0 {
			row("members", strconv.Itoa(r.Members))
		}
		row("text size", fmt.Sprintf("%d bytes", r.SizeBytes))
		msgs := fmt.Sprintf("%d, %.1f/s", r.Messages, r.MessagesPerSec)
		if r.AckP50ms > 0 { // mixed times its requests together, above
			msgs += fmt.Sprintf(", ack p50 %.3f ms, p99 %.3f ms", r.AckP50ms, r.AckP99ms)
		}
		row("messages", msgs)
		row("deliveries", fmt.Sprintf("%d, %.1f/s, p50 %.3f ms, p99 %.3f ms", r.Deliveries, r.DeliveriesPerSec, r.DeliveryP50ms, r.DeliveryP99ms))
		row("dropped pushes", strconv.FormatInt(r.Dropped, 10))
		if len(r.Mix) > 0 {
			kinds := slices.Sorted(maps.Keys(r.Mix))
			parts := make([]string, len(kinds))
			for i, k := range kinds {
				parts[i] = fmt.Sprintf("%s %d", k, r.Mix[k])
			}
			row("requests by kind", strings.Join(parts, ", "))
		}
		row("disconnects", strconv.FormatInt(r.Disconnects, 10))
	}
	if r.Loss != nil {
		row("meetings × fanout", fmt.Sprintf("%d × %d", r.Meetings, r.Fanout))
		row("payload size", fmt.Sprintf("%d bytes", r.SizeBytes))
		row("packets", fmt.Sprintf("%d sent, %d received, loss %.4f%%", r.Sent, r.Received, 100**r.Loss))
		if r.Scenario == "hop" {
			row("forwarder lost", fmt.Sprintf("%d copies its socket would not take, %d datagrams too large", r.ForwarderDropped, r.ForwarderTruncated))
		}
		row("latency p99.9", fmt.Sprintf("%.3f ms", r.P999ms))
		if r.DeliveryP99ms > 0 { // the receivers' kernel stamps (Linux)
			row("delivery latency", fmt.Sprintf("p50 %.3f ms, p99 %.3f ms (send to the receiving socket's queue, without the bench's reading)",
				r.DeliveryP50ms, r.DeliveryP99ms))
		}
		if l := r.RelayLatency; l != nil {
			row("relay latency", fmt.Sprintf("p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs (%d datagrams; kernel receive to sendmmsg)",
				l.P50us, l.P99us, l.P999us, l.Datagrams))
		}
		row("bench CPU", fmt.Sprintf("%.2f s", r.BenchCPUSeconds))
		if r.ServerPID > 0 {
			who := "server" // hop: its forwarder process, gone by now
			if r.Scenario == "hop" {
				who = "forwarder"
			}
			row(who+" pid", strconv.Itoa(r.ServerPID))
			row(who+" CPU", fmt.Sprintf("%.2f s, %.3f ms per 1,000 packets received", r.ServerCPUSeconds, r.ServerCPUms1k))
		}
	}
	if r.ServerPID > 0 && r.Loss == nil { // media reports CPU time, not RSS
		row("server pid", strconv.Itoa(r.ServerPID))
		row("server RSS at start", mib(r.RSSStartBytes))
	}
	if len(r.RSSSteps) > 0 {
		for _, s := range r.RSSSteps {
			row(fmt.Sprintf("server RSS at %d conns", s[0]), mib(s[1]))
		}
		row("RSS per connection", fmt.Sprintf("%.0f bytes", r.RSSBytesPerConn))
	}
	if r.Upload != nil {
		row("file size", formatBytes(r.FileBytes))
		row("client SHA-256", fmt.Sprintf("%.2f s (%.1f MiB/s)", r.SHA256Seconds, r.SHA256MiBPerSec))
		r.Upload.rows(row, "upload")
		r.Download.rows(row, "download")
		fileRunRows(row, r.FileRuns)
	}
	return tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// recorder collects latencies and errors from many goroutines.
type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration
	errors   int64
	firstErr error
}

// add records one finished operation: its latency on success, the error otherwise.
func (rc *recorder) add(d time.Duration, err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errors++
		if rc.firstErr == nil {
			rc.firstErr = err
		}
		return
	}
	rc.lat = append(rc.lat, d)
}

// failed records n failed operations, the first with first.
func (rc *recorder) failed(n int64, first error) {
	if n == 0 {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.errors += n; rc.firstErr == nil {
		rc.firstErr = first
	}
}

// merge adds a goroutine's own latencies in one go, so that the hot loops
// of the request scenario don't contend on the mutex.
func (rc *recorder) merge(lat []time.Duration) {
	rc.mu.Lock()
	rc.lat = append(rc.lat, lat...)
	rc.mu.Unlock()
}

// count returns how many operations succeeded so far.
func (rc *recorder) count() int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return int64(len(rc.lat))
}

// summary is what a recorder holds, boiled down.
type summary struct {
	ops, errors int64
	perSec      float64
	p50ms       float64
	p99ms       float64
	firstErr    error
}

// summarize sorts the latencies and sums up what was recorded over elapsed.
func (rc *recorder) summarize(elapsed time.Duration) summary {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	slices.Sort(rc.lat)
	s := summary{
		ops:      int64(len(rc.lat)),
		errors:   rc.errors,
		p50ms:    ms(percentile(rc.lat, 0.50)),
		p99ms:    ms(percentile(rc.lat, 0.99)),
		firstErr: rc.firstErr,
	}
	if elapsed > 0 {
		s.perSec = float64(s.ops) / elapsed.Seconds()
	}
	return s
}

// fill sets the common fields of r from what was recorded over elapsed.
func (rc *recorder) fill(r *result, elapsed time.Duration) {
	s := rc.summarize(elapsed)
	r.Ops, r.OpsPerSec, r.P50ms, r.P99ms = s.ops, s.perSec, s.p50ms, s.p99ms
	r.Seconds = elapsed.Seconds()
	r.Errors = s.errors
	if s.firstErr != nil {
		r.FirstError = s.firstErr.Error()
	}
}

// percentile returns the nearest-rank p-quantile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
