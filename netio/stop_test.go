package netio_test

import (
	"context"
	"net"
	"testing"
	"time"

	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

// Drain refuses new connections and new handler requests; ping still works so
// that clients are not taken for idle while in-flight requests finish.
func TestDrain(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig())
	c := srv.dial(t)
	srv.Drain()

	refused := dialWire(t, srv.addr())
	refused.expectError(0, protocol.CodeUnavailable)
	refused.expectClosed()

	c.request(2, typeEcho, nil)
	c.expectError(2, protocol.CodeUnavailable)
	c.request(3, protocol.TypePing, nil)
	c.expectOK(3)
	if st := srv.Stats(); st.Rejected != 1 || st.Active != 1 {
		t.Fatalf("stats %+v, want 1 rejected and 1 active", st)
	}
}

// Stop closes every open connection, even one whose client has stopped
// reading, tells the handler about each, and returns; stopping again is a
// no-op. The goroutine leak check in TestMain covers what it leaves behind.
func TestStop(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.OutboundQueue = 16 << 20 // so that stuck is not closed as a slow consumer first
	srv := startServer(t, cfg)
	idle := srv.dial(t)
	authed := srv.dial(t)
	authed.request(2, typeLogin, login{User: "alice"})
	authed.expectOK(2)
	notHello := dialWire(t, srv.addr())
	stuck := srv.dial(t)
	// 8 MiB it will never read, more than the sockets hold.
	stuck.request(2, typeFlood, flood{Senders: 1, N: 8 << 10, Pad: 1 << 10})
	stuck.expectOK(2)
	wait.For(t, 5*time.Second, "four connections", func() bool { return srv.Stats().Active == 4 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}

	idle.expectClosed()
	authed.expectClosed()
	notHello.expectClosed()
	if n := len(srv.h.closedConns()); n != 4 {
		t.Fatalf("ConnClosed ran %d times, want 4", n)
	}
	if st := srv.Stats(); st.Active != 0 {
		t.Fatalf("stats %+v, want none active", st)
	}
	if nc, err := net.DialTimeout("tcp", srv.addr(), time.Second); err == nil {
		nc.Close()
		t.Fatal("dial succeeded after Stop")
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}
