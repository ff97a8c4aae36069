//go:build !unix

// Package rlimit raises the process's file descriptor limit, which bounds how
// many connections huddled can hold and huddle-bench can open.
package rlimit

import "errors"

// RaiseFiles has nothing to raise where there is no RLIMIT_NOFILE.
func RaiseFiles() (uint64, error) {
	return 0, errors.New("no RLIMIT_NOFILE on this OS")
}
