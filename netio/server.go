package netio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"huddle/protocol"
)

// Config holds the front end's limits; configs.Net supplies them.
type Config struct {
	Addr          string
	MaxFrame      int
	AuthTimeout   time.Duration
	IdleTimeout   time.Duration
	Heartbeat     time.Duration
	MaxConns      int
	MaxConnsPerIP int
	OutboundQueue int
	EventLoops    int
	ServerVersion string
	Logger        *slog.Logger
}

// Handler receives every request after hello. Both methods run on an event
// loop and must not block: hand the work to an actor or a worker pool.
type Handler interface {
	HandleRequest(c *Conn, req protocol.Request)
	ConnClosed(c *Conn)
}

// Stats are the front end's counters.
type Stats struct {
	Active        int64  `json:"active"`
	Accepted      uint64 `json:"accepted"`
	Rejected      uint64 `json:"rejected"`
	SlowConsumers uint64 `json:"slow_consumers"`
	AuthTimeouts  uint64 `json:"auth_timeouts"`
	IdleTimeouts  uint64 `json:"idle_timeouts"`
	BadFrames     uint64 `json:"bad_frames"`
}

// Server is the gnet engine plus the connection registry that timeouts and
// limits need.
type Server struct {
	gnet.BuiltinEventEngine

	cfg     Config
	handler Handler
	log     *slog.Logger

	eng      gnet.Engine
	addr     netip.AddrPort
	booted   chan struct{}
	done     chan error
	draining atomic.Bool
	nextID   atomic.Uint64
	stopOnce sync.Once
	stopErr  error

	conns sync.Map // id → *Conn

	ipMu  sync.Mutex
	perIP map[netip.Addr]int

	active                                                     atomic.Int64
	accepted, rejected, slow, authTimeouts, idleTimeouts, bads atomic.Uint64
}

// New returns a server that is not yet listening.
func New(cfg Config, h Handler) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:     cfg,
		handler: h,
		log:     cfg.Logger,
		booted:  make(chan struct{}),
		done:    make(chan error, 1),
		perIP:   make(map[netip.Addr]int),
	}
}

// Start listens and serves in the background; it returns once the listener
// is bound, or with the error that prevented it.
func (s *Server) Start() error {
	go func() {
		s.done <- gnet.Run(s, "tcp://"+s.cfg.Addr,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(s.cfg.EventLoops),
			gnet.WithReusePort(false),
			gnet.WithReuseAddr(true),
			gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(gnetLogger{s.log}),
		)
	}()
	select {
	case <-s.booted:
		return nil
	case err := <-s.done:
		if err == nil {
			err = errors.New("gnet stopped before boot")
		}
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Drain stops accepting connections and requests; requests already handed to
// the Handler go on.
func (s *Server) Drain() { s.draining.Store(true) }

// Stop closes every connection after flushing what is queued to it, and
// stops the event loops. It is idempotent: later calls wait for the first
// and return its result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	s.Drain()
	if err := s.eng.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop gnet: %w", err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Active:        s.active.Load(),
		Accepted:      s.accepted.Load(),
		Rejected:      s.rejected.Load(),
		SlowConsumers: s.slow.Load(),
		AuthTimeouts:  s.authTimeouts.Load(),
		IdleTimeouts:  s.idleTimeouts.Load(),
		BadFrames:     s.bads.Load(),
	}
}

// OnBoot records the engine and the bound address.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	fd, err := eng.Dup()
	if err == nil {
		if sa, err := unix.Getsockname(fd); err == nil {
			if in4, ok := sa.(*unix.SockaddrInet4); ok {
				s.addr = netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port))
			} else if in6, ok := sa.(*unix.SockaddrInet6); ok {
				s.addr = netip.AddrPortFrom(netip.AddrFrom16(in6.Addr), uint16(in6.Port))
			}
		}
		unix.Close(fd)
	}
	s.log.Info("control listener up", "addr", s.addr.String(), "event_loops", s.cfg.EventLoops,
		"max_conns", s.cfg.MaxConns)
	close(s.booted)
	return gnet.None
}

// OnOpen admits or refuses a new connection.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	remote := remoteIP(gc.RemoteAddr())
	if refusal := s.admit(remote); refusal != nil {
		s.rejected.Add(1)
		return protocol.EncodeError(0, refusal), gnet.Close
	}
	now := time.Now()
	c := &Conn{id: s.nextID.Add(1), remote: remote, gc: gc, srv: s, open: true}
	c.unauthSince.Store(now.UnixNano())
	c.lastSeen.Store(now.UnixNano())
	gc.SetContext(c)
	s.conns.Store(c.id, c)
	s.accepted.Add(1)
	return nil, gnet.None
}

func (s *Server) admit(ip netip.Addr) *protocol.Error {
	if s.draining.Load() {
		return protocol.Errorf(protocol.CodeUnavailable, "server is shutting down")
	}
	// OnOpen runs on every loop at once: the global slot is checked and
	// taken under the same lock as the per-IP one, or both loops could take
	// the last one.
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	if s.active.Load() >= int64(s.cfg.MaxConns) {
		return protocol.Errorf(protocol.CodeUnavailable, "server is full")
	}
	if s.perIP[ip] >= s.cfg.MaxConnsPerIP {
		return protocol.Errorf(protocol.CodeRateLimited, "too many connections from %s", ip)
	}
	s.perIP[ip]++
	s.active.Add(1)
	return nil
}

// OnClose forgets the connection and tells the handler.
func (s *Server) OnClose(gc gnet.Conn, _ error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.None
	}
	c.open = false
	c.closing.Store(true)
	c.markGone()
	s.conns.Delete(c.id)
	s.active.Add(-1)
	s.ipMu.Lock()
	if s.perIP[c.remote]--; s.perIP[c.remote] <= 0 {
		delete(s.perIP, c.remote)
	}
	s.ipMu.Unlock()
	s.handler.ConnClosed(c)
	return gnet.None
}

// OnTraffic frames what arrived and forwards each request. It returns as
// soon as the buffer holds no complete frame.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	c.lastSeen.Store(time.Now().UnixNano())
	for !c.closing.Load() {
		hdr, err := gc.Peek(protocol.HeaderSize)
		if err != nil {
			break // need more bytes
		}
		size, err := protocol.FrameLength(hdr, s.cfg.MaxFrame)
		if err != nil {
			s.bads.Add(1)
			code := protocol.CodeBadRequest
			if errors.Is(err, protocol.ErrFrameTooLarge) {
				code = protocol.CodeTooLarge
			}
			c.CloseWith(protocol.EncodeError(0, protocol.Errorf(code, "%v", err)))
			break
		}
		if gc.InboundBuffered() < protocol.HeaderSize+size {
			break
		}
		frame, _ := gc.Peek(protocol.HeaderSize + size)
		req, derr := protocol.DecodeRequest(frame[protocol.HeaderSize:])
		if derr != nil {
			req.ID = protocol.LooseID(frame[protocol.HeaderSize:])
		}
		_, _ = gc.Discard(protocol.HeaderSize + size)
		s.dispatch(c, req, derr)
	}
	return gnet.None
}

func (s *Server) dispatch(c *Conn, req protocol.Request, derr error) {
	if derr != nil {
		s.bads.Add(1)
		c.Send(protocol.EncodeError(req.ID, derr.(*protocol.Error)))
		return
	}
	if !c.helloDone {
		if req.Type != protocol.TypeHello {
			c.CloseWith(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeBadRequest, "the first request must be hello")))
			return
		}
		s.hello(c, req)
		return
	}
	switch {
	case req.Type == protocol.TypePing:
		s.reply(c, req.ID, protocol.Pong{TS: time.Now().UnixMilli()})
	case req.Type == protocol.TypeHello:
		c.Send(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeBadRequest, "hello was already sent")))
	case s.draining.Load():
		c.Send(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeUnavailable, "server is shutting down")))
	default:
		s.handler.HandleRequest(c, req)
	}
}

func (s *Server) hello(c *Conn, req protocol.Request) {
	var h protocol.Hello
	if err := protocol.DecodeData(req.Data, &h); err != nil {
		c.CloseWith(protocol.EncodeError(req.ID, err.(*protocol.Error)))
		return
	}
	c.helloDone = true
	s.reply(c, req.ID, protocol.HelloReply{
		Server:        s.cfg.ServerVersion,
		Version:       protocol.Version,
		MaxFrame:      s.cfg.MaxFrame,
		HeartbeatMS:   s.cfg.Heartbeat.Milliseconds(),
		AuthTimeoutMS: s.cfg.AuthTimeout.Milliseconds(),
	})
}

func (s *Server) reply(c *Conn, id uint64, data any) {
	frame, err := protocol.EncodeResponse(id, data)
	if err != nil {
		s.log.Error("encode reply", "err", err)
		return
	}
	c.Send(frame)
}

func (s *Server) slowConsumer(c *Conn) {
	if !c.close() {
		return // already closing: another sender hit the limit first
	}
	s.slow.Add(1)
	s.log.Warn("slow consumer disconnected", "conn", c.id, "remote", c.remote.String(),
		"limit_bytes", s.cfg.OutboundQueue)
}

// OnTick enforces the auth and idle timeouts once a second.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	now := time.Now()
	authDeadline := now.Add(-s.cfg.AuthTimeout)
	idleDeadline := now.Add(-s.cfg.IdleTimeout).UnixNano()
	s.conns.Range(func(_, v any) bool {
		c := v.(*Conn)
		switch {
		case c.closing.Load():
		case !c.authenticated.Load() && c.unauthSince.Load() < authDeadline.UnixNano():
			s.authTimeouts.Add(1)
			c.CloseWith(protocol.EncodeError(0, protocol.Errorf(protocol.CodeUnauthorized, "not authenticated within %s", s.cfg.AuthTimeout)))
		case c.lastSeen.Load() < idleDeadline:
			s.idleTimeouts.Add(1)
			c.CloseWith(protocol.EncodeError(0, protocol.Errorf(protocol.CodeUnavailable, "idle for %s", s.cfg.IdleTimeout)))
		}
		return true
	})
	return time.Second, gnet.None
}

func remoteIP(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// gnetLogger routes gnet's own logging into slog.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(format string, args ...any) {}
func (g gnetLogger) Infof(format string, args ...any)  { g.l.Info(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.l.Warn(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Errorf(format string, args ...any) { g.l.Error(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.l.Error(fmt.Sprintf(format, args...)) }
