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
	connFlags(fs, &conns, &users, "users the connections log in as, round robin (0: one per connection)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send requests")
	pipeline := fs.Int("pipeline", 1, "requests in flight per connection (1: closed loop)")
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if err := checkConns(conns, users); err != nil {
			return result{}, err
		}
		if *duration <= 0 || *pipeline < 1 {
			return result{}, usagef("--duration must be positive and --pipeline at least 1")
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

		progressf(progress, "sending user.get on %d connections for %v", conns, *duration)
		var rec recorder
		start := time.Now()
		deadline := start.Add(*duration)
		var wg sync.WaitGroup
		for _, c := range clients {
			for range *pipeline {
				wg.Go(func() { requestLoop(ctx, c, deadline, &rec) })
			}
		}
		wg.Wait()
		res := result{Scenario: "request", Conns: conns, Users: users, Pipeline: *pipeline, Unit: "requests/s"}
		rec.fill(&res, time.Since(start))
		return res, nil
	}
}

func requestLoop(ctx context.Context, c *client.Client, deadline time.Time, rec *recorder) {
	lat := make([]time.Duration, 0, 4096)
	defer func() { rec.merge(lat) }()
	for ctx.Err() == nil {
		start := time.Now()
		if start.After(deadline) {
			return
		}
		if err := userGet(ctx, c); err != nil {
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

// openAll opens n connections resuming accts' sessions and fails if any of
// them fails; the clients it did open are returned for closeAll either way.
func openAll(ctx context.Context, addr string, n int, accts []account) ([]*client.Client, error) {
	var rec recorder
	clients := openConns(ctx, addr, 0, n, accts, &rec)
	if rec.errors > 0 {
		return clients, fmt.Errorf("%d of %d connections failed to open, first: %w", rec.errors, n, rec.firstErr)
	}
	return clients, ctx.Err()
}
