package server_test

import (
	"runtime"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil"
	"huddle/protocol"
)

func TestBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		addr := e.addr()
		tests := []struct {
			name  string
			run   func(c *testutil.RawConn)
			alive bool // the connection stays usable afterwards
		}{
			{"garbage bytes", func(c *testutil.RawConn) {
				c.WriteBytes([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
				c.ExpectError(protocol.CodeTooLarge)
			}, false},
			{"frame over max_frame", func(c *testutil.RawConn) {
				c.Hello()
				c.WriteBytes([]byte{0, 0x20, 0, 1}) // 2 MiB + 1 declared
				c.ExpectError(protocol.CodeTooLarge)
			}, false},
			{"zero-length frame", func(c *testutil.RawConn) {
				c.Hello()
				c.WriteBytes([]byte{0, 0, 0, 0})
				c.ExpectError(protocol.CodeBadRequest)
			}, false},
			{"invalid json", func(c *testutil.RawConn) {
				c.Hello()
				c.WriteBytes(protocol.AppendFrame(nil, []byte(`{"id":5,"type":`)))
				c.ExpectError(protocol.CodeBadRequest)
			}, true},
			{"unknown type", func(c *testutil.RawConn) {
				c.Hello()
				c.Request(7, "nope.nope", nil)
				if m := c.ExpectError(protocol.CodeBadRequest); m.ID != 7 {
					t.Fatalf("error id %d, want 7", m.ID)
				}
			}, true},
			{"unknown top-level field", func(c *testutil.RawConn) {
				c.Hello()
				c.WriteBytes(protocol.AppendFrame(nil, []byte(`{"id":8,"type":"ping","sneaky":1}`)))
				if m := c.ExpectError(protocol.CodeBadRequest); m.ID != 8 {
					t.Fatalf("error id %d, want 8", m.ID)
				}
			}, true},
			{"unknown data field", func(c *testutil.RawConn) {
				c.Hello()
				c.WriteBytes(protocol.AppendFrame(nil, []byte(`{"id":9,"type":"auth.login","data":{"name":"x","password":"y","admin":true}}`)))
				c.ExpectError(protocol.CodeBadRequest)
			}, true},
			{"request before hello", func(c *testutil.RawConn) {
				c.Request(1, protocol.TypePing, nil)
				c.ExpectError(protocol.CodeBadRequest)
			}, false},
			{"wrong protocol version", func(c *testutil.RawConn) {
				c.Request(1, protocol.TypeHello, protocol.Hello{Version: 99})
				c.ExpectError(protocol.CodeBadRequest)
			}, false},
			{"request before auth", func(c *testutil.RawConn) {
				c.Hello()
				c.Request(2, protocol.TypeFriendList, nil)
				c.ExpectError(protocol.CodeUnauthorized)
			}, true},
			{"duplicate hello", func(c *testutil.RawConn) {
				c.Hello()
				c.Request(2, protocol.TypeHello, protocol.Hello{Version: protocol.Version})
				c.ExpectError(protocol.CodeBadRequest)
			}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := testutil.DialRaw(t, addr)
				tt.run(c)
				if tt.alive {
					c.Request(99, protocol.TypePing, nil)
					if m := c.Read(); !m.OK || m.ID != 99 {
						t.Fatalf("connection unusable after error: %+v", m)
					}
				} else {
					c.ExpectClosed()
				}
				// The server goes on serving others.
				other := testutil.DialRaw(t, addr)
				other.Hello()
			})
		}
	})
}

// A frame split into single bytes and many frames in one write both work.
func TestFramingAcrossReads(t *testing.T) {
	e := &env{t: t}
	e.cfg = testutil.TestConfig(t, "sqlite")
	e.srv = testutil.StartServer(t, e.cfg)
	c := testutil.DialRaw(t, e.addr())
	hello, _ := protocol.EncodeRequest(1, protocol.TypeHello, protocol.Hello{Version: protocol.Version})
	for _, b := range hello {
		c.WriteBytes([]byte{b})
		time.Sleep(time.Millisecond)
	}
	if m := c.Read(); !m.OK {
		t.Fatalf("hello: %+v", m.Error)
	}
	var batch []byte
	for id := uint64(2); id < 102; id++ {
		f, _ := protocol.EncodeRequest(id, protocol.TypePing, nil)
		batch = append(batch, f...)
	}
	c.WriteBytes(batch)
	for id := uint64(2); id < 102; id++ {
		if m := c.Read(); !m.OK || m.ID != id {
			t.Fatalf("pipelined ping %d: got %+v", id, m)
		}
	}
}

func TestAuthTimeoutClosesSilentConnection(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.AuthTimeout = 300 * time.Millisecond
	srv := testutil.StartServer(t, cfg)
	c := testutil.DialRaw(t, srv.Addr().String())
	c.Hello()
	c.ExpectError(protocol.CodeUnauthorized)
	c.ExpectClosed()
	if srv.Stats().AuthTimeouts == 0 {
		t.Fatal("auth timeout not counted")
	}
}

func TestIdleTimeoutAndPing(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.IdleTimeout = 1500 * time.Millisecond
	cfg.Net.Heartbeat = 500 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	busy, _ := e.newUser("pinger")
	// The client library pings at the server's heartbeat; this one must not.
	idle := e.dial(client.WithHeartbeat(-1))
	call(t, idle, protocol.TypeAuthLogin, protocol.Login{Name: "pinger", Password: password}, nil)
	deadline := time.After(3 * time.Second)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-tick.C:
			call(t, busy, protocol.TypePing, nil, nil)
		case <-deadline:
			waiting = false
		}
	}
	select {
	case <-idle.Done():
	default:
		t.Fatal("idle connection still open")
	}
	call(t, busy, protocol.TypeUserGet, nil, nil)
}

func TestConnectionLimits(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.MaxConnsPerIP = 3
	srv := testutil.StartServer(t, cfg)
	for range 3 {
		testutil.DialRaw(t, srv.Addr().String()).Hello()
	}
	c := testutil.DialRaw(t, srv.Addr().String())
	c.ExpectError(protocol.CodeRateLimited)
	c.ExpectClosed()
	if srv.Stats().Rejected != 1 {
		t.Fatalf("rejected = %d, want 1", srv.Stats().Rejected)
	}
}

// A client that stops reading is disconnected once its outbound queue is
// full, and the server's memory does not grow with what it would have sent.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.MaxFrame = 4096
	cfg.Chat.MaxText = 1024
	cfg.Net.OutboundQueue = 64 << 10
	srv := testutil.StartServer(t, cfg)
	c := testutil.DialRaw(t, srv.Addr().String())
	_ = c.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)
	c.Hello()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Pipeline pings without reading: ~60 bytes of reply each, 40 MB in all.
	var batch []byte
	for id := uint64(2); id < 1002; id++ {
		f, _ := protocol.EncodeRequest(id, protocol.TypePing, nil)
		batch = append(batch, f...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.Stats().SlowConsumers == 0 && time.Now().Before(deadline) {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(batch); err != nil {
			break // the server closed us
		}
	}
	if srv.Stats().SlowConsumers == 0 {
		t.Fatal("slow consumer was not disconnected")
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 32<<20 {
		t.Fatalf("heap grew by %d bytes while a client did not read", grow)
	}
	// Others are unaffected.
	testutil.DialRaw(t, srv.Addr().String()).Hello()
}

// TestLogoutRestartsAuthTimeout: a connection that logs out long after it
// opened gets a whole auth_timeout to log in again.
func TestLogoutRestartsAuthTimeout(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.AuthTimeout = 1500 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	c, _ := e.newUser("wade")
	time.Sleep(2 * cfg.Net.AuthTimeout) // logged in: no timeout applies
	call(t, c, protocol.TypeAuthLogout, nil, nil)
	time.Sleep(cfg.Net.AuthTimeout / 3)
	call(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "wade", Password: password}, nil)
	call(t, c, protocol.TypeUserGet, nil, nil)
}
