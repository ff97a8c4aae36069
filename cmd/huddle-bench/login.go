package main

import (
	"context"
	"flag"
	"io"
	"sync"
	"time"
)

// loginFlags: --conns workers each connect, log in as a user registered
// beforehand, log out and close, over and over. The server's argon2id cost
// dominates, so logins/s is about its hash workers and their CPUs; the
// latency counted is the login's alone.
//
// Each login gets a new connection because the server closes a connection
// that is unauthenticated auth_timeout after it was opened, and a logout makes
// it unauthenticated again: a long-lived login/logout loop would be cut off.
func loginFlags(fs *flag.FlagSet) runFunc {
	return repeatedFlags(fs, repeated{
		scenario: "login", unit: "logins/s", doing: "logging in",
		connsDoc: "workers, each logging in on a new connection again and again",
		usersDoc: "users to log in as, round robin (0: one per worker)",
		once: func(ctx context.Context, addr string, a account) (time.Duration, error) {
			return loginOnce(ctx, addr, a.name)
		},
	})
}

// repeated is a scenario of workers that each do once, as one of the
// bench's users, over and over: login and connect.
type repeated struct {
	scenario, unit, doing string
	connsDoc, usersDoc    string
	login                 bool // the users are logged in once beforehand (their tokens)
	once                  func(ctx context.Context, addr string, a account) (time.Duration, error)
}

// repeatedFlags: --conns workers (4), --users accounts registered
// beforehand (0: one per worker), worker i acting as user i mod --users,
// for --duration.
func repeatedFlags(fs *flag.FlagSet, r repeated) runFunc {
	conns, users := 4, 0
	connFlags(fs, &conns, r.connsDoc, &users, r.usersDoc)
	duration := fs.Duration("duration", 10*time.Second, "how long to go on "+r.doing)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if err := checkConns(conns, users); err != nil {
			return result{}, err
		}
		if *duration <= 0 {
			return result{}, usagef("--duration must be positive")
		}
		if users == 0 || users > conns {
			users = conns
		}
		accts, err := newAccounts(ctx, g.server, users, r.login, progress)
		if err != nil {
			return result{}, err
		}
		progressf(progress, "%s on %d workers for %v", r.doing, conns, *duration)
		res := result{Scenario: r.scenario, Conns: conns, Users: users, Unit: r.unit}
		repeat(ctx, conns, *duration, &res, func(i int) (time.Duration, error) {
			return r.once(ctx, g.server, accts[i%users])
		})
		return res, nil
	}
}

// repeat runs once on each of n workers over and over for d, worker i
// calling once(i), and fills res from what they measured.
func repeat(ctx context.Context, n int, d time.Duration, res *result, once func(i int) (time.Duration, error)) {
	var rec recorder
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				took, err := once(i)
				if ctx.Err() != nil {
					return // interrupted: not the server's failure
				}
				rec.add(took, err)
			}
		})
	}
	wg.Wait()
	rec.fill(res, time.Since(start))
}

// loginOnce connects, logs in as name, logs out and closes, and returns how
// long the login itself took. The logout keeps the server's session table
// from growing with every op.
func loginOnce(ctx context.Context, addr, name string) (time.Duration, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Login(ctx, name, benchPassword); err != nil {
		return 0, err
	}
	d := time.Since(start)
	return d, c.Logout(ctx)
}
