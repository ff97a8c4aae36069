//go:build unix

// Package rlimit raises the process's file descriptor limit, which bounds how
// many connections huddled can hold and huddle-bench can open.
package rlimit

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// RaiseFiles lifts RLIMIT_NOFILE's soft limit to its hard limit and returns
// the new soft limit. The Go runtime does the same at start (since Go 1.19);
// doing it here keeps the number callers plan with explicit.
func RaiseFiles() (uint64, error) {
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
