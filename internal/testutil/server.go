package testutil

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"huddle/configs"
	"huddle/server"
)

// Backends lists the stores every end-to-end test runs against.
var Backends = []string{"sqlite", "mysql"}

// TestConfig returns a configuration for a server on 127.0.0.1:0 with cheap
// password hashing (tests are about behaviour; the production cost is
// measured in benchmarks). store is "sqlite" or "mysql".
func TestConfig(tb testing.TB, store string) configs.Config {
	tb.Helper()
	cfg := configs.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = tb.TempDir()
	cfg.Net.EventLoops = 2
	cfg.Auth.Argon2Memory = 64
	cfg.Auth.Argon2Time = 1
	cfg.Actors.PresenceGrace = 100 * time.Millisecond
	cfg.Media.Port = 0 // a free pair
	cfg.Media.Workers = 2
	switch store {
	case "sqlite":
		cfg.Store = "sqlite:" + filepath.Join(cfg.Data, "huddle.db")
	case "mysql":
		cfg.Store = "mysql:" + MySQLDSN(tb)
	default:
		tb.Fatalf("unknown backend %q", store)
	}
	return cfg
}

// StartServer starts a server with cfg and stops it when the test ends.
func StartServer(tb testing.TB, cfg configs.Config) *server.Server {
	tb.Helper()
	srv, err := server.Start(context.Background(), cfg, Logger(tb))
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(func() { StopServer(tb, srv) })
	return srv
}

// StopServer shuts srv down and fails the test if that does not go cleanly.
func StopServer(tb testing.TB, srv *server.Server) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		tb.Errorf("shutdown: %v", err)
	}
}

// Logger returns a logger that is quiet unless HUDDLE_TEST_LOG is set.
func Logger(tb testing.TB) *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("HUDDLE_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
