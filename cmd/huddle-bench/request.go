package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"huddle/client"
	"huddle/protocol"
)

// requestFlags: logged-in connections send user.get as fast as the replies
// come back, --pipeline requests in flight per connection. user.get is
// answered from the user actor's cached profile, so this measures the path
// gnet → actor → reply and the client, not the store.
func requestFlags(fs *flag.FlagSet) runFunc {
	conns, users := 1, 0
	connFlags(fs, &conns, "logged-in connections", &users, "users the connections log in as, round robin (0: one per connection)")
	l := loadFlags(fs, "send requests")
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if err := checkConns(conns, users); err != nil {
			return result{}, err
		}
		if err := l.check(); err != nil {
			return result{}, err
		}
		if users == 0 || users > conns {
			users = conns
		}
		accts, err := newAccounts(ctx, g.server, users, true, progress)
		if err != nil {
			return result{}, err
		}
		clients, err := openAll(ctx, g.server, conns, accts)
		defer closeAll(clients)
		if err != nil {
			return result{}, err
		}
		// The first user.get of a user loads its profile from the store;
		// measure the cached path only.
		for _, c := range clients {
			if err := c.Call(ctx, protocol.TypeUserGet, protocol.UserGet{}, nil); err != nil {
				return result{}, fmt.Errorf("warm-up user.get: %w", err)
			}
		}

		progressf(progress, "sending user.get on %d connections for %v", conns, l.duration)
		var rec recorder
		elapsed := l.drive(ctx, clients, &rec, func(int, int) op { return userGet }, nil)
		res := result{Scenario: "request", Conns: conns, Users: users, Pipeline: l.pipeline, Unit: "requests/s"}
		rec.fill(&res, elapsed)
		return res, nil
	}
}

// op makes a closed loop's next request: its type and data, and what to
// run once it is answered without error (nil: nothing). Replies are left
// undecoded: the bench shares the CPUs with the server and should spend as
// little as it can.
type op func() (typ string, data any, answered func())

// load is how long and how hard the closed-loop scenarios drive their
// connections.
type load struct {
	duration time.Duration
	pipeline int
}

func loadFlags(fs *flag.FlagSet, what string) *load {
	l := &load{duration: 10 * time.Second, pipeline: 1}
	fs.DurationVar(&l.duration, "duration", l.duration, "how long to "+what)
	fs.IntVar(&l.pipeline, "pipeline", l.pipeline, "requests in flight per connection, each sent when the last one's reply came")
	return l
}

func (l *load) check() error {
	if l.duration <= 0 || l.pipeline < 1 {
		return usagef("--duration must be positive and --pipeline at least 1")
	}
	return nil
}

// drive runs l.pipeline closed loops on each of clients for l.duration, the
// loop j of clients[i] sending what newOp(i, j) makes, and returns how long
// they ran. Each loop's latencies or errors go to rec. gate, when not nil,
// is asked before each send and holds it back while it says false.
//
// A loop is not a goroutine: its next request is sent from the callback of
// the last one's reply (client.CallAsync), on the connection's reader. With
// a goroutine per loop, 3,200 of them at 100 × 32, waking each for its
// reply cost the bench more CPU than the server spent on the message.
func (l *load) drive(ctx context.Context, clients []*client.Client, rec *recorder, newOp func(i, j int) op, gate func() bool) time.Duration {
	start := time.Now()
	d := &driver{ctx: ctx, deadline: start.Add(l.duration), gate: gate}
	loops := make([]*loop, 0, len(clients)*l.pipeline)
	for i, c := range clients {
		for j := range l.pipeline {
			loops = append(loops, &loop{d: d, c: c, next: newOp(i, j), lat: make([]time.Duration, 0, 1024)})
		}
	}
	d.running.Add(len(loops))
	for _, lp := range loops {
		lp.send()
	}
	d.running.Wait()
	elapsed := time.Since(start)
	for _, lp := range loops {
		rec.merge(lp.lat)
		rec.failed(lp.errors, lp.firstErr)
	}
	return elapsed
}

// driver is what a run's loops share.
type driver struct {
	ctx      context.Context
	deadline time.Time
	gate     func() bool
	running  sync.WaitGroup // the loops not finished
}

// loop is one closed loop. Its fields change only in send and done, and
// each call of those happens after the one before (a reply comes after its
// request), so they need no lock; drive reads them after the last.
type loop struct {
	d        *driver
	c        *client.Client
	next     op
	sent     time.Time
	answered func()
	lat      []time.Duration
	errors   int64
	firstErr error
}

// send sends the loop's next request, or ends the loop when the run is
// over or the request cannot be sent.
func (lp *loop) send() {
	d := lp.d
	if d.gate != nil && !d.gate() {
		// Wait off the reader: it has the other loops' replies to read.
		go func() {
			for !d.gate() && d.ctx.Err() == nil {
				time.Sleep(100 * time.Microsecond)
			}
			lp.send()
		}()
		return
	}
	lp.sent = time.Now()
	if lp.sent.After(d.deadline) || d.ctx.Err() != nil {
		d.running.Done()
		return
	}
	typ, data, answered := lp.next()
	lp.answered = answered
	if err := lp.c.CallAsync(typ, data, lp.done); err != nil {
		lp.fail(err)
		d.running.Done() // a lost connection, or a request that can never be sent
	}
}

// done takes a reply and sends the next request.
func (lp *loop) done(err error) {
	switch {
	case err == nil:
		lp.lat = append(lp.lat, time.Since(lp.sent))
		if lp.answered != nil {
			lp.answered()
		}
	case lp.d.ctx.Err() != nil:
		lp.d.running.Done() // interrupted: not the server's failure
		return
	default:
		lp.fail(err)
		if lp.c.Err() != nil {
			lp.d.running.Done() // the connection is gone; every further call would fail at once
			return
		}
	}
	lp.send()
}

func (lp *loop) fail(err error) {
	if lp.errors++; lp.firstErr == nil {
		lp.firstErr = err
	}
}

// userGet asks for the caller's profile (see op).
func userGet() (string, any, func()) { return protocol.TypeUserGet, protocol.UserGet{}, nil }

// openAll opens n connections with opts, resuming accts' sessions, and
// fails if any of them fails; the clients it did open are returned for
// closeAll either way.
func openAll(ctx context.Context, addr string, n int, accts []account, opts ...client.Option) ([]*client.Client, error) {
	return openEach(ctx, addr, n, accts, func(int) []client.Option { return opts })
}

// openEach is openAll with connection i's options from optsFor(i).
func openEach(ctx context.Context, addr string, n int, accts []account, optsFor func(i int) []client.Option) ([]*client.Client, error) {
	var rec recorder
	clients := openConns(ctx, addr, 0, n, accts, &rec, optsFor)
	if rec.errors > 0 {
		return clients, fmt.Errorf("%d of %d connections failed to open, first: %w", rec.errors, n, rec.firstErr)
	}
	return clients, ctx.Err()
}
