package main

import (
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fwdBatch is the most datagrams the forwarder reads, and writes, per call.
const fwdBatch = 64

// forwarder is hop's stand-in for the relay: a blocking UDP socket outside
// Go's poller, read and written by one locked OS thread.
type forwarder struct {
	fd     int
	addr   *net.UDPAddr
	cpu    int
	size   int
	routes map[uint16][]unix.RawSockaddrInet4 // by the publisher's port; everything is on 127.0.0.1

	done atomic.Bool
	wg   sync.WaitGroup
	err  error // the thread's failure, read after wg.Wait
}

func newForwarder(cpu, size int) (*forwarder, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := &forwarder{fd: fd, cpu: cpu, size: size, routes: map[uint16][]unix.RawSockaddrInet4{}}
	// The receive timeout lets the thread see done; the buffers are the
	// bench's, as udplimit sets them (capped by the kernel).
	tv := unix.NsecToTimeval(int64(rxWait * time.Millisecond))
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, udpBuffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, udpBuffer)
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		f.close()
		return nil, os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		f.close()
		return nil, os.NewSyscallError("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		f.close()
		return nil, os.NewSyscallError("getsockname", err)
	}
	f.addr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}
	return f, nil
}

func (f *forwarder) close() { _ = unix.Close(f.fd) }

// route sends what comes from from on to every address of to.
func (f *forwarder) route(from *net.UDPAddr, to []*net.UDPAddr) {
	sas := make([]unix.RawSockaddrInet4, len(to))
	for i, a := range to {
		sas[i].Family = unix.AF_INET
		sas[i].Addr = [4]byte(a.IP.To4())
		p := (*[2]byte)(unsafe.Pointer(&sas[i].Port))
		p[0], p[1] = byte(a.Port>>8), byte(a.Port)
	}
	f.routes[uint16(from.Port)] = sas
}

// start runs the forwarder's thread, once it is on its CPU; stop ends it
// and returns its error.
func (f *forwarder) start() (stop func() error, err error) {
	pinned := make(chan error, 1)
	f.wg.Go(func() { f.run(pinned) })
	if err := <-pinned; err != nil {
		f.wg.Wait()
		return nil, err
	}
	return func() error {
		f.done.Store(true)
		f.wg.Wait()
		return f.err
	}, nil
}

// run is the forwarder's thread. It stays locked: a thread whose affinity
// was changed must not go back to running other goroutines, so it ends
// with the goroutine.
func (f *forwarder) run(pinned chan<- error) {
	runtime.LockOSThread()
	if f.cpu >= 0 {
		var set unix.CPUSet
		set.Set(f.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			pinned <- usagef("--cpu %d: %v", f.cpu, err)
			return
		}
	}
	pinned <- nil
	in := make([]unix.Mmsghdr, fwdBatch)
	inIovs := make([]unix.Iovec, fwdBatch)
	names := make([]unix.RawSockaddrInet4, fwdBatch)
	bufs := make([][]byte, fwdBatch)
	for i := range in {
		bufs[i] = make([]byte, rtpHeaderLen+f.size+1)
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
	flush := func() bool {
		for sent := 0; sent < nout; {
			n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&out[sent])), uintptr(nout-sent), 0, 0, 0)
			switch e {
			case 0:
				sent += int(n)
			case unix.EINTR:
			case unix.EAGAIN, unix.ENOBUFS:
				sent++ // a full queue drops the datagram, as the relay's would
			default:
				f.err = os.NewSyscallError("sendmmsg", e)
				return false
			}
		}
		nout = 0
		return true
	}
	for !f.done.Load() {
		for i := range in {
			in[i].Hdr.Namelen = unix.SizeofSockaddrInet4
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&in[0])), fwdBatch, unix.MSG_WAITFORONE, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN, unix.EINTR: // the receive timeout: look at done
			continue
		default:
			f.err = os.NewSyscallError("recvmmsg", e)
			return
		}
		for i := range int(n) {
			p := (*[2]byte)(unsafe.Pointer(&names[i].Port))
			for k := range f.routes[uint16(p[0])<<8|uint16(p[1])] {
				if nout == len(out) && !flush() {
					return
				}
				sa := &f.routes[uint16(p[0])<<8|uint16(p[1])][k]
				out[nout].Hdr.Name = (*byte)(unsafe.Pointer(sa))
				out[nout].Hdr.Namelen = unix.SizeofSockaddrInet4
				outIovs[nout].Base = &bufs[i][0]
				outIovs[nout].SetLen(int(in[i].Len))
				nout++
			}
		}
		if !flush() {
			return
		}
	}
}
