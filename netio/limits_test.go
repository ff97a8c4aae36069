package netio_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

// The global and the per-IP limit each refuse with their own code, count the
// refusal, and free the slot when a connection closes.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		maxConns, perIP int
		want            protocol.Code
	}{
		{"global", 3, 100, protocol.CodeUnavailable},
		{"per IP", 100, 3, protocol.CodeRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.MaxConns, cfg.MaxConnsPerIP = tt.maxConns, tt.perIP
			srv := startServer(t, cfg)
			var admitted []*wire
			for range 3 {
				admitted = append(admitted, srv.dial(t))
			}
			refused := dialWire(t, srv.addr())
			refused.expectError(0, tt.want)
			refused.expectClosed()
			if st := srv.Stats(); st.Rejected != 1 || st.Active != 3 {
				t.Fatalf("stats %+v, want 1 rejected and 3 active", st)
			}

			admitted[0].Close()
			wait.For(t, 5*time.Second, "the slot to free", func() bool { return srv.Stats().Active == 2 })
			c := srv.dial(t)
			c.request(2, protocol.TypePing, nil)
			c.expectOK(2)
		})
	}
}

// Connections opened at once on several loops do not overshoot the global limit.
func TestConnectionLimitUnderConcurrentOpens(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.EventLoops = 4
	cfg.MaxConns = 4
	srv := startServer(t, cfg)
	const n = 64
	var wg sync.WaitGroup
	conns := make([]net.Conn, n)
	for i := range n {
		wg.Go(func() {
			nc, err := net.DialTimeout("tcp", srv.addr(), 5*time.Second)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			conns[i] = nc
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range conns {
			if nc != nil {
				nc.Close()
			}
		}
	})
	wait.For(t, 5*time.Second, "every connection to be admitted or refused", func() bool {
		st := srv.Stats()
		return st.Accepted+st.Rejected == n
	})
	if st := srv.Stats(); st.Accepted > uint64(cfg.MaxConns) {
		t.Fatalf("stats %+v: %d admitted past a limit of %d", st, st.Accepted, cfg.MaxConns)
	}
}

// An unauthenticated connection is closed at the auth timeout, an
// authenticated one only when it goes silent for the idle timeout, and one
// that keeps pinging stays. The ticker runs once a second, so each fires up
// to a second late.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.AuthTimeout = 300 * time.Millisecond
	cfg.IdleTimeout = 1200 * time.Millisecond
	srv := startServer(t, cfg)

	anonymous := srv.dial(t)
	silent := srv.dial(t)
	silent.request(2, typeLogin, login{User: "silent"})
	silent.expectOK(2)
	busy := srv.dial(t)
	busy.request(2, typeLogin, login{User: "busy"})
	busy.expectOK(2)

	// Keep busy talking until both timeouts have fired; the others' error
	// frames wait in their sockets meanwhile.
	id := uint64(3)
	for deadline := time.Now().Add(5 * time.Second); ; id++ {
		st := srv.Stats()
		if st.AuthTimeouts+st.IdleTimeouts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: timeouts did not fire", st)
		}
		time.Sleep(200 * time.Millisecond)
		busy.request(id, protocol.TypePing, nil)
		busy.expectOK(id)
	}
	anonymous.expectError(0, protocol.CodeUnauthorized)
	anonymous.expectClosed()
	silent.expectError(0, protocol.CodeUnavailable)
	silent.expectClosed()
	wait.For(t, 5*time.Second, "both closes", func() bool { return srv.Stats().Active == 1 })
	if st := srv.Stats(); st.AuthTimeouts != 1 || st.IdleTimeouts != 1 {
		t.Fatalf("stats %+v, want one auth and one idle timeout", st)
	}
	busy.request(id, typeEcho, nil)
	busy.expectOK(id)
}
