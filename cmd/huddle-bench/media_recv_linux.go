package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"huddle/internal/kstamp"
)

// On Linux the subscribers' sockets are read by a few loops, each with an
// epoll set of its share of the sockets, instead of one goroutine per
// socket: with 5,000 sockets each datagram would otherwise cost a
// goroutine wake-up through Go's poller, and the receive time would
// include waiting for the scheduler behind thousands of others. Each
// socket also has SO_TIMESTAMPNS, so the kernel stamps when it queued
// each datagram, before the bench has run at all.

// rxWait is how long a loop's epoll_wait blocks before it looks at stop.
const rxWait = 10 // ms

// startReceiving reads recvs' sockets, with a loop per P at most, until
// stop is called; stop returns once no loop reads any more, before the
// sockets are closed.
func startReceiving(recvs []*receiver, size int) (stop func(), err error) {
	n := min(runtime.GOMAXPROCS(0), len(recvs))
	loops := make([]*rxLoop, 0, n)
	closeAll := func() {
		for _, l := range loops {
			_ = unix.Close(l.ep)
		}
	}
	for i := range n {
		l, err := newRxLoop(recvs[i*len(recvs)/n:(i+1)*len(recvs)/n], size)
		if err != nil {
			closeAll()
			return nil, err
		}
		loops = append(loops, l)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() { l.run(&done) })
	}
	return func() {
		done.Store(true)
		wg.Wait()
		closeAll()
	}, nil
}

// rxLoop reads its receivers' sockets with recvmmsg when epoll says they
// have datagrams.
type rxLoop struct {
	ep    int
	recvs []*receiver
	fds   []int
	size  int
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	bufs  [][]byte
	ctl   [][]byte
}

func newRxLoop(recvs []*receiver, size int) (*rxLoop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	l := &rxLoop{ep: ep, recvs: recvs, size: size, hdrs: make([]unix.Mmsghdr, rxBatch),
		iovs: make([]unix.Iovec, rxBatch), bufs: make([][]byte, rxBatch), ctl: make([][]byte, rxBatch)}
	for i := range l.hdrs {
		l.bufs[i] = make([]byte, rtpHeaderLen+size+1)
		l.iovs[i].Base = &l.bufs[i][0]
		l.iovs[i].SetLen(len(l.bufs[i]))
		l.ctl[i] = make([]byte, kstamp.Space())
		h := &l.hdrs[i].Hdr
		h.Iov = &l.iovs[i]
		h.SetIovlen(1)
		h.Control = &l.ctl[i][0]
	}
	for i, r := range recvs {
		fd, err := rawFD(r)
		if err == nil {
			err = kstamp.Enable(fd)
		}
		if err == nil {
			err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)})
		}
		if err != nil {
			_ = unix.Close(ep)
			return nil, fmt.Errorf("receive on %v: %w", r.uc.LocalAddr(), err)
		}
		l.fds = append(l.fds, fd)
	}
	return l, nil
}

// rawFD is the socket's descriptor. The bench reads it directly while the
// *net.UDPConn stays open (it is closed only after stop).
func rawFD(r *receiver) (int, error) {
	rc, err := r.uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, err
	}
	return fd, nil
}

func (l *rxLoop) run(done *atomic.Bool) {
	events := make([]unix.EpollEvent, 256)
	for !done.Load() {
		n, err := unix.EpollWait(l.ep, events, rxWait)
		if err != nil {
			continue // EINTR
		}
		for _, ev := range events[:n] {
			l.drain(int(ev.Fd))
		}
	}
}

// drain reads socket i until it is empty or a batch comes back short.
func (l *rxLoop) drain(i int) {
	r := l.recvs[i]
	for {
		for k := range l.hdrs {
			l.hdrs[k].Hdr.SetControllen(len(l.ctl[k]))
			l.hdrs[k].Hdr.Flags = 0
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(l.fds[i]), uintptr(unsafe.Pointer(&l.hdrs[0])),
			uintptr(len(l.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			return // EAGAIN: empty
		}
		now := time.Now().UnixNano()
		good := int64(0)
		for k := range int(n) {
			if r.got(l.bufs[k][:l.hdrs[k].Len], l.size, now, l.queuedAt(k)) {
				good++
			}
		}
		r.received.Add(good)
		if int(n) < len(l.hdrs) {
			return
		}
	}
}

// queuedAt is the kernel's receive timestamp of datagram k (Unix ns), 0
// if it has none.
func (l *rxLoop) queuedAt(k int) int64 {
	return kstamp.Nano(l.ctl[k][:min(int(l.hdrs[k].Hdr.Controllen), len(l.ctl[k]))])
}
