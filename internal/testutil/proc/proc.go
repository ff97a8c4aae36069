package proc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the command pkg (an import path such as huddle/cmd/huddled)
// into dir and returns the binary's path, named after the package's last
// element. It skips the test when there is no go command; a build failure
// is returned for the caller to fail or skip on.
func Build(tb testing.TB, dir, pkg string) (string, error) {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("go command not found")
	}
	bin := filepath.Join(dir, path.Base(pkg))
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// Process is a command a test runs, with its output captured.
type Process struct {
	Cmd  *exec.Cmd
	Logs *Buffer // stdout and stderr

	done chan struct{} // closed when the process has exited
	err  error         // how it exited, once done is closed
}

// Start runs bin with args in CleanEnv plus env. When the test ends the
// process is killed (unless it has exited) and, if the test failed, its
// output is logged.
func Start(tb testing.TB, env []string, bin string, args ...string) *Process {
	tb.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), Logs: &Buffer{}, done: make(chan struct{})}
	p.Cmd.Env = append(CleanEnv(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("%s %s (%v):\n%s", filepath.Base(bin), strings.Join(args, " "), p.err, p.Logs)
		}
	})
	return p
}

// WaitListening returns once addr accepts TCP connections. It fails the
// test if the process exits first or timeout passes.
func (p *Process) WaitListening(tb testing.TB, addr string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			tb.Fatalf("%s exited before listening on %s: %v\n%s", filepath.Base(p.Cmd.Path), addr, p.err, p.Logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s does not accept on %s after %v\n%s", filepath.Base(p.Cmd.Path), addr, timeout, p.Logs)
		}
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited; valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Kill sends SIGKILL (unless the process has exited) and waits for the end.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Stop sends SIGTERM and waits up to timeout for the process to exit,
// returning how it exited; after that it kills the process.
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("still running %v after SIGTERM", timeout)
	}
}

// Buffer is a bytes.Buffer safe for a process writing and a test reading.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback address with a port that was free a moment
// ago, for a process that cannot report the port it bound.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// CleanEnv is the environment without HUDDLE_* variables, so that only the
// test's settings apply.
func CleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HUDDLE_") })
}
