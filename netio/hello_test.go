package netio_test

import (
	"testing"
	"time"

	"huddle/protocol"
)

// Nothing reaches the handler before hello; hello tells the client the
// limits; ping is answered by netio itself.
func TestHello(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	srv := startServer(t, cfg)

	t.Run("reply carries the limits", func(t *testing.T) {
		c := dialWire(t, srv.addr())
		c.request(1, protocol.TypeHello, protocol.Hello{Version: protocol.Version, Client: "netio-test"})
		var got protocol.HelloReply
		if err := protocol.DecodeData(c.expectOK(1).Data, &got); err != nil {
			t.Fatal(err)
		}
		want := protocol.HelloReply{
			Server:        cfg.ServerVersion,
			Version:       protocol.Version,
			MaxFrame:      cfg.MaxFrame,
			HeartbeatMS:   cfg.Heartbeat.Milliseconds(),
			AuthTimeoutMS: cfg.AuthTimeout.Milliseconds(),
		}
		if got != want {
			t.Fatalf("hello reply %+v, want %+v", got, want)
		}
	})

	t.Run("ping after hello", func(t *testing.T) {
		c := srv.dial(t)
		before := time.Now().UnixMilli()
		c.request(2, protocol.TypePing, nil)
		var pong protocol.Pong
		if err := protocol.DecodeData(c.expectOK(2).Data, &pong); err != nil {
			t.Fatal(err)
		}
		if pong.TS < before || pong.TS > time.Now().UnixMilli() {
			t.Fatalf("pong ts %d outside [%d, now]", pong.TS, before)
		}
	})

	t.Run("second hello", func(t *testing.T) {
		c := srv.dial(t)
		c.request(2, protocol.TypeHello, protocol.Hello{Version: protocol.Version})
		c.expectError(2, protocol.CodeBadRequest)
		c.request(3, protocol.TypePing, nil)
		c.expectOK(3)
	})

	fatal := []struct {
		name string
		typ  string
		data any
	}{
		{"ping before hello", protocol.TypePing, nil},
		{"handler request before hello", typeEcho, map[string]int{"n": 1}},
		{"unsupported version", protocol.TypeHello, protocol.Hello{Version: protocol.Version + 1}},
		{"unknown hello field", protocol.TypeHello, map[string]any{"version": protocol.Version, "x": 1}},
	}
	for _, tt := range fatal {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWire(t, srv.addr())
			// The ping behind the bad request must not be answered: the
			// connection is closing.
			c.write(append(encode(t, 7, tt.typ, tt.data), encode(t, 8, protocol.TypePing, nil)...))
			c.expectError(7, protocol.CodeBadRequest)
			c.expectClosed()
		})
	}
}
