package main

import (
	"context"
	"flag"
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
	return repeatedFlags(fs, repeated{
		scenario: "connect", unit: "connects/s", doing: "connecting and resuming",
		connsDoc: "workers, each connecting again and again",
		usersDoc: "users whose sessions are resumed, round robin (0: one per worker)",
		login:    true,
		once: func(ctx context.Context, addr string, a account) (time.Duration, error) {
			return connectOnce(ctx, addr, a.token)
		},
	})
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
