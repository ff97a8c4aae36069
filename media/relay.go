package media

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"huddle/internal/hist"
)

// Relay forwards RTP and RTCP between registered sources, multicast groups
// and unicast subscribers of many meetings over one port pair.
type Relay struct {
	cfg     Config
	log     *slog.Logger
	addr    netip.AddrPort
	epoch   time.Time
	mcastIF *net.Interface

	// The forwarding table. mu serializes its writers; the packet path
	// reads it through atomic pointers only.
	mu       sync.Mutex
	meetings map[int64]*Meeting
	sources  cowMap[srcKey, *source]
	subs     cowMap[netip.AddrPort, []subRef]

	workers  []*worker
	pub      []published // one per worker, then one for Send
	restarts atomic.Uint64

	life   sync.Mutex // orders Close against Kill and a worker's re-bind
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// newRelay builds the table and the workers without sockets.
func newRelay(cfg Config) *Relay {
	r := &Relay{cfg: cfg, log: cfg.Logger, epoch: time.Now(),
		meetings: make(map[int64]*Meeting), done: make(chan struct{})}
	for i := range 2 * cfg.Workers {
		r.workers = append(r.workers, newWorker(r, i, i >= cfg.Workers))
	}
	r.pub = make([]published, len(r.workers)+1)
	return r
}

// Start binds the relay's ports and starts its workers.
func Start(cfg Config) (*Relay, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := newRelay(cfg)
	if cfg.Multicast && cfg.MulticastIF != "" {
		ifi, err := net.InterfaceByName(cfg.MulticastIF)
		if err != nil {
			return nil, fmt.Errorf("media: multicast interface %q: %w", cfg.MulticastIF, err)
		}
		r.mcastIF = ifi
	}
	socks, port, err := r.bindAll(cfg.Port)
	if err != nil {
		return nil, err
	}
	r.addr = netip.AddrPortFrom(cfg.IP, uint16(port))
	for i, w := range r.workers {
		w.port = port
		if w.rtcp {
			w.port = port + 1
		}
		w.sock.Store(socks[i])
		r.wg.Add(1)
		go w.supervise()
	}
	r.log.Info("media relay started", "rtp", r.addr, "workers", cfg.Workers)
	return r, nil
}

// Addr is the RTP address; RTCP is on the same IP, port+1.
func (r *Relay) Addr() netip.AddrPort { return r.addr }

// Close stops the workers and waits for them; idempotent.
func (r *Relay) Close() error {
	r.life.Lock()
	if r.closed {
		r.life.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	for _, w := range r.workers {
		if s := w.sock.Load(); s != nil {
			s.close()
		}
	}
	r.life.Unlock()
	r.wg.Wait()
	return nil
}

// Kill closes the workers' sockets as a crash would; their supervisors
// bind the port again after the backoff, and the table survives.
func (r *Relay) Kill() {
	r.life.Lock()
	defer r.life.Unlock()
	if r.closed {
		return
	}
	for _, w := range r.workers {
		if s := w.sock.Load(); s != nil {
			s.close()
		}
	}
}

// Stats sums the workers' counters.
func (r *Relay) Stats() Stats {
	var s Stats
	for i := range r.pub {
		r.pub[i].addTo(&s)
	}
	s.Restarts = r.restarts.Load()
	return s
}

// Latency is what the relay added to the datagrams it forwarded since
// Start, one value per datagram in however many copies went out (RTP and
// RTCP): from the kernel's receive timestamp on a relay socket to the
// return of the sendmmsg that sent the datagram's last copy. It is empty with
// Config.Timestamps off and where the kernel gives no receive timestamps
// (only Linux does). It may be read at any time; the workers go on.
func (r *Relay) Latency() *hist.Histogram {
	h := new(hist.Histogram)
	for _, w := range r.workers {
		w.lat.AddTo(h)
	}
	return h
}

// Measures reports whether Latency counts anything: Config.Timestamps is
// on and the kernel gives receive timestamps (Linux).
func (r *Relay) Measures() bool { return r.cfg.Timestamps && hasStamps }

// now is the packet path's clock: ns since Start, monotonic.
func (r *Relay) now() int64 { return int64(time.Since(r.epoch)) }

// sendOwn writes server-originated datagrams from an RTP worker's socket,
// so that they come from the relay's RTP port.
func (r *Relay) sendOwn(ms []ipv4.Message) error {
	p := &r.pub[len(r.pub)-1]
	for _, w := range r.workers[:r.cfg.Workers] {
		s := w.sock.Load()
		if s == nil {
			continue
		}
		for len(ms) > 0 {
			n, err := s.pc.WriteBatch(ms, 0)
			p.forwarded.Add(uint64(n))
			ms = ms[n:]
			if err != nil {
				p.sendErrors.Add(uint64(len(ms)))
				return fmt.Errorf("media: send: %w", err)
			}
		}
		return nil
	}
	p.sendErrors.Add(uint64(len(ms)))
	return fmt.Errorf("media: send: relay not started")
}
