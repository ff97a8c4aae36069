//go:build !unix

package main

import "errors"

// raiseFileLimit has nothing to raise where there is no RLIMIT_NOFILE; the
// caller then skips its descriptor check.
func raiseFileLimit() (uint64, error) {
	return 0, errors.New("no RLIMIT_NOFILE on this OS")
}
