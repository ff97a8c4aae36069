package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"huddle/client"
	"huddle/protocol"
)

func listenCommands() []command {
	return []command{
		{"listen", "[--count N] [--timeout DUR]", "print pushes as JSON lines; reconnects when the connection drops", cmdListen},
	}
}

// Reconnect backoff of listen: doubling from the first to the last step.
const (
	backoffFirst = 200 * time.Millisecond
	backoffMax   = 5 * time.Second
)

// listenPushBuffer is the push channel of listen: room for a burst while
// stdout is slow.
const listenPushBuffer = 4096

func cmdListen(ctx context.Context, a *app, cl *cmdLine) error {
	count := cl.fs.Int("count", 0, "stop after N pushes (0: no limit)")
	timeout := cl.fs.Duration("timeout", 0, "stop after DUR (0: no limit)")
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	if *count < 0 || *timeout < 0 {
		return cl.usageErrorf("--count and --timeout must not be negative")
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	dctx, cancel := context.WithTimeout(ctx, requestTimeout)
	c, err := a.resume(dctx, client.WithPushBuffer(listenPushBuffer))
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	if !a.json {
		fmt.Fprintf(a.stderr, "listening as %s\n", c.Session().User)
	}
	err = a.listen(ctx, c, *count)
	if n := c.DroppedPushes(); n > 0 && !a.json {
		fmt.Fprintf(a.stderr, "huddle: %d pushes dropped: output too slow\n", n)
	}
	if ctx.Err() != nil { // --timeout or an interrupt: a normal end
		return nil
	}
	return err
}

// listen prints pushes until it has printed count (0: no limit) or ctx ends,
// reconnecting whenever the connection drops.
func (a *app) listen(ctx context.Context, c *client.Client, count int) error {
	for n := 0; count == 0 || n < count; {
		select {
		case p := <-c.Pushes():
			if err := printPush(a, p); err != nil {
				return err
			}
			n++
		case <-c.Done():
			// Pushes that arrived before the loss come first.
			if len(c.Pushes()) > 0 {
				continue
			}
			if err := a.reconnect(ctx, c); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// reconnect retries with exponential backoff until the session is resumed,
// the server refuses the session, or ctx ends.
func (a *app) reconnect(ctx context.Context, c *client.Client) error {
	wait := backoffFirst
	for {
		if !a.json {
			fmt.Fprintf(a.stderr, "huddle: %v; reconnecting in %v\n", c.Err(), wait)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := c.Reconnect(rctx)
		cancel()
		switch {
		case err == nil:
			if !a.json {
				fmt.Fprintln(a.stderr, "huddle: reconnected")
			}
			return nil
		case protocol.CodeOf(err) == protocol.CodeUnauthorized:
			return errSessionEnded
		case errors.Is(err, client.ErrClosed), ctx.Err() != nil:
			return err
		}
		wait = min(2*wait, backoffMax)
	}
}

// printPush writes {"type":...,"data":...}, with or without --json.
func printPush(a *app, p protocol.Push) error {
	return writeJSON(a.stdout, struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}{p.Type, p.Data})
}
