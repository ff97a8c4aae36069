//go:build !unix && !windows

package main

import (
	"errors"
	"os"
)

// On other systems passwords always come from stdin lines.

func isTerminal(*os.File) bool { return false }

func disableEcho(*os.File) (func(), error) {
	return nil, errors.New("not supported on this system")
}
