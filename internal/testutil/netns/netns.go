// Package netns gives a test a network namespace of its own, with only a
// loopback interface that carries multicast, so that standard tools (ffmpeg
// joining a multicast group on the default interface) run there without a
// single packet reaching a real network. It needs root and iproute2; tests
// skip without them unless CI is set, when they fail.
package netns

import (
	"crypto/rand"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a network namespace that lives as long as the test.
type NS struct {
	Name string
}

// New creates a namespace with lo up and the multicast route on lo, and
// removes it when the test ends.
func New(tb testing.TB) *NS {
	tb.Helper()
	missing := func(why string) {
		if os.Getenv("CI") != "" {
			tb.Fatalf("network namespace: %s (CI needs it)", why)
		}
		tb.Skipf("network namespace: %s", why)
	}
	if os.Geteuid() != 0 {
		missing("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		missing("no ip command (iproute2)")
	}
	ns := &NS{Name: "huddle-" + strings.ToLower(rand.Text()[:10])}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		missing("ip netns add: " + strings.TrimSpace(string(out)))
	}
	tb.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns.Name).Run() })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := ns.Command("ip", args...).CombinedOutput(); err != nil {
			tb.Fatalf("ip %s in %s: %v: %s", strings.Join(args, " "), ns.Name, err, out)
		}
	}
	return ns
}

// Command returns a command that runs name inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Do runs fn on an OS thread that is inside the namespace: the sockets fn
// opens belong to the namespace, and keep working from any goroutine once
// open. The thread is thrown away afterwards.
func (ns *NS) Do(tb testing.TB, fn func()) {
	tb.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/var/run/netns/" + ns.Name)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		defer func() { done <- nil }()
		fn()
	}()
	if err := <-done; err != nil {
		tb.Fatalf("enter %s: %v", ns.Name, err)
	}
}
