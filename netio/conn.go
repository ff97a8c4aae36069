package netio

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// maxIOV is IOV_MAX on Linux and the BSDs: the most buffers one writev(2) takes.
const maxIOV = 1024

// Conn is one client connection. Its exported methods are safe for concurrent use.
type Conn struct {
	id     uint64
	remote netip.Addr
	gc     gnet.Conn
	srv    *Server

	// Loop-only state.
	helloDone bool
	open      bool

	lastSeen      atomic.Int64 // unix nanos of the last frame received
	authenticated atomic.Bool
	unauthSince   atomic.Int64 // unix nanos since the connection has had no session
	closing       atomic.Bool

	sessMu  sync.Mutex
	session any  // the handler's per-connection state, set once authenticated
	gone    bool // OnClose ran: no session may be attached any more

	mu        sync.Mutex
	out       [][]byte // frames waiting for the next flush on the loop
	spare     [][]byte // the previous batch's slice, reused to avoid allocation
	queued    int      // bytes in out
	scheduled bool     // a flush is queued on the loop
}

// ID is unique per server run.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the client's IP address.
func (c *Conn) RemoteAddr() netip.Addr { return c.remote }

// SetSession attaches the handler's state for an authenticated connection
// (nil logs it out). Authenticated connections are exempt from the auth
// timeout. It reports false, attaching nothing, once the connection has
// closed, so that a login racing a disconnect cannot leave a session behind.
func (c *Conn) SetSession(s any) bool {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	if c.gone {
		return false
	}
	c.session = s
	if s == nil && c.authenticated.Load() {
		// Logged out: the auth timeout runs afresh from now.
		c.unauthSince.Store(time.Now().UnixNano())
	}
	c.authenticated.Store(s != nil)
	return true
}

// Session returns what SetSession attached, or nil. After the connection
// closed it still returns the last value, for the handler's clean-up.
func (c *Conn) Session() any {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.session
}

// Closed reports whether the connection has closed: true from just before
// the handler's ConnClosed runs.
func (c *Conn) Closed() bool {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.gone
}

func (c *Conn) markGone() {
	c.sessMu.Lock()
	c.gone = true
	c.sessMu.Unlock()
}

// Send queues encoded frames, in order, to go out together. It never blocks:
// when the connection already holds more than the outbound limit it is
// closed as a slow consumer and Send reports false. The frames must not be
// modified afterwards; the same slices may be handed to many connections.
func (c *Conn) Send(frames ...[]byte) bool {
	if c.closing.Load() {
		return false
	}
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	c.mu.Lock()
	if c.queued+n > c.srv.cfg.OutboundQueue {
		c.mu.Unlock()
		c.srv.slowConsumer(c)
		return false
	}
	c.out = append(c.out, frames...)
	c.queued += n
	schedule := !c.scheduled
	c.scheduled = true
	c.mu.Unlock()
	if schedule {
		if err := c.gc.EventLoop().Execute(context.Background(), c); err != nil {
			return false // engine shutting down
		}
	}
	return true
}

// Run flushes the queued frames on the connection's event loop. It is the
// gnet.Runnable that Send schedules.
func (c *Conn) Run(context.Context) error {
	c.mu.Lock()
	batch := c.out
	c.out, c.spare = c.spare[:0], nil
	c.queued = 0
	c.scheduled = false
	c.mu.Unlock()
	// writev(2) takes at most maxIOV buffers, and gnet's Writev hands it the
	// slice as is and closes the connection on EINVAL; later chunks queue
	// behind whatever part of an earlier one the socket did not take.
	for rest := batch; c.open && len(rest) > 0; {
		n := min(len(rest), maxIOV)
		_, _ = c.gc.Writev(rest[:n])
		rest = rest[n:]
	}
	if c.open && c.gc.OutboundBuffered() > c.srv.cfg.OutboundQueue {
		c.srv.slowConsumer(c)
	}
	clear(batch)
	c.mu.Lock()
	if c.spare == nil {
		c.spare = batch[:0]
	}
	c.mu.Unlock()
	return nil
}

// Close closes the connection after the frames already queued are written.
func (c *Conn) Close() { c.close() }

// close is Close reporting whether this call started the close, so that a
// disconnect several goroutines ask for at once is counted once.
func (c *Conn) close() bool {
	if c.closing.Swap(true) {
		return false
	}
	// The close is queued behind any flush already scheduled, and gnet writes
	// what is left in the outbound buffer before it closes the socket.
	_ = c.gc.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if c.open {
			_ = c.Run(context.Background())
			_ = c.gc.EventLoop().Close(c.gc)
		}
		return nil
	}))
	return true
}

// CloseWith sends one last frame and closes.
func (c *Conn) CloseWith(frame []byte) {
	c.Send(frame)
	c.Close()
}
