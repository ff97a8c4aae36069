package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"huddle/actors"
	"huddle/configs"
	"huddle/files"
	"huddle/media"
	"huddle/netio"
	"huddle/protocol"
	"huddle/storage"
	"huddle/storage/mysql"
	"huddle/storage/sqlite"
)

// Version is the server version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Server is one running huddled.
type Server struct {
	cfg   configs.Config
	log   *slog.Logger
	store storage.Store
	hub   *actors.Hub
	net   *netio.Server
	files *files.Service
	relay *media.Relay
	mx    *metrics // nil: off

	stopOnce sync.Once
	stopErr  error
}

// Start prepares the data directory, opens the store, starts the actors and
// begins listening.
func Start(ctx context.Context, cfg configs.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The metrics address is bound first, so that a bad one fails the
	// start before anything else runs; it serves once everything does.
	mx, err := listenMetrics(cfg.Metrics.Addr)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = mx.shutdown(ctx)
		}
	}()
	if err := PrepareDataDir(cfg.Data); err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: store, mx: mx}
	s.files, err = files.New(cfg.Files, store, cfg.Data, log)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	s.relay, err = media.Start(media.Config{
		IP:             netip.MustParseAddr(cfg.MediaIP),
		Port:           cfg.Media.Port,
		Workers:        cfg.Media.EffectiveWorkers(),
		Batch:          cfg.Media.Batch,
		MaxPacket:      cfg.Media.MaxPacket,
		SocketBuffer:   cfg.Media.SocketBuffer,
		SourceRate:     cfg.Media.SourceRate,
		SourceBurst:    cfg.Media.SourceBurst,
		Multicast:      cfg.Media.Multicast,
		MulticastIF:    cfg.MulticastIF,
		MulticastTTL:   cfg.Media.MulticastTTL,
		RestartBackoff: cfg.Media.RestartBackoff,
		Timestamps:     cfg.Media.Timestamps,
		Logger:         log.With("part", "relay"),
	})
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("media relay (media_ip, --media-ip; media.port): %w", err)
	}
	s.hub = actors.NewHub(store, s.files, s.relay, cfg, log)
	if err := s.hub.RestoreMeetings(ctx); err != nil {
		_ = s.hub.Shutdown(ctx)
		_ = s.relay.Close()
		_ = store.Close()
		return nil, err
	}
	s.net = netio.New(netio.Config{
		Addr:          cfg.Listen,
		MaxFrame:      cfg.Net.MaxFrame,
		AuthTimeout:   cfg.Net.AuthTimeout,
		IdleTimeout:   cfg.Net.IdleTimeout,
		Heartbeat:     cfg.Net.Heartbeat,
		MaxConns:      cfg.Net.MaxConns,
		MaxConnsPerIP: cfg.Net.MaxConnsPerIP,
		OutboundQueue: cfg.Net.OutboundQueue,
		EventLoops:    cfg.Net.EffectiveEventLoops(),
		ServerVersion: Version,
		Logger:        log,
	}, handler{s.hub})
	if err := s.files.Start(cfg.HTTP, s.hub.FileStored); err != nil {
		_ = s.hub.Shutdown(ctx)
		_ = s.relay.Close()
		_ = store.Close()
		return nil, fmt.Errorf("data channel (http, --http): %w", err)
	}
	if err := s.net.Start(); err != nil {
		_ = s.files.Shutdown(ctx)
		_ = s.hub.Shutdown(ctx)
		_ = s.relay.Close()
		_ = store.Close()
		return nil, fmt.Errorf("control address (listen, --listen): %w", err)
	}
	mx.serve(s.debugVars, log)
	started = true
	return s, nil
}

// PrepareDataDir creates the data directory (mode 0700: it holds the
// database and users' files) if it is missing. It fails if the directory
// cannot be created or the path is something else: MkdirAll returns nil
// only for a directory.
func PrepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %q: %w", dir, err)
	}
	return nil
}

// OpenStore opens the backend named by cfg.EffectiveStore() (sqlite:PATH or
// mysql:DSN) and applies its migrations.
func OpenStore(ctx context.Context, cfg configs.Config) (storage.Store, error) {
	store := cfg.EffectiveStore()
	kind, arg, _ := strings.Cut(store, ":")
	switch kind {
	case "sqlite":
		return sqlite.Open(ctx, arg, sqlite.Options{
			BusyTimeout:  cfg.Storage.SQLiteBusyTimeout,
			MaxOpenConns: cfg.Storage.SQLiteMaxConns,
		})
	case "mysql":
		return mysql.Open(ctx, arg, mysql.Options{
			MaxOpenConns:    cfg.Storage.MySQLMaxOpen,
			MaxIdleConns:    cfg.Storage.MySQLMaxIdle,
			ConnMaxLifetime: cfg.Storage.MySQLConnLifetime,
		})
	}
	return nil, fmt.Errorf("store %q: want sqlite:PATH or mysql:DSN", store)
}

// Addr is the control listener's bound address.
func (s *Server) Addr() netip.AddrPort { return s.net.Addr() }

// HTTPAddr is the file data channel's address.
func (s *Server) HTTPAddr() net.Addr { return s.files.Addr() }

// MediaAddr is the relay's RTP address (RTCP on port+1).
func (s *Server) MediaAddr() netip.AddrPort { return s.relay.Addr() }

// MetricsAddr is the metrics endpoint's address, nil when it is off.
func (s *Server) MetricsAddr() net.Addr { return s.mx.addr() }

// Relay exposes the media relay (tests look at its counters and kill it).
func (s *Server) Relay() *media.Relay { return s.relay }

// Stats returns the front end's counters.
func (s *Server) Stats() netio.Stats { return s.net.Stats() }

// Hub exposes the actor hub (tests look at its directory).
func (s *Server) Hub() *actors.Hub { return s.hub }

// Shutdown drains and stops everything in order: stop the metrics endpoint
// and accepting new connections and requests, let in-flight requests
// finish (bounded by ctx), flush queued replies and close connections,
// stop the actors, close the store. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		errMetrics := s.mx.shutdown(ctx)
		s.net.Drain()
		// Transfers finish (or ctx ends) before the actors go: a finished
		// upload still writes its record and pushes file.new.
		errFiles := s.files.Shutdown(ctx)
		errHub := s.hub.Shutdown(ctx)
		errNet := s.net.Stop(context.WithoutCancel(ctx))
		rs := s.relay.Stats()
		errRelay := s.relay.Close()
		s.log.Info("relay stopped", "received", rs.Received, "forwarded", rs.Forwarded,
			"unregistered", rs.Unregistered, "malformed", rs.Malformed, "wrong_payload", rs.WrongPayload,
			"oversize", rs.Oversize, "rate_limited", rs.RateLimited, "send_errors", rs.SendErrors,
			"rtcp_in", rs.RTCPIn, "feedback_routed", rs.FeedbackRouted, "restarts", rs.Restarts)
		errStore := s.store.Close()
		s.stopErr = errors.Join(errMetrics, errFiles, errHub, errNet, errRelay, errStore)
		s.log.Info("server stopped") // an error is the caller's to report
	})
	return s.stopErr
}

// handler adapts the hub to netio's Handler with netio's concrete Conn.
type handler struct{ hub *actors.Hub }

func (h handler) HandleRequest(c *netio.Conn, req protocol.Request) { h.hub.HandleRequest(c, req) }
func (h handler) ConnClosed(c *netio.Conn)                          { h.hub.ConnClosed(c) }
