package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"huddle/client"
)

const (
	clientName = "huddle-bench/1"
	// benchPassword is every bench user's password.
	benchPassword = "huddle-bench-password"
	// setupWorkers bounds the connections registering users at once: the
	// server hashes passwords on one worker per CPU, so more would only queue.
	setupWorkers = 16
	// dialWorkers bounds connections being opened at once, well below the
	// server's listen backlog.
	dialWorkers = 64
)

// account is a bench user and, when it was logged in, its session token.
type account struct{ name, token string }

// newAccounts registers n users named bench_<random>_<i>. With login it also
// logs each in once, on a connection it then closes: the session stays valid,
// so that many connections can resume it without paying for argon2id again.
func newAccounts(ctx context.Context, addr string, n int, login bool, progress io.Writer) ([]account, error) {
	start := time.Now()
	progressf(progress, "registering %d users (login: %v)", n, login)
	prefix := "bench_" + randomHex(3)
	accts := make([]account, n)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(setupWorkers)
	for i := range accts {
		a := &accts[i]
		a.name = fmt.Sprintf("%s_%d", prefix, i)
		g.Go(func() error {
			c, err := dial(ctx, addr)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Register(ctx, a.name, a.name+"@bench.example.com", benchPassword); err != nil {
				return fmt.Errorf("register %s: %w", a.name, err)
			}
			if !login {
				return nil
			}
			s, err := c.Login(ctx, a.name, benchPassword)
			if err != nil {
				return fmt.Errorf("log in %s: %w", a.name, err)
			}
			a.token = s.Token
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	progressf(progress, "registered %d users in %v", n, time.Since(start).Round(time.Millisecond))
	return accts, nil
}

// openConns opens connections first to n-1, dialWorkers at a time, with
// opts on top of dial's. When accts is not empty, connection i resumes the
// session of accts[i%len(accts)]. Each attempt goes to rec: its time to
// connect, say hello and resume, or its error. Failed connections are nil in
// the result, which holds connection first+k at k.
func openConns(ctx context.Context, addr string, first, n int, accts []account, rec *recorder, optsFor func(i int) []client.Option) []*client.Client {
	clients := make([]*client.Client, n-first)
	var g errgroup.Group
	g.SetLimit(dialWorkers)
	for i := range clients {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			start := time.Now()
			var opts []client.Option
			if optsFor != nil {
				opts = optsFor(i)
			}
			c, err := dial(ctx, addr, opts...)
			if err == nil && len(accts) > 0 {
				if _, err = c.Resume(ctx, accts[(first+i)%len(accts)].token); err != nil {
					c.Close()
				}
			}
			rec.add(time.Since(start), err)
			if err == nil {
				clients[i] = c
			}
			return nil
		})
	}
	_ = g.Wait() // the workers report to rec, never to the group
	return clients
}

// closeAll closes every open connection, several at a time: Close waits for
// the connection's goroutines, and 20,000 of those in a row take a while.
func closeAll(clients []*client.Client) {
	var g errgroup.Group
	g.SetLimit(dialWorkers)
	for _, c := range clients {
		if c != nil {
			g.Go(c.Close)
		}
	}
	_ = g.Wait() // Close never fails
}

// dial connects with opts on top of the bench's defaults.
func dial(ctx context.Context, addr string, opts ...client.Option) (*client.Client, error) {
	// Most connections never read pushes: a one-slot channel instead of the
	// default 256 slots keeps 20,000 connections cheap for the bench itself.
	// The ones that count them pass client.WithPushHandler (openReceivers).
	return client.Dial(ctx, addr, append([]client.Option{client.WithClientName(clientName), client.WithPushBuffer(1)}, opts...)...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
