//go:build unix

package main

import (
	"os"
	"os/exec"
	"strings"
)

// The terminal is driven through stty(1) so that the CLI needs nothing
// beyond the standard library on every Unix.

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false // a pipe or a file: no need to ask stty
	}
	_, err = stty(f, "-g") // /dev/null is a character device too
	return err == nil
}

func disableEcho(f *os.File) (restore func(), err error) {
	state, err := stty(f, "-g")
	if err != nil {
		return nil, err
	}
	if _, err := stty(f, "-echo"); err != nil {
		return nil, err
	}
	return func() { _, _ = stty(f, strings.TrimSpace(state)) }, nil
}

func stty(tty *os.File, args ...string) (string, error) {
	cmd := exec.Command("stty", args...)
	cmd.Stdin = tty
	out, err := cmd.Output()
	return string(out), err
}
