package main

import (
	"context"
	"flag"
	"io"
	"time"
)

// connectFlags: --conns workers each connect (TCP and hello), resume a
// session logged in once beforehand and close, over and over: a reconnect
// storm, such as every client coming back after a restart. auth.resume
// checks a token (a hash lookup, no argon2id), so this measures accepting,
// the hello, the session and user actor, and tearing it all down again.
// Ops are connections opened and authenticated; the latency is connect +
// hello + resume, without the close.
func connectFlags(fs *flag.FlagSet) runFunc {
	conns, users := 4, 0
	connFlags(fs, &conns, "workers, each connecting again and again", &users, "users whose sessions are resumed, round robin (0: one per connection)")
	duration := fs.Duration("duration", 10*time.Second, "how long to connect")
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
		accts, err := newAccounts(ctx, g.server, users, true, progress)
		if err != nil {
			return result{}, err
		}
		progressf(progress, "connecting and resuming on %d workers for %v", conns, *duration)
		res := result{Scenario: "connect", Conns: conns, Users: users, Unit: "connects/s"}
		repeat(ctx, conns, *duration, &res, func(i int) (time.Duration, error) {
			return connectOnce(ctx, g.server, accts[i%users].token)
		})
		return res, nil
	}
}

// connectOnce connects, resumes the session of token and closes, and
// returns how long it took until the session was resumed.
func connectOnce(ctx context.Context, addr, token string) (time.Duration, error) {
	start := time.Now()
	c, err := dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Resume(ctx, token); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
