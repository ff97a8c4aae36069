//go:build unix

package netio

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// RaiseFileLimit lifts RLIMIT_NOFILE's soft limit to its hard limit and
// returns the new soft limit: roughly how many connections the process can hold.
func RaiseFileLimit() (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return lim.Cur, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return lim.Cur, nil
}
