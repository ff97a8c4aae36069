package media

import (
	"net"
	"net/netip"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"

	"huddle/internal/hist"
)

// worker is one socket's packet loop. Its handling is split from the
// socket so that tests and the fuzz target drive handle directly: handle
// appends what it forwards to out, and flush hands out to write.
type worker struct {
	r    *Relay
	id   int  // index into r.workers, r.pub and every meeting's counts
	rtcp bool // reads the RTCP port (RTP port+1)
	port int  // the port it binds

	c     counts
	hdr   rtp.Header
	in    *reader        // read batch; each buffer has MaxPacket+1 bytes
	out   []ipv4.Message // write batch; Buffers[0] points into in
	nout  int
	emits uint64 // datagrams emit queued since the worker was made
	write func([]ipv4.Message) (int, error)
	sock  sockPointer

	// The latency the worker added (see Relay.Latency): the receive
	// timestamps of the datagrams whose copies are all queued, until the
	// flush that sends them, then what each waited, counted in lat.
	stamped []int64
	lat     hist.Atomic
}

func newWorker(r *Relay, id int, rtcp bool) *worker {
	w := &worker{r: r, id: id, rtcp: rtcp,
		in:      newReader(r.cfg.Batch, r.cfg.MaxPacket+1, r.cfg.Timestamps),
		out:     make([]ipv4.Message, r.cfg.Batch),
		stamped: make([]int64, 0, r.cfg.Batch),
	}
	for i := range w.out {
		w.out[i].Buffers = make([][]byte, 1)
	}
	// A reused header keeps its CSRC and extension slices, so parsing
	// allocates nothing once they have grown.
	w.hdr.CSRC = make([]uint32, 0, 15)
	w.hdr.Extensions = make([]rtp.Extension, 0, 8)
	return w
}

// handle processes one datagram that arrived from from at time now (ns on
// the relay's clock).
func (w *worker) handle(b []byte, from netip.AddrPort, now int64) {
	w.c.received++
	switch {
	case len(b) > w.r.cfg.MaxPacket:
		w.c.oversize++
	case w.rtcp:
		w.handleRTCP(b, from, false, now)
	case len(b) >= 2 && b[1] >= 192 && b[1] <= 223: // RFC 5761: RTCP muxed on the RTP port
		w.handleRTCP(b, from, true, now)
	default:
		w.handleRTP(b, from, now)
	}
}

func (w *worker) handleRTP(b []byte, from netip.AddrPort, now int64) {
	// Check the fixed header before pion does, so that garbage is dropped
	// without building an error value.
	if len(b) < 12 || b[0]>>6 != 2 {
		w.c.malformed++
		return
	}
	n, err := w.hdr.Unmarshal(b)
	if err != nil || !paddingOK(b, n, w.hdr.Padding) {
		w.c.malformed++
		return
	}
	s, ok := w.r.sources.load(shardOf(from, w.hdr.SSRC), srcKey{from, w.hdr.SSRC})
	if !ok {
		w.c.unregistered++
		return
	}
	mc := &s.m.counts[w.id]
	if w.hdr.PayloadType != s.PayloadType {
		w.c.wrongPayload++
		mc.wrongPayload.Add(1)
		return
	}
	if !s.bucket.take(now) {
		w.c.rateLimited++
		mc.rateLimited.Add(1)
		return
	}
	t := &s.m.view.Load().tracks[s.Track]
	w.fanOut(b, s, t, t.mcast)
}

// fanOut sends b to the track's multicast address (mcast: RTP or RTCP
// port) and to every subscriber of the track except the source's member.
func (w *worker) fanOut(b []byte, s *source, t *trackView, mcast *net.UDPAddr) {
	n := uint64(0)
	if mcast != nil {
		w.emit(b, mcast)
		n++
	}
	for _, d := range t.subs {
		if d.member != s.member {
			w.emit(b, d.ua)
			n++
		}
	}
	if n > 0 {
		s.m.counts[w.id].forwarded[s.Track].Add(n)
	}
}

// paddingOK checks RTP padding: the last byte counts the padding bytes,
// which must fit in the payload (n is the header length).
func paddingOK(b []byte, n int, padded bool) bool {
	if !padded {
		return true
	}
	p := int(b[len(b)-1])
	return len(b) > n && p > 0 && p <= len(b)-n
}

// emit queues b for to, flushing first if the batch is full. b must stay
// valid until the next flush: it points into the read batch.
func (w *worker) emit(b []byte, to *net.UDPAddr) {
	if w.nout == len(w.out) {
		w.flush()
	}
	m := &w.out[w.nout]
	m.Buffers[0] = b
	m.Addr = to
	w.nout++
	w.emits++
}

// flush writes the queued datagrams, and counts the latency of those whose
// last copy went. A datagram the kernel refuses is counted and skipped;
// the rest still go.
func (w *worker) flush() {
	ms := w.out[:w.nout]
	for len(ms) > 0 {
		n, err := w.write(ms)
		w.c.forwarded += uint64(n)
		ms = ms[n:]
		if err != nil && len(ms) > 0 {
			w.c.sendErrors++
			ms = ms[1:]
		}
	}
	w.nout = 0
	w.record()
}
