package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progressEvery is how often the progress bar is redrawn at most.
const progressEvery = 100 * time.Millisecond

// progress follows a file transfer: it says when the transfer resumes
// earlier bytes, and draws a bar on stderr when stderr is a terminal (and
// not with --json, where stderr carries only errors).
type progress struct {
	a    *app
	verb string // upload or download
	name string
	bar  io.Writer // nil: no bar

	mu      sync.Mutex
	started bool
	start   time.Time
	from    int64 // the bytes there were when this run started
	drawn   time.Time
	shown   bool
	width   int // of the longest line drawn
}

func (a *app) newProgress(verb, name string) *progress {
	p := &progress{a: a, verb: verb, name: name}
	if f, ok := a.stderr.(*os.File); ok && !a.json && isTerminal(f) {
		p.bar = f
	}
	return p
}

// update is the client's progress callback.
func (p *progress) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.started && p.from > 0 && done == 0 && p.verb == "upload" {
		// The client starts over when the bytes an earlier run sent are
		// not the file's start any more (client.UploadFileSum).
		p.a.note("%s changed since the earlier run: sending all of it again", p.name)
		p.start, p.from = now, 0
	}
	if !p.started {
		p.started, p.start, p.from = true, now, done
		switch {
		case done > 0 && done == total:
			// An earlier run moved it all but did not hear the end of it.
			p.a.note("the server already had all of %s (%s) from an earlier run: this is the share that run made", p.name, size(total))
		case done > 0:
			p.a.note("resuming the %s of %s at %s of %s", p.verb, p.name, size(done), size(total))
		}
	}
	if p.bar == nil || (now.Sub(p.drawn) < progressEvery && done < total) {
		return
	}
	line := progressLine(p.name, done, total, p.from, now.Sub(p.start))
	// Spaces, not an escape sequence, clear what a longer line before
	// left: every console understands them.
	p.width = max(p.width, len(line))
	p.drawn, p.shown = now, true
	fmt.Fprintf(p.bar, "\r%-*s", p.width, line)
}

// finish ends the bar's line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.bar)
	}
}

// progressLine is one state of the bar: the percentage, the bytes and the
// rate of this run (from bytes were there when it started).
func progressLine(name string, done, total, from int64, took time.Duration) string {
	pct := int64(100)
	if total > 0 {
		pct = done * 100 / total
	}
	rate := ""
	if s := took.Seconds(); s > 0 {
		rate = fmt.Sprintf("  %.1f MiB/s", float64(done-from)/s/(1<<20))
	}
	return fmt.Sprintf("%s %3d%%  %s / %s%s", name, pct, size(done), size(total), rate)
}
