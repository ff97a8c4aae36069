package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"huddle/client"
)

// idleFlags: open --conns authenticated connections in --steps equal steps,
// read the server's RSS after each, hold them all for --hold and read it
// again. The connections resume the sessions of --users users (logging
// 20,000 connections in with argon2id would take minutes); the client
// library pings every heartbeat interval, as any idle client does.
//
// RSS per connection is a slope between steps, not the difference to a
// baseline taken before them: the argon2id hashing of the set-up leaves
// garbage in the server's heap until its next GC, which would hide the first
// connections' memory (see rssSlope). ops counts connections opened, the
// rate is how fast they opened (connect, hello, auth.resume), and errors
// count the ones that failed to open or were lost while held.
func idleFlags(fs *flag.FlagSet) runFunc {
	conns, users := 1000, 100
	connFlags(fs, &conns, "authenticated connections to hold open", &users, "users whose sessions the connections resume, round robin (0: 100)")
	steps := fs.Int("steps", 4, "open the connections in this many steps, reading RSS after each (at least 2)")
	pause := fs.Duration("pause", 2*time.Second, "wait after each step before reading RSS")
	hold := fs.Duration("hold", 10*time.Second, "how long to hold all connections before the last reading")
	serverPID := serverPIDFlag(fs)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if err := checkConns(conns, users); err != nil {
			return result{}, err
		}
		if *steps < 2 || *steps > conns || *pause < 0 || *hold < 0 {
			return result{}, usagef("--steps must be 2 to --conns; --pause and --hold not negative")
		}
		if users == 0 {
			users = 100
		}
		users = min(users, conns)
		srv, err := findServer(g.server, *serverPID, progress)
		if err != nil {
			return result{}, err
		}
		res := result{Scenario: "idle", Conns: conns, Users: users, Unit: "conns/s", ServerPID: srv.pid}
		res.RSSStartBytes = srv.rss()
		accts, err := newAccounts(ctx, g.server, users, true, progress)
		if err != nil {
			return result{}, err
		}

		var rec recorder
		var opening time.Duration
		var clients []*client.Client
		defer func() { closeAll(clients) }()
		for k := 1; k <= *steps; k++ {
			n := conns * k / *steps
			start := time.Now()
			clients = append(clients, openConns(ctx, g.server, len(clients), n, accts, &rec, nil)...)
			opening += time.Since(start)
			wait := *pause
			if k == *steps {
				wait = *hold
			}
			open := countOpen(clients)
			progressf(progress, "%d connections open, %d failed; waiting %v", open, len(clients)-open, wait)
			if err := sleep(ctx, wait); err != nil {
				return result{}, err
			}
			res.RSSSteps = append(res.RSSSteps, [2]int64{int64(open), srv.rss()})
		}

		lost := 0
		for _, c := range clients {
			if c != nil && c.Err() != nil {
				lost++
				rec.add(0, fmt.Errorf("lost while held: %w", c.Err()))
			}
		}
		rec.fill(&res, opening)
		res.RSSAfterBytes = res.RSSSteps[len(res.RSSSteps)-1][1]
		if lost == 0 {
			res.RSSBytesPerConn = rssSlope(res.RSSSteps)
		}
		return res, nil
	}
}

// rssSlope returns the bytes per connection between the lowest reading of
// steps (as [connections, RSS]) and the last one. A reading above a later one
// held garbage that a GC collected in between, so it is no baseline; without
// garbage the lowest reading is the first. It returns 0 when it cannot tell.
func rssSlope(steps [][2]int64) float64 {
	low, last := steps[0], steps[len(steps)-1]
	for _, s := range steps[:len(steps)-1] {
		if s[1] < low[1] {
			low = s
		}
	}
	if low[1] <= 0 || last[0] <= low[0] || last[1] < low[1] {
		return 0
	}
	return float64(last[1]-low[1]) / float64(last[0]-low[0])
}

func countOpen(clients []*client.Client) int {
	n := 0
	for _, c := range clients {
		if c != nil {
			n++
		}
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
