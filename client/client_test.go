package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

func dial(t *testing.T, s *clifake.Server, opts ...Option) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.Addr(), opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not closed within 5s", what)
	}
}

func TestDialHello(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.Hello.MaxFrame = 4096; s.Hello.Server = "fake/9" })
	c := dial(t, s, WithClientName("test/1"))
	h := <-s.HelloSeen
	if h.Version != protocol.Version || h.Client != "test/1" {
		t.Fatalf("server saw hello %+v", h)
	}
	if got := c.Hello(); got.Server != "fake/9" || got.MaxFrame != 4096 {
		t.Fatalf("Hello() = %+v", got)
	}
	if c.Err() != nil {
		t.Fatalf("Err() = %v on a live connection", c.Err())
	}
}

func TestDialHelloRejected(t *testing.T) {
	addr := clifake.StartRaw(t, func(nc net.Conn) {
		payload, err := protocol.ReadFrame(nc, protocol.DefaultMaxFrame)
		if err != nil {
			return
		}
		_, _ = nc.Write(protocol.EncodeError(protocol.LooseID(payload), protocol.Errorf(protocol.CodeBadRequest, "unsupported protocol version")))
	})
	_, err := Dial(testCtx(t), addr)
	if protocol.CodeOf(err) != protocol.CodeBadRequest {
		t.Fatalf("Dial err = %v, want bad_request", err)
	}
}

// A client pointed at an HTTP server (huddled's --http address, say) is
// told so, not only that a frame of 1.2 GB is too large.
func TestDialNotHuddle(t *testing.T) {
	addr := clifake.StartRaw(t, func(nc net.Conn) {
		_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	})
	_, err := Dial(testCtx(t), addr)
	if !errors.Is(err, protocol.ErrFrameTooLarge) || !strings.Contains(err.Error(), "does not speak Huddle's protocol") {
		t.Fatalf("Dial err = %v, want a frame too large that says the server does not speak Huddle's protocol", err)
	}
}

func TestDialTimeout(t *testing.T) {
	addr := clifake.StartSilent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, addr)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Dial did not honour the context")
	}
}

func TestPipelining(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			var out clifake.Echo
			// Random delays make the server answer out of order.
			err := c.Call(testCtx(t), "echo", clifake.Echo{N: i, DelayMS: rand.IntN(20)}, &out)
			if err == nil && out.N != i {
				err = errors.New("response routed to the wrong call")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := s.MaxFlight.Load(); m < 2 {
		t.Fatalf("at most %d requests were in flight: calls were not pipelined", m)
	}
}

// CallAsync answers every request through its callback: successes, error
// responses, and the loss of the connection; a request it cannot send is
// refused at once, without the callback.
func TestCallAsync(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.Hello.MaxFrame = 256 })
	c := dial(t, s)
	fc := s.NextConn()
	results := make(chan error, 3)
	done := func(err error) { results <- err }
	for _, typ := range []string{"echo", "group.delete", "hang"} {
		if err := c.CallAsync(typ, clifake.Echo{N: 1}, done); err != nil {
			t.Fatalf("CallAsync(%s): %v", typ, err)
		}
	}
	for range 2 {
		select {
		case err := <-results:
			if err != nil && protocol.CodeOf(err) != protocol.CodeForbidden {
				t.Fatalf("callback err = %v, want nil (echo) or forbidden (group.delete)", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no callback within 5s")
		}
	}
	if err := c.CallAsync("echo", clifake.Echo{Pad: strings.Repeat("x", 300)}, done); protocol.CodeOf(err) != protocol.CodeTooLarge {
		t.Fatalf("oversized CallAsync = %v, want too_large", err)
	}
	s.WaitInFlight(1) // the hang
	fc.Close()
	select {
	case err := <-results:
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("hang's callback err = %v, want ErrConnectionLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lost connection did not answer the waiting callback")
	}
	waitClosed(t, c.Done(), "Done")
	if err := c.CallAsync("echo", nil, done); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("CallAsync after loss = %v, want ErrConnectionLost", err)
	}
	if len(results) != 0 {
		t.Fatalf("%d more callbacks than requests answered", len(results))
	}
}

func TestErrorResponse(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	err := c.Call(testCtx(t), "group.delete", struct{}{}, nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeForbidden || !strings.Contains(pe.Message, "group.delete") {
		t.Fatalf("err = %#v, want forbidden *protocol.Error", err)
	}
	if protocol.CodeOf(err) != protocol.CodeForbidden {
		t.Fatalf("CodeOf = %s", protocol.CodeOf(err))
	}
	// The connection is still fine afterwards.
	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("ping after error: %v", err)
	}
}

// pushThenReply makes "push" send data.n pushes before its reply, in order,
// from the connection's own goroutine.
func pushThenReply(fc *clifake.Conn, req protocol.Request) bool {
	if req.Type != "push" {
		return false
	}
	var d clifake.Echo
	_ = protocol.DecodeData(req.Data, &d)
	for i := range d.N {
		fc.Push(protocol.PushPresence, protocol.Presence{User: "u" + string(rune('a'+i%26)), Online: i%2 == 0})
	}
	fc.Reply(req.ID, protocol.Empty{})
	return true
}

func TestPushes(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.OnRequest = pushThenReply })
	c := dial(t, s)
	if err := c.Call(testCtx(t), "push", clifake.Echo{N: 3}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		select {
		case p := <-c.Pushes():
			var pr protocol.Presence
			if err := protocol.DecodeData(p.Data, &pr); err != nil || p.Type != protocol.PushPresence || pr.Online != (i%2 == 0) {
				t.Fatalf("push %d = %s %s (%v)", i, p.Type, p.Data, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("push %d missing", i)
		}
	}
	if c.DroppedPushes() != 0 {
		t.Fatalf("dropped %d", c.DroppedPushes())
	}
}

// A push handler sees every push, in order, before the response that
// followed them; the channel stays empty.
func TestPushHandler(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.OnRequest = pushThenReply })
	var got []bool // only the reader goroutine appends, before the reply is read
	c := dial(t, s, WithPushHandler(func(p protocol.Push) {
		var pr protocol.Presence
		if protocol.DecodeData(p.Data, &pr) == nil && p.Type == protocol.PushPresence {
			got = append(got, pr.Online)
		}
	}))
	if err := c.Call(testCtx(t), "push", clifake.Echo{N: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; !slices.Equal(got, want) {
		t.Fatalf("handler saw %v, want %v", got, want)
	}
	select {
	case p := <-c.Pushes():
		t.Fatalf("push %s on the channel too", p.Type)
	default:
	}
}

func TestPushesDroppedWhenFull(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.OnRequest = pushThenReply })
	c := dial(t, s, WithPushBuffer(2))
	// Nobody reads Pushes: the reader must keep answering calls anyway.
	for range 3 {
		if err := c.Call(testCtx(t), "push", clifake.Echo{N: 10}, nil); err != nil {
			t.Fatalf("call with a full push channel: %v", err)
		}
	}
	if got := len(c.Pushes()); got != 2 {
		t.Fatalf("%d pushes buffered, want 2", got)
	}
	if got := c.DroppedPushes(); got != 28 {
		t.Fatalf("DroppedPushes = %d, want 28", got)
	}
}

func TestConnectionLoss(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	fc := s.NextConn()
	const waiters = 5
	errs := make(chan error, waiters)
	for range waiters {
		go func() { errs <- c.Call(testCtx(t), "hang", nil, nil) }()
	}
	s.WaitInFlight(waiters)
	fc.Close()
	for range waiters {
		if err := <-errs; !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("waiter err = %v, want ErrConnectionLost", err)
		}
	}
	waitClosed(t, c.Done(), "Done")
	if err := c.Call(testCtx(t), "echo", nil, nil); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("call after loss: %v", err)
	}
	if !errors.Is(c.Err(), ErrConnectionLost) || !strings.Contains(c.Err().Error(), "server closed the connection") {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestServerNoticeExplainsLoss(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	fc := s.NextConn()
	fc.Send(protocol.EncodeError(0, protocol.Errorf(protocol.CodeTooLarge, "frame too large")))
	fc.Close()
	waitClosed(t, c.Done(), "Done")
	err := c.Call(testCtx(t), "echo", nil, nil)
	if !errors.Is(err, ErrConnectionLost) || protocol.CodeOf(err) != protocol.CodeTooLarge {
		t.Fatalf("err = %v, want connection lost with too_large", err)
	}
}

func TestContextCancel(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "hang", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("connection unusable after a cancelled call: %v", err)
	}
}

func TestMaxFrame(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.Hello.MaxFrame = 256 })
	c := dial(t, s)
	err := c.Call(testCtx(t), "echo", clifake.Echo{Pad: strings.Repeat("x", 300)}, nil)
	if protocol.CodeOf(err) != protocol.CodeTooLarge {
		t.Fatalf("oversized request: err = %v, want too_large", err)
	}
	if err := c.Call(testCtx(t), "echo", clifake.Echo{N: 1}, nil); err != nil {
		t.Fatalf("small request after refused big one: %v", err)
	}
	// A reply above the announced max_frame breaks the connection.
	fc := s.NextConn()
	fc.Push("big", clifake.Echo{Pad: strings.Repeat("y", 300)})
	waitClosed(t, c.Done(), "Done after oversized frame")
	if !errors.Is(c.Err(), protocol.ErrFrameTooLarge) {
		t.Fatalf("Err() = %v, want frame too large", c.Err())
	}
}

func TestHeartbeat(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.Hello.HeartbeatMS = 10 })
	c := dial(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for s.Pings.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings sent, want 3", s.Pings.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c.Err() != nil {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestHeartbeatDetectsDeadServer(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) {
		// The server stops answering pings, as a half-open connection would.
		s.OnRequest = func(_ *clifake.Conn, req protocol.Request) bool { return req.Type == protocol.TypePing }
	})
	c := dial(t, s, WithHeartbeat(20*time.Millisecond))
	waitClosed(t, c.Done(), "Done")
	if !strings.Contains(c.Err().Error(), "ping") {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestHeartbeatOff(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.Hello.HeartbeatMS = 5 })
	dial(t, s, WithHeartbeat(-1))
	time.Sleep(50 * time.Millisecond)
	if n := s.Pings.Load(); n != 0 {
		t.Fatalf("%d pings with heartbeats off", n)
	}
}

func TestLoginKeepsSession(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	sess, err := c.Login(testCtx(t), "alice", "correct horse")
	if err != nil || sess.Token != "tok-alice" {
		t.Fatalf("Login = %+v, %v", sess, err)
	}
	if got := c.Session(); got.Token != "tok-alice" || got.User != "alice" {
		t.Fatalf("Session() = %+v", got)
	}
	if err := c.Logout(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.Session(); got.Token != "" || got.User != "" {
		t.Fatalf("after Logout Session() = %+v", got)
	}
}

func TestReconnectResumes(t *testing.T) {
	s := clifake.Start(t, func(s *clifake.Server) { s.OnRequest = pushThenReply })
	c := dial(t, s)
	pushes := c.Pushes()
	if _, err := c.Login(testCtx(t), "alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	s.NextConn().Close()
	waitClosed(t, c.Done(), "Done")
	if err := c.Reconnect(testCtx(t)); err != nil {
		t.Fatalf("Reconnect: %v", err)
	}
	if tok := <-s.Resumes; tok != "tok-alice" {
		t.Fatalf("resumed with %q", tok)
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed after Reconnect")
	default:
	}
	if err := c.Call(testCtx(t), "push", clifake.Echo{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Pushes() != pushes || len(pushes) != 1 {
		t.Fatal("push channel changed across Reconnect")
	}
}

func TestReconnectResumeRefused(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	if _, err := c.Login(testCtx(t), "revoked", "correct horse"); err != nil {
		t.Fatal(err)
	}
	err := c.Reconnect(testCtx(t))
	if protocol.CodeOf(err) != protocol.CodeUnauthorized {
		t.Fatalf("Reconnect err = %v, want unauthorized", err)
	}
	// The new connection is up, just not authenticated.
	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestReconnectWithoutTokenDoesNotResume(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	if err := c.Reconnect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case tok := <-s.Resumes:
		t.Fatalf("resumed with %q without a session", tok)
	default:
	}
}

func TestClose(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	errs := make(chan error, 1)
	go func() { errs <- c.Call(context.Background(), "hang", nil, nil) }()
	s.WaitInFlight(1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting call: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Call(testCtx(t), "echo", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c.Reconnect(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reconnect after Close: %v", err)
	}
	waitClosed(t, c.Done(), "Done")
}

func TestCloseDuringReconnect(t *testing.T) {
	s := clifake.Start(t)
	c := dial(t, s)
	silent := clifake.StartSilent(t)
	c.addr = silent // the redial hangs in hello until Close cancels it
	errs := make(chan error, 1)
	go func() { errs <- c.Reconnect(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-errs; err == nil {
		t.Fatal("Reconnect succeeded after Close")
	}
}
