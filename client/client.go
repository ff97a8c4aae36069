package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"huddle/protocol"
)

var (
	// ErrClosed is returned by calls on a Client after Close.
	ErrClosed = errors.New("client closed")
	// ErrConnectionLost wraps the cause when the connection ends under a
	// call; Reconnect makes the Client usable again.
	ErrConnectionLost = errors.New("connection lost")
)

// Client is a connection to a Huddle server. It is safe for concurrent use;
// concurrent Calls are pipelined on the one connection.
type Client struct {
	addr   string
	opts   options
	pushes chan protocol.Push
	http   *http.Client // the file data channel

	nextID  atomic.Uint64
	dropped atomic.Uint64

	// reconnect serializes Reconnect and lets Close wait for one in flight.
	reconnect sync.Mutex

	mu         sync.Mutex
	cur        *conn
	closed     bool
	cancelDial context.CancelFunc // cancels an in-flight Reconnect
	session    protocol.Session   // from the last Login or Resume, with its token
}

// Dial connects to the server at addr (HOST:PORT) and says hello.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	c := &Client{addr: addr, opts: defaultOptions()}
	for _, o := range opts {
		o(&c.opts)
	}
	c.pushes = make(chan protocol.Push, c.opts.pushBuffer)
	c.http = newHTTPClient(c.opts)
	cn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.cur = cn
	return c, nil
}

// connect dials, says hello and starts the connection's goroutines.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	var d net.Dialer
	if c.opts.localIP.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(c.opts.localIP, 0))
	}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.addr, err)
	}
	cn := newConn(nc)
	br := protocol.NewFrameReader(bufio.NewReaderSize(nc, 32<<10))
	if err := cn.handshake(ctx, br, c.nextID.Add(1), c.opts.clientName, c.deliver); err != nil {
		_ = nc.Close()
		if errors.Is(err, protocol.ErrFrameTooLarge) {
			// The first bytes back were no frame header: "HTTP" read as
			// a length is 1.2 GB.
			return nil, fmt.Errorf("hello %s: the server there does not speak Huddle's protocol (is it huddled's --http data channel?): %w", c.addr, err)
		}
		return nil, fmt.Errorf("hello %s: %w", c.addr, err)
	}
	cn.wg.Add(2)
	go cn.readLoop(br, c.deliver)
	go cn.writeLoop()
	interval := c.opts.heartbeat
	if interval == 0 {
		interval = time.Duration(cn.hello.HeartbeatMS) * time.Millisecond
	}
	if interval > 0 {
		cn.wg.Add(1)
		go cn.heartbeat(interval, func() uint64 { return c.nextID.Add(1) })
	}
	return cn, nil
}

// deliver hands a push to the channel, or drops and counts it when the
// channel is full: the reader must never wait for a push consumer.
func (c *Client) deliver(p protocol.Push) {
	if c.opts.pushHandler != nil {
		c.opts.pushHandler(p)
		return
	}
	select {
	case c.pushes <- p:
	default:
		c.dropped.Add(1)
	}
}

func (c *Client) conn() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Call sends a request of type typ with data req and decodes the response
// data into resp (which may be nil). A failed response is returned as a
// *protocol.Error; a lost connection as an error wrapping ErrConnectionLost.
// Calls may run concurrently; they share the connection.
func (c *Client) Call(ctx context.Context, typ string, req, resp any) error {
	return c.conn().call(ctx, c.nextID.Add(1), typ, req, resp)
}

// CallAsync sends a request of type typ with data req and returns without
// waiting for the response: when the request cannot be sent, with the
// error, and done is not called; else with nil, and done gets what Call
// would have returned with a nil resp: nil on success, the
// *protocol.Error of a failed response, or an error wrapping
// ErrConnectionLost. done runs on one of the connection's goroutines, so
// it must not block; it may call CallAsync. CallAsync never waits for room
// in the write queue: the caller bounds its requests in flight.
func (c *Client) CallAsync(typ string, req any, done func(error)) error {
	return c.conn().callAsync(c.nextID.Add(1), typ, req, done)
}

// Pushes returns the channel of server pushes. It stays the same across
// Reconnect and is never closed; select on Done to notice a lost connection.
func (c *Client) Pushes() <-chan protocol.Push { return c.pushes }

// DroppedPushes counts the pushes dropped because the channel was full.
func (c *Client) DroppedPushes() uint64 { return c.dropped.Load() }

// Done returns a channel that is closed when the current connection is lost
// or the Client is closed. After Reconnect, call Done again.
func (c *Client) Done() <-chan struct{} { return c.conn().done }

// Err returns why the current connection was lost, or nil while it is up.
func (c *Client) Err() error { return c.conn().lostErr() }

// Hello returns the server's reply to the current connection's hello.
func (c *Client) Hello() protocol.HelloReply { return c.conn().hello }

// Addr returns the address the Client dials.
func (c *Client) Addr() string { return c.addr }

// Session returns the session of the last Login or Resume, with its token,
// or the zero Session when the Client is not logged in.
func (c *Client) Session() protocol.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

func (c *Client) setSession(s protocol.Session) {
	c.mu.Lock()
	c.session = s
	c.mu.Unlock()
}

// Reconnect replaces the connection with a new one to the same address, says
// hello and, when the Client holds a session token, resumes that session.
// Calls waiting on the old connection fail with ErrConnectionLost. When the
// new connection is up but the resume fails, the error is returned (check it
// with protocol.CodeOf) and the connection stays up, unauthenticated.
func (c *Client) Reconnect(ctx context.Context) error {
	c.reconnect.Lock()
	defer c.reconnect.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.cancelDial = cancel
	old := c.cur
	c.mu.Unlock()

	old.shutdown(errors.New("reconnecting"))
	cn, err := c.connect(ctx)
	c.mu.Lock()
	c.cancelDial = nil
	closed := c.closed
	if err == nil && !closed {
		c.cur = cn
	}
	token := c.session.Token
	c.mu.Unlock()
	switch {
	case err != nil:
		return err
	case closed:
		cn.shutdown(ErrClosed)
		return ErrClosed
	case token == "":
		return nil
	}
	if _, err := c.Resume(ctx, token); err != nil {
		return fmt.Errorf("resume after reconnect: %w", err)
	}
	return nil
}

// Close closes the connection, fails waiting calls with ErrClosed and waits
// for the Client's goroutines to end. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.cancelDial != nil {
		c.cancelDial()
	}
	c.mu.Unlock()
	// A Reconnect in flight finishes first: it sees closed and shuts its new
	// connection down itself.
	c.reconnect.Lock()
	defer c.reconnect.Unlock()
	c.conn().shutdown(ErrClosed)
	c.http.CloseIdleConnections()
	return nil
}
