package testutil

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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
	// Meetings' multicast groups and ports from a random corner of the
	// defaults, so that servers of concurrent tests (and anything else on
	// this machine using the defaults, which start at 239.255.0.1:20000)
	// do not hear each other's multicast on lo.
	first := 20000 + 1000*rand.IntN(10)
	cfg.Media.MulticastRange = fmt.Sprintf("239.255.%d.0/24", 100+rand.IntN(155))
	cfg.Media.MulticastPorts = fmt.Sprintf("%d-%d", first, first+999)
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
