package netio_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/netio"
	"huddle/protocol"
)

// Request types the test handler understands; netio itself knows only hello
// and ping.
const (
	typeEcho  = "test.echo"  // reply with the request's data
	typeLogin = "test.login" // attach a session, exempting the connection from the auth timeout
	typeFlood = "test.flood" // push frames from goroutines, as actors do, or from the loop
	typeBye   = "test.bye"   // push frames, then CloseWith one last push
)

// login asks the handler to attach User as the connection's session.
type login struct {
	User string `json:"user"`
}

// flood asks the handler to push N frames from each of Senders goroutines,
// each frame padded to about Pad bytes. Inline pushes N frames from the event
// loop instead, inside HandleRequest, so that they all go out in one flush.
type flood struct {
	Senders int  `json:"senders,omitempty"`
	N       int  `json:"n"`
	Pad     int  `json:"pad,omitempty"`
	Inline  bool `json:"inline,omitempty"`
	Batch   int  `json:"batch,omitempty"` // frames per Send (inline only); 0 or 1: one each
}

// floodItem is one pushed frame: its sender and its place in that sender's sequence.
type floodItem struct {
	From int    `json:"from"`
	Seq  int    `json:"seq"`
	Pad  string `json:"pad,omitempty"`
}

// testConfig is a small, fast configuration on 127.0.0.1:0. Timeouts are long
// so that only the tests about them see them fire.
func testConfig() netio.Config {
	return netio.Config{
		Addr:          "127.0.0.1:0",
		MaxFrame:      4096,
		AuthTimeout:   time.Minute,
		IdleTimeout:   time.Minute,
		Heartbeat:     10 * time.Second,
		MaxConns:      100,
		MaxConnsPerIP: 100,
		OutboundQueue: 64 << 10,
		EventLoops:    2,
		ServerVersion: "netio-test",
		Logger:        quietLogger(),
	}
}

// testServer is a running netio server with the test handler.
type testServer struct {
	*netio.Server
	h *handler
}

// startServer starts a server with cfg and stops it, and waits for the
// handler's goroutines, when the test ends.
func startServer(tb testing.TB, cfg netio.Config) *testServer {
	tb.Helper()
	h := &handler{}
	srv := netio.New(cfg, h)
	if err := srv.Start(); err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			tb.Errorf("stop: %v", err)
		}
		// Stopping closed every connection, so every sender's Send now fails.
		h.wg.Wait()
	})
	return &testServer{Server: srv, h: h}
}

func (s *testServer) addr() string { return s.Addr().String() }

// dial connects and completes hello.
func (s *testServer) dial(tb testing.TB) *wire {
	tb.Helper()
	c := dialWire(tb, s.addr())
	c.hello()
	return c
}

// handler is a real netio.Handler: it answers on the event loop for echo and
// login, and from goroutines it owns for flood and bye, like the actors do.
type handler struct {
	wg sync.WaitGroup // the senders it started

	mu     sync.Mutex
	closed []*netio.Conn // in ConnClosed order
}

func (h *handler) HandleRequest(c *netio.Conn, req protocol.Request) {
	switch req.Type {
	case typeEcho:
		reply(c, req.ID, json.RawMessage(req.Data))
	case typeLogin:
		var l login
		if err := json.Unmarshal(req.Data, &l); err != nil {
			c.Send(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeBadRequest, "%v", err)))
			return
		}
		c.SetSession(l.User)
		reply(c, req.ID, nil)
	case typeFlood:
		var f flood
		if err := json.Unmarshal(req.Data, &f); err != nil {
			c.Send(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeBadRequest, "%v", err)))
			return
		}
		reply(c, req.ID, nil)
		if f.Inline {
			push(c, 0, f.N, f.Pad, f.Batch)
		}
		for from := range f.Senders {
			h.wg.Go(func() { push(c, from, f.N, f.Pad, 1) })
		}
	case typeBye:
		var f flood
		_ = json.Unmarshal(req.Data, &f)
		h.wg.Go(func() {
			push(c, 0, f.N, f.Pad, 1)
			last, _ := protocol.EncodePush(typeBye, floodItem{Seq: f.N})
			c.CloseWith(last)
		})
	default:
		c.Send(protocol.EncodeError(req.ID, protocol.Errorf(protocol.CodeBadRequest, "unknown type %q", req.Type)))
	}
}

func (h *handler) ConnClosed(c *netio.Conn) {
	h.mu.Lock()
	h.closed = append(h.closed, c)
	h.mu.Unlock()
}

// closedConns returns the connections ConnClosed has seen so far.
func (h *handler) closedConns() []*netio.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*netio.Conn(nil), h.closed...)
}

func reply(c *netio.Conn, id uint64, data any) {
	frame, err := protocol.EncodeResponse(id, data)
	if err != nil {
		panic(err) // the test handler only encodes JSON it received
	}
	c.Send(frame)
}

// push sends n flood items from sender from, batch frames per Send (0 or
// 1: one each), stopping at the first refused Send.
func push(c *netio.Conn, from, n, pad, batch int) {
	padding := strings.Repeat("x", pad)
	batch = max(batch, 1)
	frames := make([][]byte, 0, batch)
	for seq := range n {
		frame, _ := protocol.EncodePush(typeFlood, floodItem{From: from, Seq: seq, Pad: padding})
		if frames = append(frames, frame); len(frames) == batch || seq == n-1 {
			if !c.Send(frames...) {
				return
			}
			frames = frames[:0]
		}
	}
}

// encode returns one request frame.
func encode(tb testing.TB, id uint64, typ string, data any) []byte {
	tb.Helper()
	frame, err := protocol.EncodeRequest(id, typ, data)
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// quietLogger discards the server's logs unless HUDDLE_TEST_LOG is set.
func quietLogger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("HUDDLE_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
