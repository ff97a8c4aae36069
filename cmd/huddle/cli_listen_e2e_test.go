package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil/wait"
)

// gate is a TCP proxy in front of huddled that the test can shut and open
// again on the same address: while it is shut, a client's reconnects are
// refused for as long as the test needs, however fast the server restarts.
type gate struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

func openGate(t *testing.T, target string) *gate {
	g := &gate{t: t, target: target, addr: "127.0.0.1:0"}
	g.open()
	t.Cleanup(func() {
		g.shut()
		g.wg.Wait()
	})
	return g
}

// open listens on the gate's address and forwards each connection.
func (g *gate) open() {
	g.t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.ln, g.addr = ln, ln.Addr().String()
	g.mu.Unlock()
	g.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", g.target)
			if err != nil {
				in.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, in, out)
			g.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			g.wg.Go(func() { pipe(in, out) })
			g.wg.Go(func() { pipe(out, in) })
		}
	})
}

// shut stops listening and cuts every connection through the gate.
func (g *gate) shut() {
	g.mu.Lock()
	ln, conns := g.ln, g.conns
	g.ln, g.conns = nil, nil
	g.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestCLIListenCatchesUp: bob's listen loses its connection, the server
// restarts, and alice and carol write to bob before listen is back; listen
// prints those messages as msg.new pushes when it reconnects, then goes on
// with the live pushes. Bob reaches the server through a gate, so that his
// listen stays away until the messages are sent.
func TestCLIListenCatchesUp(t *testing.T) {
	e := startE2E(t)
	alice, bob, carol := t.TempDir(), t.TempDir(), t.TempDir()
	for name, home := range map[string]string{"alice": alice, "bob": bob, "carol": carol} {
		e.ok(home, e2ePassword+"\n", "register", name, "--email", name+"@example.com")
	}
	e.ok(alice, e2ePassword+"\n", "login", "alice")
	e.ok(carol, e2ePassword+"\n", "login", "carol")
	g := openGate(t, e.addr)
	e.ok(bob, e2ePassword+"\n", "login", "bob", "--server", g.addr)

	l := e.listen(bob, "--server", g.addr, "--count", "4", "--timeout", "60s")
	e.ok(alice, "", "send", "bob", "before the restart")
	wait.For(t, 30*time.Second, "push of alice's first message", func() bool { return strings.Contains(l.stdout.String(), "before the restart") })

	g.shut()
	wait.For(t, 30*time.Second, "refused reconnect", func() bool {
		return strings.Contains(l.stderr.String(), "huddle: reconnect failed: connection refused; retrying in ")
	})
	e.stop()
	e.start()
	e.ok(alice, "", "send", "bob", "during the gap")
	e.ok(carol, "", "send", "bob", "hi bob")
	g.open()
	wait.For(t, 30*time.Second, "catch-up", func() bool {
		return strings.Contains(l.stderr.String(), "huddle: caught up 2 messages missed while disconnected\n")
	})
	e.ok(alice, "", "send", "bob", "after the restart")

	p := l.pushes(t)
	want := []struct {
		from, text string
		seq        float64
	}{{"alice", "before the restart", 1}, {"alice", "during the gap", 2}, {"carol", "hi bob", 1}, {"alice", "after the restart", 3}}
	if len(p) != len(want) {
		t.Fatalf("bob's pushes = %v", p)
	}
	for i, w := range want {
		d := pushData(t, p[i])
		if p[i]["type"] != "msg.new" || d["from"] != w.from || d["to"] != "bob" || d["text"] != w.text || d["seq"] != w.seq {
			t.Fatalf("bob's push %d = %v, want %+v", i, p[i], w)
		}
	}
	if errs := l.stderr.String(); !strings.Contains(errs, "huddle: connection lost: server closed the connection; reconnecting in 200ms\n") ||
		!strings.Contains(errs, "huddle: reconnected\n") {
		t.Fatalf("listen's stderr:\n%s", errs)
	}
}
