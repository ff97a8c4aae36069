//go:build unix

package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// raiseFileLimit lifts RLIMIT_NOFILE's soft limit to its hard limit, as
// huddled does (netio.RaiseFileLimit; the bench must not import netio), and
// returns the soft limit. The Go runtime already does this at start since Go
// 1.19; doing it here as well keeps the number we check against explicit.
func raiseFileLimit() (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return lim.Cur, nil
}
