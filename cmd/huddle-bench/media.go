package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"huddle/client"
	"huddle/configs"
	"huddle/internal/hist"
	"huddle/protocol"
)

// maxMediaCount bounds --meetings and --fanout; what a machine can hold is
// far less (checkConns: a descriptor each).
const maxMediaCount = 100_000

// lossHint is the share of lost packets above which the media scenario
// says where they may have gone.
const lossHint = 0.05

// mediaSettle is how long the bench waits, after the publishers stopped,
// for packets still on their way through the relay.
const mediaSettle = 300 * time.Millisecond

// mediaFlags: --meetings meetings, each with one publisher (its host) and
// --fanout subscribers, each its own user on its own connection, joined and
// subscribed to the audio track on its own UDP socket. Every publisher
// registers a UDP source and sends RTP stamped with its send time; ops are
// the packets the subscribers receive, the rate (forwarded packets/s) those
// that arrived while the publishers were sending, and the latency
// is receive time − send time, what the relay and loopback add; the
// delivery latency (Linux) is the kernel's receive timestamp − send time,
// the same without the bench's own wake-up and reading. With
// media.multicast on, the relay also sends every packet to the meeting's
// multicast group, which nobody in the bench listens to. With --metrics,
// the bench also reads the relay's own latency from huddled's metrics
// endpoint before and after the run.
func mediaFlags(fs *flag.FlagSet) runFunc {
	l := mediaLoadFlags(fs, "meetings, each with one publisher", "subscribers per meeting, each its own user, connection and UDP socket (the server's meetings.max_members must hold them and the host)")
	pid := serverPIDFlag(fs)
	metricsURL := fs.String("metrics", "", "`URL` of huddled's metrics endpoint (huddled --metrics), e.g. http://127.0.0.1:7843: report the relay's own latency")
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if err := l.check(); err != nil {
			return result{}, err
		}
		metrics, err := newRelayMetrics(*metricsURL)
		if err != nil {
			return result{}, err
		}
		users := l.meetings * (l.fanout + 1)
		if err := checkConns(2*users, 0); err != nil { // a connection and a UDP socket each
			return result{}, err
		}
		srv, err := findServer(g.server, *pid, progress)
		if err != nil {
			return result{}, err
		}
		accts, err := newAccounts(ctx, g.server, users, true, progress)
		if err != nil {
			return result{}, err
		}
		conns, err := openAll(ctx, g.server, users, accts)
		defer closeAll(conns)
		if err != nil {
			return result{}, err
		}
		ms := make([]*benchMeeting, l.meetings)
		defer func() { endMeetings(ms) }()
		if err := setupMeetings(ctx, ms, conns, accts, l.fanout, l.size, progress); err != nil {
			return result{}, err
		}
		res, err := runMedia(ctx, ms, srv, metrics, l, progress)
		if err == nil && *res.Loss > lossHint {
			progressf(progress, "%.1f%% of the packets were lost: the relay drops what a source sends above media.source_rate "+
				"(2,000 packets/s by default; bench/media.sh raises it) and what its sockets cannot hold; "+
				"huddled --metrics counts which (rate_limited)", 100**res.Loss)
		}
		return res, err
	}
}

// mediaLoad is the traffic media and hop send: --meetings publishers,
// each to its own --fanout receivers, --rate packets/s each of --size
// bytes of payload, for --duration.
type mediaLoad struct {
	meetings, fanout, rate, size int
	duration, warmup             time.Duration
}

func mediaLoadFlags(fs *flag.FlagSet, meetingsDoc, fanoutDoc string) *mediaLoad {
	l := &mediaLoad{meetings: 1, fanout: 10, size: 160, duration: 10 * time.Second, warmup: time.Second}
	fs.IntVar(&l.meetings, "meetings", l.meetings, meetingsDoc)
	fs.IntVar(&l.fanout, "fanout", l.fanout, fanoutDoc)
	fs.IntVar(&l.rate, "rate", l.rate, "packets/s per publisher (0: as fast as the bench can send them)")
	fs.DurationVar(&l.duration, "duration", l.duration, "how long to send")
	fs.DurationVar(&l.warmup, "warmup", l.warmup, "send this long first, at the same rate, and leave it out of every figure (0: none)")
	fs.IntVar(&l.size, "size", l.size, fmt.Sprintf("bytes of RTP payload (at least %d: the send time starts it)", mediaStamp))
	return l
}

func (l *mediaLoad) check() error {
	switch {
	case l.meetings < 1 || l.fanout < 1 || l.meetings > maxMediaCount || l.fanout > maxMediaCount:
		return usagef("--meetings and --fanout must be 1 to %d", maxMediaCount)
	case l.rate < 0 || l.duration <= 0 || l.warmup < 0:
		return usagef("--rate and --warmup must not be negative, --duration must be positive")
	case l.size < mediaStamp || l.size > 1400:
		return usagef("--size must be %d to 1400 bytes", mediaStamp)
	}
	return nil
}

// benchMeeting is one meeting of the scenario: its host publishes, the
// subscribers receive. Users conns[k*(fanout+1)] host meeting k, the next
// fanout users subscribe to it.
type benchMeeting struct {
	id   int64
	host *client.Client
	pub  *publisher
	subs []*receiver
}

func setupMeetings(ctx context.Context, ms []*benchMeeting, conns []*client.Client, accts []account, fanout, size int, progress io.Writer) error {
	start := time.Now()
	progressf(progress, "setting up %d meetings with %d subscribers each", len(ms), fanout)
	run := randomHex(3)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(setupWorkers)
	for k := range ms {
		first := k * (fanout + 1)
		g.Go(func() error {
			m, err := setupMeeting(ctx, fmt.Sprintf("bench %s %d", run, k), conns[first], conns[first+1:first+1+fanout],
				accts[first+1:first+1+fanout], size)
			ms[k] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	progressf(progress, "set up %d meetings in %v", len(ms), time.Since(start).Round(time.Millisecond))
	return nil
}

// setupMeeting creates a meeting hosted by host, invites subs' users, joins
// each and subscribes it to the audio track on a socket of its own, and
// registers the host's source. What it returns is for endMeetings to free
// even when it fails.
func setupMeeting(ctx context.Context, name string, host *client.Client, subs []*client.Client, accts []account, size int) (*benchMeeting, error) {
	info, err := host.MeetingCreate(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("create meeting: %w", err)
	}
	m := &benchMeeting{id: info.Meeting, host: host}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.name
	}
	for batch := range slices.Chunk(names, protocol.MaxMeetingInvite) {
		if _, err := host.MeetingInvite(ctx, m.id, batch...); err != nil {
			return m, fmt.Errorf("invite %d users to meeting %d: %w%s", len(batch), m.id, err, memberLimitHint(err, len(subs)))
		}
	}
	jr, err := host.MeetingJoin(ctx, m.id)
	if err != nil {
		return m, fmt.Errorf("host joins meeting %d: %w", m.id, err)
	}
	relay, err := netip.ParseAddrPort(jr.Relay[protocol.TrackAudio])
	if err != nil {
		return m, fmt.Errorf("meeting %d's audio relay %q: %w", m.id, jr.Relay[protocol.TrackAudio], err)
	}
	for _, c := range subs {
		if _, err := c.MeetingJoin(ctx, m.id); err != nil {
			return m, fmt.Errorf("join meeting %d: %w", m.id, err)
		}
		uc, err := listenUDP(c.LocalAddr().AsSlice())
		if err != nil {
			return m, err
		}
		m.subs = append(m.subs, &receiver{uc: uc})
		if err := c.MediaSubscribe(ctx, m.id, protocol.TrackAudio, uc.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			return m, fmt.Errorf("subscribe to meeting %d: %w", m.id, err)
		}
	}
	uc, err := listenUDP(host.LocalAddr().AsSlice())
	if err != nil {
		return m, err
	}
	ssrc := rand.Uint32()
	m.pub = newPublisher(uc, net.UDPAddrFromAddrPort(relay), ssrc, size)
	if err := host.MediaRegister(ctx, m.id, protocol.TrackAudio, uc.LocalAddr().(*net.UDPAddr).AddrPort(), ssrc); err != nil {
		return m, fmt.Errorf("register a source in meeting %d: %w", m.id, err)
	}
	return m, nil
}

// memberLimitHint explains an invitation refused as too_large: the server's
// meetings.max_members counts the host and every invited user, so --fanout
// N needs N+1 (the default limit, 1000, allows --fanout 999).
func memberLimitHint(err error, fanout int) string {
	if protocol.CodeOf(err) != protocol.CodeTooLarge {
		return ""
	}
	return fmt.Sprintf("; a meeting here holds its host and %d subscribers (--fanout): "+
		"start huddled with meetings.max_members of at least %d (default %d) or lower --fanout",
		fanout, fanout+1, configs.DefaultConfig().Meetings.MaxMembers)
}

// endMeetings ends the bench's meetings, so that their multicast groups and
// ports go back to the server's pool, and closes their sockets.
func endMeetings(ms []*benchMeeting) {
	var g errgroup.Group
	g.SetLimit(setupWorkers)
	for _, m := range ms {
		if m == nil {
			continue
		}
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = m.host.MeetingEnd(ctx, m.id) // best effort: the run's result stands
			m.close()
			return nil
		})
	}
	_ = g.Wait()
}

func (m *benchMeeting) close() {
	if m.pub != nil {
		m.pub.uc.Close()
	}
	for _, r := range m.subs {
		r.uc.Close()
	}
}

// runMedia sends for l.warmup and forgets it (warmUp), then sends for
// l.duration and waits for the packets still on their way; metrics (nil:
// not asked for) is read just before that sending and just after the
// settling.
func runMedia(ctx context.Context, meetings []*benchMeeting, srv serverProc, metrics *relayMetrics, l *mediaLoad, progress io.Writer) (result, error) {
	rate, d, size := l.rate, l.duration, l.size
	fanout := len(meetings[0].subs)
	var recvs []*receiver
	s := &mediaSender{rate: rate}
	for _, m := range meetings {
		s.pubs = append(s.pubs, m.pub)
		recvs = append(recvs, m.subs...)
	}
	what := "as fast as they can"
	if rate > 0 {
		what = strconv.Itoa(rate) + " packets/s each"
	}
	warm := ""
	if l.warmup > 0 {
		warm = fmt.Sprintf(" after %v of warm-up", l.warmup)
	}
	progressf(progress, "%d publishers send %d-byte payloads to %d subscribers each, %s, for %v%s",
		len(meetings), size, fanout, what, d, warm)
	if err := warmUp(ctx, s, recvs, size, l.warmup); err != nil {
		return result{}, err
	}

	stopReceiving, err := startReceiving(recvs, size)
	if err != nil {
		return result{}, err
	}
	var relayBefore *hist.Histogram
	if metrics != nil {
		if relayBefore, err = metrics.latency(ctx); err != nil {
			stopReceiving()
			return result{}, err
		}
	}
	s.start = time.Now()
	srvCPU, benchCPU := srv.cpu(), selfCPU()
	sent, errs, firstErr := s.run(ctx, d)
	sending := time.Since(s.start)
	// The rate is what arrived while the publishers sent: what the socket
	// buffers still held then arrives during the settle and counts against
	// loss, but not as forwarded per second (with 4 MiB buffers a relay
	// that falls behind would otherwise be credited with a second of queue).
	inTime := totalReceived(recvs)
	received := settleMedia(ctx, recvs)
	srvCPU, benchCPU = srv.cpu()-srvCPU, selfCPU()-benchCPU
	var relayLat *relayLatency
	var relayErr error
	if metrics != nil {
		var after *hist.Histogram
		if after, relayErr = metrics.latency(ctx); relayErr == nil {
			relayLat, relayErr = between(relayBefore, after)
		}
	}
	stopReceiving()

	var lat, queued hist.Histogram
	var bad int64
	for _, r := range recvs {
		lat.Merge(&r.lat)
		queued.Merge(&r.queued)
		bad += r.bad
	}
	loss := 0.0
	if sent > 0 {
		loss = 1 - float64(received)/float64(sent*int64(fanout))
	}
	res := result{Scenario: "media", Conns: len(meetings) * (fanout + 1), Unit: "packets/s", SizeBytes: size,
		Meetings: len(meetings), Fanout: fanout, RatePerPublisher: rate, WarmupSeconds: l.warmup.Seconds(), Sent: sent, Received: received, Loss: &loss,
		Ops: received, OpsPerSec: float64(inTime) / sending.Seconds(), Seconds: sending.Seconds(),
		P50ms: ms(lat.Percentile(0.50)), P99ms: ms(lat.Percentile(0.99)), P999ms: ms(lat.Percentile(0.999)),
		DeliveryP50ms: ms(queued.Percentile(0.50)), DeliveryP99ms: ms(queued.Percentile(0.99)),
		Errors: errs + bad, BenchCPUSeconds: benchCPU.Seconds(), RelayLatency: relayLat}
	if relayErr != nil {
		res.Errors++
	}
	switch {
	case firstErr != nil:
		res.FirstError = firstErr.Error()
	case bad > 0:
		res.FirstError = fmt.Sprintf("%d datagrams that were not the bench's RTP", bad)
	case relayErr != nil:
		res.FirstError = relayErr.Error()
	}
	if srv.pid != 0 {
		res.ServerPID = srv.pid
		res.ServerCPUSeconds = srvCPU.Seconds()
		if received > 0 {
			res.ServerCPUms1k = srvCPU.Seconds() * 1e3 / (float64(received) / 1e3)
		}
	}
	return res, nil
}

// warmUp sends for d (if d > 0) as the run will, waits for the packets to
// settle and then forgets them: the publishers' counts and the receivers'
// counts and latencies start again from zero. The first packets of a run
// meet a cold machine: the first datagram to each of 5,000 subscriber
// sockets found the kernel's structures for it out of the caches and cost
// the relay tens of ms in all (bench/RESULTS.md, "2026-12-03, 08:39–10:10
// UTC"), the start of a meeting rather than the steady load a run measures.
func warmUp(ctx context.Context, s *mediaSender, recvs []*receiver, size int, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	stop, err := startReceiving(recvs, size)
	if err != nil {
		return err
	}
	s.start = time.Now()
	_, _, _ = s.run(ctx, d) // what fails here fails the run again, where it counts
	settleMedia(ctx, recvs)
	stop()
	for _, p := range s.pubs {
		p.sent = 0
	}
	for _, r := range recvs {
		r.reset()
	}
	return ctx.Err()
}

// settleMedia waits until no packet has arrived for mediaSettle and returns
// how many did.
func settleMedia(ctx context.Context, recvs []*receiver) int64 {
	total := func() int64 { return totalReceived(recvs) }
	last := total()
	for {
		select {
		case <-ctx.Done():
			return total()
		case <-time.After(mediaSettle):
		}
		n := total()
		if n == last {
			return n
		}
		last = n
	}
}

// totalReceived is what the subscribers have received so far.
func totalReceived(recvs []*receiver) int64 {
	var n int64
	for _, r := range recvs {
		n += r.received.Load()
	}
	return n
}
