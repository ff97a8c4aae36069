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
			if err := userGet(ctx, c); err != nil {
				return result{}, fmt.Errorf("warm-up user.get: %w", err)
			}
		}

		progressf(progress, "sending user.get on %d connections for %v", conns, l.duration)
		var rec recorder
		elapsed := l.drive(ctx, clients, &rec, func(int, int) op { return userGet })
		res := result{Scenario: "request", Conns: conns, Users: users, Pipeline: l.pipeline, Unit: "requests/s"}
		rec.fill(&res, elapsed)
		return res, nil
	}
}

// op is one request of a closed loop.
type op func(context.Context, *client.Client) error

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
// loop j of clients[i] calling newOp(i, j), and returns how long they ran.
func (l *load) drive(ctx context.Context, clients []*client.Client, rec *recorder, newOp func(i, j int) op) time.Duration {
	start := time.Now()
	deadline := start.Add(l.duration)
	var wg sync.WaitGroup
	for i, c := range clients {
		for j := range l.pipeline {
			o := newOp(i, j)
			wg.Go(func() { closedLoop(ctx, c, deadline, rec, o) })
		}
	}
	wg.Wait()
	return time.Since(start)
}

// closedLoop calls op on c until deadline, the next call once the last one
// is answered, and records each call's latency or error in rec.
func closedLoop(ctx context.Context, c *client.Client, deadline time.Time, rec *recorder, call op) {
	lat := make([]time.Duration, 0, 4096)
	defer func() { rec.merge(lat) }()
	for ctx.Err() == nil {
		start := time.Now()
		if start.After(deadline) {
			return
		}
		if err := call(ctx, c); err != nil {
			if ctx.Err() != nil {
				return // interrupted: not the server's failure
			}
			rec.add(0, err)
			if c.Err() != nil {
				return // the connection is gone; every further call would fail at once
			}
			continue
		}
		lat = append(lat, time.Since(start))
	}
}

// userGet asks for the caller's profile and leaves the reply undecoded: the
// bench shares the CPUs with the server and should spend as little as it can.
func userGet(ctx context.Context, c *client.Client) error {
	return c.Call(ctx, protocol.TypeUserGet, protocol.UserGet{}, nil)
}

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
