//go:build linux

package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepShort sleeps about d. time.Sleep wakes up no sooner than about a
// millisecond later on Linux (the runtime's timers ride on epoll_pwait's
// millisecond timeout), so a paced sender would send in 1 ms bursts;
// nanosleep blocks this thread only and wakes up within ~40 µs of d.
func sleepShort(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil) // EINTR: a shorter sleep is fine
}
