// Package clifake is a fake Huddle control server for the client library's
// and the CLI's tests: it speaks the framing and envelopes on 127.0.0.1:0 with
// canned answers per request type, so that client behaviour (pipelining,
// pushes, connection loss, reconnect) can be tested without the real server.
// It imports only the protocol package and is imported by tests only.
package clifake

import (
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huddle/protocol"
)

// Handler answers one request (after hello).
type Handler func(c *Conn, req protocol.Request)

// Server is the fake. Set Hello, Handlers and OnRequest in the setup
// functions passed to Start, before any connection exists.
type Server struct {
	t  testing.TB
	ln net.Listener

	// Hello is the reply to every hello.
	Hello protocol.HelloReply
	// Handlers answer requests by type, each on its own goroutine, so that
	// replies may go out in any order, as a pipelining server's may.
	// Unknown types get a forbidden error.
	Handlers map[string]Handler
	// OnRequest, when set, sees each request first, on the connection's
	// reading goroutine and so in arrival order; true means it was handled.
	OnRequest func(c *Conn, req protocol.Request) bool

	// HelloSeen receives every hello; Conns every connection after hello;
	// Resumes the token of every auth.resume once it is answered (each
	// buffered, extra dropped).
	HelloSeen chan protocol.Hello
	Conns     chan *Conn
	Resumes   chan string

	// InFlight and MaxFlight count requests being handled; Pings counts pings.
	InFlight  atomic.Int64
	MaxFlight atomic.Int64
	Pings     atomic.Int64

	mu   sync.Mutex
	open []*Conn
	wg   sync.WaitGroup
}

// Conn is one accepted connection.
type Conn struct {
	s    *Server
	nc   net.Conn
	wm   sync.Mutex
	gone chan struct{}
}

// Echo is the data of the "echo" request: the reply repeats it after DelayMS.
type Echo struct {
	N       int    `json:"n"`
	DelayMS int    `json:"delay_ms,omitempty"`
	Pad     string `json:"pad,omitempty"`
}

// Revoked is the token that auth.resume refuses as unauthorized.
const Revoked = "tok-revoked"

// Start listens on 127.0.0.1:0, applies setup and serves until the test ends.
func Start(t testing.TB, setup ...func(*Server)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		t:  t,
		ln: ln,
		Hello: protocol.HelloReply{Server: "fake/1", Version: protocol.Version,
			MaxFrame: protocol.DefaultMaxFrame, AuthTimeoutMS: 10000},
		Handlers:  defaultHandlers(),
		HelloSeen: make(chan protocol.Hello, 64),
		Conns:     make(chan *Conn, 64),
		Resumes:   make(chan string, 64),
	}
	for _, f := range setup {
		f(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.stop)
	return s
}

// Addr is the address to dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// NextConn returns the next connection that completed hello.
func (s *Server) NextConn() *Conn {
	s.t.Helper()
	select {
	case c := <-s.Conns:
		return c
	case <-time.After(5 * time.Second):
		s.t.Fatal("no connection within 5s")
		return nil
	}
}

// WaitInFlight waits until n requests are being handled.
func (s *Server) WaitInFlight(n int64) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.InFlight.Load() < n {
		if time.Now().After(deadline) {
			s.t.Fatalf("only %d requests reached the server, want %d", s.InFlight.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{s: s, nc: nc, gone: make(chan struct{})}
		s.mu.Lock()
		s.open = append(s.open, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go c.serve()
	}
}

func (s *Server) stop() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.open {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func offer[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

func (c *Conn) serve() {
	defer c.s.wg.Done()
	defer close(c.gone)
	defer c.nc.Close()
	helloDone := false
	for {
		payload, err := protocol.ReadFrame(c.nc, protocol.DefaultMaxFrame)
		if err != nil {
			return
		}
		req, err := protocol.DecodeRequest(payload)
		if err != nil {
			c.Send(protocol.EncodeError(0, protocol.Errorf(protocol.CodeBadRequest, "%v", err)))
			return
		}
		if !helloDone {
			var h protocol.Hello
			if err := protocol.DecodeData(req.Data, &h); err != nil || req.Type != protocol.TypeHello {
				c.Fail(req.ID, protocol.CodeBadRequest, "the first request must be hello")
				return
			}
			helloDone = true
			offer(c.s.HelloSeen, h)
			c.Reply(req.ID, c.s.Hello)
			offer(c.s.Conns, c)
			continue
		}
		if c.s.OnRequest != nil && c.s.OnRequest(c, req) {
			continue
		}
		c.s.wg.Add(1)
		go c.handle(req)
	}
}

func (c *Conn) handle(req protocol.Request) {
	defer c.s.wg.Done()
	n := c.s.InFlight.Add(1)
	defer c.s.InFlight.Add(-1)
	for {
		m := c.s.MaxFlight.Load()
		if n <= m || c.s.MaxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if h := c.s.Handlers[req.Type]; h != nil {
		h(c, req)
		return
	}
	c.Fail(req.ID, protocol.CodeForbidden, "not allowed: "+req.Type)
}

// defaultHandlers: ping, echo, hang (never answers), and an auth family
// where login always succeeds with token "tok-NAME" and resume accepts any
// token of that form except Revoked.
func defaultHandlers() map[string]Handler {
	return map[string]Handler{
		protocol.TypePing: func(c *Conn, req protocol.Request) {
			c.s.Pings.Add(1)
			c.Reply(req.ID, protocol.Pong{TS: time.Now().UnixMilli()})
		},
		"echo": func(c *Conn, req protocol.Request) {
			var d Echo
			_ = json.Unmarshal(req.Data, &d)
			time.Sleep(time.Duration(d.DelayMS) * time.Millisecond)
			c.Reply(req.ID, d)
		},
		"hang": func(c *Conn, _ protocol.Request) { <-c.gone },
		protocol.TypeAuthLogin: func(c *Conn, req protocol.Request) {
			var l protocol.Login
			_ = json.Unmarshal(req.Data, &l)
			c.Reply(req.ID, protocol.Session{User: l.Name, Token: "tok-" + l.Name, Expires: time.Now().Add(time.Hour)})
		},
		protocol.TypeAuthResume: func(c *Conn, req protocol.Request) {
			var r protocol.Resume
			_ = json.Unmarshal(req.Data, &r)
			defer offer(c.s.Resumes, r.Token) // after the answer is on the wire
			user, ok := strings.CutPrefix(r.Token, "tok-")
			if !ok || r.Token == Revoked {
				c.Fail(req.ID, protocol.CodeUnauthorized, "session expired or revoked")
				return
			}
			c.Reply(req.ID, protocol.Session{User: user, Expires: time.Now().Add(time.Hour)})
		},
		protocol.TypeAuthLogout: func(c *Conn, req protocol.Request) { c.Reply(req.ID, protocol.Empty{}) },
	}
}

// Reply returns a handler that answers every request with data.
func Reply(data any) Handler {
	return func(c *Conn, req protocol.Request) { c.Reply(req.ID, data) }
}

// Gone is closed when the connection ends.
func (c *Conn) Gone() <-chan struct{} { return c.gone }

// Close closes the connection from the server side.
func (c *Conn) Close() { _ = c.nc.Close() }

// Send writes raw bytes.
func (c *Conn) Send(frame []byte) {
	c.wm.Lock()
	defer c.wm.Unlock()
	_, _ = c.nc.Write(frame)
}

// Reply sends a successful response.
func (c *Conn) Reply(id uint64, data any) {
	frame, err := protocol.EncodeResponse(id, data)
	if err != nil {
		panic(err)
	}
	c.Send(frame)
}

// Fail sends an error response.
func (c *Conn) Fail(id uint64, code protocol.Code, msg string) {
	c.Send(protocol.EncodeError(id, &protocol.Error{Code: code, Message: msg}))
}

// Push sends a push.
func (c *Conn) Push(typ string, data any) {
	frame, err := protocol.EncodePush(typ, data)
	if err != nil {
		panic(err)
	}
	c.Send(frame)
}

// StartRaw serves every connection with fn (the connection is closed when
// fn returns or the test ends) and returns the address.
func StartRaw(t testing.TB, fn func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		open []net.Conn
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, nc)
			mu.Unlock()
			wg.Go(func() { fn(nc); _ = nc.Close() })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, nc := range open {
			_ = nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// StartSilent accepts connections and never answers.
func StartSilent(t testing.TB) string {
	return StartRaw(t, func(nc net.Conn) { _, _ = io.Copy(io.Discard, nc) })
}
