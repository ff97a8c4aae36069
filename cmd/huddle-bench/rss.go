package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The server's memory and CPU time are read from Linux's /proc; elsewhere
// these functions fail and the scenarios report their load without them.

// serverProc is the server's process as far as the bench can see it: pid 0
// when it could not be found, and then every reading is 0.
type serverProc struct {
	pid      int
	progress io.Writer // where failed readings are reported
}

// serverPIDFlag defines --server-pid for the scenarios that measure the server.
func serverPIDFlag(fs *flag.FlagSet) *int {
	return fs.Int("server-pid", 0, "the server's process id for its RSS (0: find the process listening on --server's port)")
}

// findServer returns the process pid, or, when pid is 0, the one listening
// on addr's port. Not finding that one is no failure: the scenario says so
// on progress and runs without the server's figures. A negative pid, or one
// that names no process (where /proc tells), is a usage error.
func findServer(addr string, pid int, progress io.Writer) (serverProc, error) {
	if pid < 0 {
		return serverProc{}, usagef("--server-pid must not be negative")
	}
	if pid == 0 {
		var err error
		if pid, err = findServerPID(addr); err != nil {
			progressf(progress, "not measuring the server's RSS: %v", err)
		}
	} else if _, err := os.Stat("/proc/self/stat"); err == nil {
		if _, err := readCPU(strconv.Itoa(pid)); err != nil {
			return serverProc{}, usagef("--server-pid %d: no such process (%v)", pid, err)
		}
	}
	return serverProc{pid: pid, progress: progress}, nil
}

// rss returns the server's resident set size, 0 when it cannot be read.
func (s serverProc) rss() int64 {
	if s.pid == 0 {
		return 0
	}
	n, err := readRSS(s.pid)
	if err != nil {
		progressf(s.progress, "%v", err)
	}
	return n
}

// cpu returns the CPU time the server has used, 0 when it cannot be read.
func (s serverProc) cpu() time.Duration {
	if s.pid == 0 {
		return 0
	}
	d, _ := readCPU(strconv.Itoa(s.pid)) // rss reports a server that went away
	return d
}

// readCPU returns the user and system CPU time of process pid ("self" for
// the bench) from /proc/PID/stat, in the kernel's clock ticks.
func readCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	// pid (comm) state ppid … utime stime: the command may hold spaces and
	// parentheses, so count fields from the last ')'; utime is the 12th after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%s/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%s/stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%s/stat: %w", pid, err)
		}
		ticks += n
	}
	// USER_HZ is 100 on every Linux that Go runs on; reading it needs cgo.
	return time.Duration(ticks) * (time.Second / 100), nil
}

// readRSS returns the resident set size of process pid, from VmRSS in
// /proc/PID/status.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read server RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// VmRSS:	  123456 kB
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// findServerPID finds the local process listening on addr's port: the
// listening socket's inode from /proc/net/tcp{,6}, then the process holding
// a descriptor to that inode. It needs the permission to read the server's
// /proc/PID/fd (same user, or root).
func findServerPID(addr string) (int, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", portStr, err)
	}
	inodes := make(map[string]bool)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listeningInodes(table, uint16(port), inodes); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no local process listens on port %d", port)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pidDir := filepath.Dir(filepath.Dir(fd)) // /proc/PID
			return strconv.Atoi(filepath.Base(pidDir))
		}
	}
	return 0, fmt.Errorf("cannot see which process listens on port %d (pass --server-pid)", port)
}

// listeningInodes adds the inodes of the sockets in table (the format of
// /proc/net/tcp) that listen on port.
func listeningInodes(table string, port uint16, inodes map[string]bool) error {
	f, err := os.Open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		const listen = "0A"
		if len(fields) > 9 && fields[3] == listen && strings.HasSuffix(fields[1], want) {
			inodes[fields[9]] = true
		}
	}
	return sc.Err()
}
