package main

import (
	"bufio"
	"encoding/binary"
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
// then forwards until its standard input closes, when it prints
// "dropped N truncated M" (datagrams its socket would not take, and ones
// larger than the bench sends) and exits. GOMAXPROCS 1, every thread on
// CPU (-1: not pinned), one goroutine forwarding in blocking recvmmsg and
// sendmmsg and one waiting for the end of its input: what a relay process
// alone on its CPU would be without any of the relay.

const (
	// fwdBatch is the most datagrams the forwarder reads, and writes, per call.
	fwdBatch = 64
	// fwdUsage is the forwarder's exit status when CPU cannot be used.
	fwdUsage = 2
	// fwdWait bounds each step of the conversation with the forwarder and
	// its exit; past it the forwarder is killed.
	fwdWait = 10 * time.Second
)

// forwarder is the parent's handle on the forwarder process.
type forwarder struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	errs   strings.Builder // its standard error
	addr   *net.UDPAddr
	closed bool

	// What it said when it stopped.
	dropped, truncated int64
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
		return nil, f.fail(fmt.Errorf("it said %q, not its port", line))
	}
	f.addr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	return f, nil
}

// line reads the forwarder's next line, killing it if none comes within
// fwdWait (which ends the read).
func (f *forwarder) line() (string, error) {
	t := time.AfterFunc(fwdWait, func() { _ = f.cmd.Process.Kill() })
	defer t.Stop()
	s, err := f.out.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// fail stops the process after err and returns err with what the process
// said; a CPU it could not use is a usage error.
func (f *forwarder) fail(err error) error {
	_ = f.stop()
	said := strings.TrimSpace(f.errs.String())
	if ps := f.cmd.ProcessState; ps != nil && ps.ExitCode() == fwdUsage {
		return usagef("%s", said)
	}
	if said != "" {
		return fmt.Errorf("forwarder: %w (it said: %s)", err, said)
	}
	return fmt.Errorf("forwarder: %w", err)
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
	if _, err := io.WriteString(f.in, b.String()); err != nil {
		return f.fail(err)
	}
	return nil
}

// ready ends the routes and waits until the forwarder forwards.
func (f *forwarder) ready() error {
	if _, err := io.WriteString(f.in, "\n"); err != nil {
		return f.fail(err)
	}
	line, err := f.line()
	if err == nil && line != "ready" {
		err = fmt.Errorf("it said %q, not ready", line)
	}
	if err != nil {
		return f.fail(err)
	}
	return nil
}

// stop closes the forwarder's input, reads what it dropped and waits for
// it to exit, killing it if it takes longer than fwdWait.
func (f *forwarder) stop() error {
	if f.closed {
		return nil
	}
	f.closed = true
	_ = f.in.Close()
	if line, err := f.line(); err == nil {
		_, _ = fmt.Sscanf(line, "dropped %d truncated %d", &f.dropped, &f.truncated)
	}
	t := time.AfterFunc(fwdWait, func() { _ = f.cmd.Process.Kill() })
	defer t.Stop()
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
		var may unix.CPUSet // before pinning: where the bench was started
		_ = unix.SchedGetaffinity(0, &may)
		if err := pinProcess(cpu); err != nil {
			online, _ := os.ReadFile("/sys/devices/system/cpu/online")
			fmt.Fprintf(os.Stderr, "--cpu %d: %v (CPUs online: %s; the bench was started on CPUs %s)\n",
				cpu, err, strings.TrimSpace(string(online)), cpuList(&may))
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
	routes, err := readRoutes(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in) // until the parent closes our input
		close(done)
	}()
	fmt.Println("ready")
	dropped, truncated, err := forward(fd, size, routes, done)
	fmt.Printf("dropped %d truncated %d\n", dropped, truncated)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// readRoutes reads route lines up to an empty one: the addresses on
// 127.0.0.1 to send to, by the source port as a sockaddr holds it.
func readRoutes(in *bufio.Reader) (map[uint16][]unix.RawSockaddrInet4, error) {
	routes := map[uint16][]unix.RawSockaddrInet4{}
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			return routes, nil
		}
		ports := make([]uint16, len(fields))
		for i, s := range fields {
			p, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", line, err)
			}
			ports[i] = netPort(uint16(p))
		}
		for _, p := range ports[1:] {
			routes[ports[0]] = append(routes[ports[0]], unix.RawSockaddrInet4{
				Family: unix.AF_INET, Port: p, Addr: [4]byte{127, 0, 0, 1}})
		}
	}
}

// netPort is port as a sockaddr holds it: its bytes in network order.
func netPort(port uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], port)
	return binary.NativeEndian.Uint16(b[:])
}

// cpuList names the CPUs of set, e.g. "0 1".
func cpuList(set *unix.CPUSet) string {
	var ids []string
	for _, c := range cpusOf(set) {
		ids = append(ids, strconv.Itoa(c))
	}
	return strings.Join(ids, " ")
}

// cpusOf lists the CPUs of set.
func cpusOf(set *unix.CPUSet) []int {
	var cpus []int
	for i := 0; len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// pinProcess puts every thread of the process on cpu; threads made later
// inherit it from the thread that makes them. A thread made while it
// runs by one not yet pinned is found the next time round: it goes on
// until a round pins none it had not.
func pinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	pinned := map[int]bool{}
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		more := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
			pinned[tid], more = true, true
		}
		if !more {
			return nil
		}
	}
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

// forward passes every datagram on to its source's routes until done, and
// returns how many copies its socket would not take and how many
// datagrams were larger than its buffers (and not forwarded).
func forward(fd, size int, routes map[uint16][]unix.RawSockaddrInet4, done <-chan struct{}) (dropped, truncated int64, err error) {
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
				dropped++
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
			return dropped, truncated, nil
		default:
		}
		for i := range in {
			in[i].Hdr.Namelen = unix.SizeofSockaddrInet4
			in[i].Hdr.Flags = 0
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&in[0])), fwdBatch, unix.MSG_WAITFORONE, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN, unix.EINTR: // the receive timeout: look at done
			continue
		default:
			return dropped, truncated, os.NewSyscallError("recvmmsg", e)
		}
		for i := range int(n) {
			if in[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
				truncated++
				continue
			}
			to := routes[names[i].Port]
			for k := range to {
				if nout == len(out) {
					if err := flush(); err != nil {
						return dropped, truncated, err
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
			return dropped, truncated, err
		}
	}
}
