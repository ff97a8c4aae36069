//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCLIFileProgressOnTerminal: file send and file get draw a progress
// bar on stderr when it is a terminal (a pseudo-terminal here), and none
// when it is not one or with --json.
func TestCLIFileProgressOnTerminal(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob")
	alice, bob := homes[0], homes[1]
	src, down := t.TempDir(), t.TempDir()
	data := randomFile(t, src, "big.bin", 3<<20, 7)
	path := filepath.Join(src, "big.bin")
	bar := "big.bin 100%  3.0 MiB / 3.0 MiB"

	out, tty := e.onTerminal(alice, "file", "send", "bob", path)
	if !strings.Contains(tty, "\r"+bar) {
		t.Fatalf("file send on a terminal drew %q; want a bar ending in %q", tty, bar)
	}
	id := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	_, tty = e.onTerminal(bob, "file", "get", id, "-o", filepath.Join(down, "got"))
	if !strings.Contains(tty, "\r"+bar) {
		t.Fatalf("file get on a terminal drew %q; want a bar ending in %q", tty, bar)
	}
	wantFile(t, filepath.Join(down, "got"), data)

	if _, tty = e.onTerminal(bob, "--json", "file", "get", id, "-o", filepath.Join(down, "json")); tty != "" {
		t.Fatalf("file get --json on a terminal wrote %q to stderr; want nothing", tty)
	}
	if _, errs := e.okIn(down, bob, "file", "get", id, "-o", "piped"); errs != "" {
		t.Fatalf("file get with stderr not a terminal wrote %q to it; want nothing", errs)
	}
}

// onTerminal runs a command that must succeed with its stderr on a
// pseudo-terminal, and returns its stdout and what reached the terminal.
func (e *e2e) onTerminal(home string, args ...string) (stdout, tty string) {
	e.t.Helper()
	master, slave := openPTY(e.t)
	cmd := e.command(home, "", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, slave
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	slave.Close() // the child has it: the reads below end when it exits
	var got bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&got, master) // EIO once no process holds the terminal
	}()
	err := cmd.Wait()
	<-copied
	master.Close()
	if err != nil {
		e.t.Fatalf("huddle %s: %v\nstdout: %s\nterminal: %q", strings.Join(args, " "), err, out.String(), got.String())
	}
	return out.String(), got.String()
}

// openPTY opens a pseudo-terminal pair, or skips the test where there is
// none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(master.Fd())
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err == nil {
		slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		t.Skipf("no pseudo-terminal: %v", err)
	}
	return master, slave
}
