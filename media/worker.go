package media

import (
	"fmt"
	"time"

	"golang.org/x/net/ipv4"
)

// supervise runs the worker and restarts it after a failure (a socket
// error, Kill, a panic) with a doubling backoff, until Close.
func (w *worker) supervise() {
	r := w.r
	defer r.wg.Done()
	backoff := r.cfg.RestartBackoff
	for {
		started := time.Now()
		err := w.run(w.sock.Load())
		if r.stopping() {
			return
		}
		r.restarts.Add(1)
		if time.Since(started) >= healthyAfter {
			backoff = r.cfg.RestartBackoff
		}
		r.log.Warn("media worker failed; restarting", "worker", w.id, "port", w.port, "err", err, "backoff", backoff)
		for {
			select {
			case <-r.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			s, err := r.listen(w.port)
			if err != nil {
				r.log.Warn("media worker cannot bind again", "worker", w.id, "port", w.port, "err", err, "backoff", backoff)
				continue
			}
			if !r.install(w, s) {
				s.close()
				return
			}
			break
		}
	}
}

func (r *Relay) stopping() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// install makes s the worker's socket unless the relay is closing.
func (r *Relay) install(w *worker, s *sock) bool {
	r.life.Lock()
	defer r.life.Unlock()
	if r.closed {
		return false
	}
	w.sock.Store(s)
	return true
}

// run is the packet loop: read a batch, handle each datagram, write what
// it produced (counting the latency as it goes), publish the counters. It returns on a
// socket error, and turns a panic into an error so that the supervisor
// restarts it.
func (w *worker) run(s *sock) (err error) {
	defer s.close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		w.nout = 0
		w.stamped = w.stamped[:0]
		w.r.pub[w.id].add(&w.c)
	}()
	w.write = func(ms []ipv4.Message) (int, error) { return s.pc.WriteBatch(ms, 0) }
	for {
		n, err := w.in.read(s)
		if err != nil {
			return err
		}
		now := w.r.now()
		for i := range n {
			b, from, ok := w.in.datagram(i)
			if !ok {
				continue
			}
			e := w.emits
			w.handle(b, from, now)
			if w.emits != e { // forwarded at least once
				if at := w.in.stamp(i); at != 0 {
					w.stamped = append(w.stamped, at)
				}
			}
		}
		w.flush()
		w.r.pub[w.id].add(&w.c)
	}
}

// record counts, for each datagram whose copies were all queued before
// the flush that just returned, the time from its kernel receive
// timestamp to now: one clock read per flush. A datagram is added to
// stamped only once handle has queued all its copies, so a flush that a
// full write batch forces in the middle of its fan-out leaves it for the
// next one. The timestamps are CLOCK_REALTIME, so a step of the wall clock
// in between skews the flush's values (a negative one counts as 0).
func (w *worker) record() {
	if len(w.stamped) == 0 {
		return
	}
	done := time.Now().UnixNano()
	for _, at := range w.stamped {
		w.lat.Add(done - at)
	}
	w.stamped = w.stamped[:0]
}
