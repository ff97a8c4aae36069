package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hop's forwarder is a process of its own: huddle-bench started again with
// forwarderEnv set to "CPU SIZE". It binds a UDP socket on 127.0.0.1 and
// prints its port, reads routes from its standard input, one line
// "FROM-PORT TO-PORT..." each, until an empty line, prints "ready", and
// then forwards until its standard input closes. One goroutine, GOMAXPROCS
// 1, pinned to CPU (-1: not pinned), blocking recvmmsg and sendmmsg: what
// a relay process alone on its CPU would be without any of the relay.

const (
	forwarderEnv = "HUDDLE_BENCH_FORWARDER"
	// fwdBatch is the most datagrams the forwarder reads, and writes, per call.
	fwdBatch = 64
	// fwdUsage is the forwarder's exit status when CPU cannot be used.
	fwdUsage = 2
)

// forwarder is the parent's handle on the forwarder process.
type forwarder struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	errs   strings.Builder // its standard error
	addr   *net.UDPAddr
	closed bool
}

func startForwarder(cpu, size int) (*forwarder, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f := &forwarder{cmd: exec.Command(exe)}
	f.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d", forwarderEnv, cpu, size))
	// A process group of its own: a Ctrl-C at the terminal interrupts the
	// bench, which then ends the forwarder by closing its input.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f.cmd.Stderr = &f.errs
	if f.in, err = f.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f.out = bufio.NewReader(out)
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the forwarder: %w", err)
	}
	line, err := f.line()
	if err != nil {
		return nil, f.fail(err)
	}
	port, err := strconv.Atoi(line)
	if err != nil {
		return nil, f.fail(fmt.Errorf("the forwarder said %q, not its port", line))
	}
	f.addr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	return f, nil
}

func (f *forwarder) line() (string, error) {
	s, err := f.out.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// fail stops the process after err and returns err with what the process
// said; a CPU it could not use is a usage error.
func (f *forwarder) fail(err error) error {
	werr := f.stop()
	var ee *exec.ExitError
	if errors.As(werr, &ee) && ee.ExitCode() == fwdUsage {
		return usagef("%s", strings.TrimSpace(f.errs.String()))
	}
	return fmt.Errorf("forwarder: %w", errors.Join(err, werr))
}

func (f *forwarder) pid() int { return f.cmd.Process.Pid }

// route has the forwarder send what comes from from on to every address of to.
func (f *forwarder) route(from *net.UDPAddr, to []*net.UDPAddr) error {
	var b strings.Builder
	b.WriteString(strconv.Itoa(from.Port))
	for _, a := range to {
		b.WriteString(" " + strconv.Itoa(a.Port))
	}
	b.WriteString("\n")
	_, err := io.WriteString(f.in, b.String())
	return err
}

// ready ends the routes and waits until the forwarder forwards.
func (f *forwarder) ready() error {
	if _, err := io.WriteString(f.in, "\n"); err != nil {
		return f.fail(err)
	}
	if line, err := f.line(); err != nil || line != "ready" {
		return f.fail(fmt.Errorf("the forwarder said %q, not ready: %v", line, err))
	}
	return nil
}

// stop closes the forwarder's input and waits for it to exit.
func (f *forwarder) stop() error {
	if f.closed {
		return nil
	}
	f.closed = true
	_ = f.in.Close()
	err := f.cmd.Wait()
	if said := strings.TrimSpace(f.errs.String()); err != nil && said != "" {
		return fmt.Errorf("forwarder: %w: %s", err, said)
	} else if err != nil {
		return fmt.Errorf("forwarder: %w", err)
	}
	return nil
}

// forwarderMain is the forwarder process; it returns its exit status.
func forwarderMain(spec string) int {
	var cpu, size int
	if _, err := fmt.Sscanf(spec, "%d %d", &cpu, &size); err != nil || size < 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want CPU SIZE\n", forwarderEnv, spec)
		return 1
	}
	runtime.GOMAXPROCS(1)
	if cpu >= 0 {
		if err := pinProcess(cpu); err != nil {
			online, _ := os.ReadFile("/sys/devices/system/cpu/online")
			fmt.Fprintf(os.Stderr, "--cpu %d: %v (the CPUs online are %s)\n", cpu, err, strings.TrimSpace(string(online)))
			return fwdUsage
		}
	}
	fd, port, err := forwarderSocket()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer unix.Close(fd)
	fmt.Println(port)
	in := bufio.NewReader(os.Stdin)
	routes := map[uint16][]unix.RawSockaddrInet4{}
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			fmt.Fprintln(os.Stderr, "routes:", err)
			return 1
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			break
		}
		ports := make([]uint16, len(fields))
		for i, s := range fields {
			p, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				fmt.Fprintf(os.Stderr, "route %q: %v\n", line, err)
				return 1
			}
			ports[i] = uint16(p)
		}
		for _, p := range ports[1:] {
			var sa unix.RawSockaddrInet4
			sa.Family = unix.AF_INET
			sa.Addr = [4]byte{127, 0, 0, 1}
			b := (*[2]byte)(unsafe.Pointer(&sa.Port))
			b[0], b[1] = byte(p>>8), byte(p)
			routes[ports[0]] = append(routes[ports[0]], sa)
		}
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in) // until the parent closes our input
		close(done)
	}()
	fmt.Println("ready")
	if err := forward(fd, size, routes, done); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// pinProcess puts every thread of the process on cpu; threads made later
// inherit it from the thread that makes them.
func pinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
	}
	return nil
}

// forwarderSocket is a blocking UDP socket on 127.0.0.1 with the bench's
// buffers and a receive timeout, so that the loop sees done.
func forwarderSocket() (fd, port int, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, os.NewSyscallError("socket", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, udpBuffer) // capped by the kernel
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, udpBuffer)
	tv := unix.NsecToTimeval(int64(rxWait * time.Millisecond))
	err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}
	var sa unix.Sockaddr
	if err == nil {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		unix.Close(fd)
		return 0, 0, err
	}
	return fd, sa.(*unix.SockaddrInet4).Port, nil
}

// forward passes every datagram on to its source's routes until done.
func forward(fd, size int, routes map[uint16][]unix.RawSockaddrInet4, done <-chan struct{}) error {
	in := make([]unix.Mmsghdr, fwdBatch)
	inIovs := make([]unix.Iovec, fwdBatch)
	names := make([]unix.RawSockaddrInet4, fwdBatch)
	bufs := make([][]byte, fwdBatch)
	for i := range in {
		bufs[i] = make([]byte, rtpHeaderLen+size+1)
		inIovs[i].Base = &bufs[i][0]
		inIovs[i].SetLen(len(bufs[i]))
		in[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
		in[i].Hdr.Iov = &inIovs[i]
		in[i].Hdr.SetIovlen(1)
	}
	out := make([]unix.Mmsghdr, fwdBatch)
	outIovs := make([]unix.Iovec, fwdBatch)
	for i := range out {
		out[i].Hdr.Iov = &outIovs[i]
		out[i].Hdr.SetIovlen(1)
	}
	nout := 0
	flush := func() error {
		for sent := 0; sent < nout; {
			n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&out[sent])), uintptr(nout-sent), 0, 0, 0)
			switch e {
			case 0:
				sent += int(n)
			case unix.EINTR:
			case unix.EAGAIN, unix.ENOBUFS, unix.ECONNREFUSED:
				sent++ // dropped, as the relay would drop it
			default:
				return os.NewSyscallError("sendmmsg", e)
			}
		}
		nout = 0
		return nil
	}
	for {
		select {
		case <-done:
			return nil
		default:
		}
		for i := range in {
			in[i].Hdr.Namelen = unix.SizeofSockaddrInet4
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&in[0])), fwdBatch, unix.MSG_WAITFORONE, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN, unix.EINTR: // the receive timeout: look at done
			continue
		default:
			return os.NewSyscallError("recvmmsg", e)
		}
		for i := range int(n) {
			p := (*[2]byte)(unsafe.Pointer(&names[i].Port))
			to := routes[uint16(p[0])<<8|uint16(p[1])]
			for k := range to {
				if nout == len(out) {
					if err := flush(); err != nil {
						return err
					}
				}
				out[nout].Hdr.Name = (*byte)(unsafe.Pointer(&to[k]))
				out[nout].Hdr.Namelen = unix.SizeofSockaddrInet4
				outIovs[nout].Base = &bufs[i][0]
				outIovs[nout].SetLen(int(in[i].Len))
				nout++
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
}
