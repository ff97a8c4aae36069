package media

import (
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reader reads a batch of datagrams with one recvmmsg(2) into buffers and
// source sockaddrs allocated once. x/net's ReadBatch would build a
// *net.UDPAddr for every datagram it reads (two allocations per packet).
type reader struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	bufs  [][]byte

	// The result of the last recvmmsg, set by recv: a closure made once,
	// because one made per read would escape into RawConn.Read.
	n    int
	err  error
	recv func(fd uintptr) bool
}

func newReader(batch, size int) *reader {
	r := &reader{hdrs: make([]unix.Mmsghdr, batch), iovs: make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet4, batch), bufs: make([][]byte, batch)}
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
	}
	r.recv = func(fd uintptr) bool {
		for i := range r.hdrs {
			r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
			r.hdrs[i].Hdr.Flags = 0
		}
		for {
			n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), 0, 0, 0)
			switch e {
			case 0:
				r.n = int(n)
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // nothing queued: wait in the poller
			default:
				r.err = os.NewSyscallError("recvmmsg", e)
			}
			return true
		}
	}
	return r
}

// read waits for datagrams on s and reads up to a batch of them.
func (r *reader) read(s *sock) (int, error) {
	r.n, r.err = 0, nil
	if err := s.rc.Read(r.recv); err != nil {
		return 0, err
	}
	return r.n, r.err
}

// datagram i of the last read and where it came from; ok is false if it
// did not come from an IPv4 address.
func (r *reader) datagram(i int) (b []byte, from netip.AddrPort, ok bool) {
	h := &r.hdrs[i]
	sa := &r.names[i]
	if h.Hdr.Namelen < unix.SizeofSockaddrInet4 || sa.Family != unix.AF_INET {
		return nil, netip.AddrPort{}, false
	}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port)) // network byte order
	return r.bufs[i][:h.Len], netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1])), true
}
