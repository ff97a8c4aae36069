package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"huddle/client"
	"huddle/configs"
	"huddle/internal/testutil"
	"huddle/protocol"
	"huddle/server"
)

const password = "correct horse battery"

// env is one running server of one backend.
type env struct {
	t   *testing.T
	cfg configs.Config
	srv *server.Server
}

// forEachBackend runs fn against SQLite and MySQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			fn(t, &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)})
		})
	}
}

func (e *env) addr() string { return e.srv.Addr().String() }

// dial opens a client connection (hello done).
func (e *env) dial(opts ...client.Option) *client.Client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, e.addr(), opts...)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *client.Client, typ string, req, resp any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, typ, req, resp); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
}

func callErr(t *testing.T, c *client.Client, typ string, req any, want protocol.Code) *protocol.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Call(ctx, typ, req, nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != want {
		t.Fatalf("%s: err = %v, want %s", typ, err, want)
	}
	return pe
}

func (e *env) register(c *client.Client, name string) {
	e.t.Helper()
	var out protocol.RegisterReply
	call(e.t, c, protocol.TypeAuthRegister, protocol.Register{Name: name, Email: name + "@example.com", Password: password}, &out)
	if out.User != name {
		e.t.Fatalf("register reply %+v", out)
	}
}

// user registers name (if new) and returns a logged-in connection and its session.
func (e *env) login(name string) (*client.Client, protocol.Session) {
	e.t.Helper()
	c := e.dial()
	var s protocol.Session
	call(e.t, c, protocol.TypeAuthLogin, protocol.Login{Name: name, Password: password}, &s)
	if s.User != name || len(s.Token) < 32 {
		e.t.Fatalf("login reply %+v", s)
	}
	return c, s
}

// crowd registers n users named prefix00, prefix01, … and the extra ones,
// adds them all to group (owner's), and returns the n numbered names.
func (e *env) crowd(owner *client.Client, group, prefix string, n int, extra ...string) []string {
	e.t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%02d", prefix, i)
		e.register(e.dial(), names[i])
	}
	for _, x := range extra {
		e.register(e.dial(), x)
	}
	call(e.t, owner, protocol.TypeGroupAdd, protocol.GroupUsers{Group: group, Users: append(slices.Clone(names), extra...)}, nil)
	return names
}

func (e *env) newUser(name string) (*client.Client, protocol.Session) {
	e.t.Helper()
	e.register(e.dial(), name)
	return e.login(name)
}

// expectPush waits for a push of type typ, skipping others, and decodes its data.
func expectPush(t *testing.T, c *client.Client, typ string, data any) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.Pushes():
			if p.Type != typ {
				continue
			}
			if data != nil {
				if err := protocol.DecodeData(p.Data, data); err != nil {
					t.Fatalf("push %s data: %v", typ, err)
				}
			}
			return
		case <-timeout:
			t.Fatalf("no %s push within 5s", typ)
		}
	}
}

// noPush checks that no push of type typ arrives within d.
func noPush(t *testing.T, c *client.Client, typ string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case p := <-c.Pushes():
			if p.Type == typ {
				t.Fatalf("unexpected %s push: %s", typ, p.Data)
			}
		case <-timeout:
			return
		}
	}
}

type clientT = client.Client
