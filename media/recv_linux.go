package media

import (
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"huddle/internal/kstamp"
)

// reader reads a batch of datagrams with one recvmmsg(2) into buffers and
// source sockaddrs allocated once. x/net's ReadBatch would build a
// *net.UDPAddr for every datagram it reads (two allocations per packet).
// With stamps, each header also has a control buffer for the datagram's
// kernel receive timestamp (SO_TIMESTAMPNS, see enableStamps).
type reader struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	bufs  [][]byte
	ctl   []byte // kstamp.Space() bytes per header; nil without stamps
	space int

	// The result of the last recvmmsg, set by recv: a closure made once,
	// because one made per read would escape into RawConn.Read.
	n    int
	err  error
	recv func(fd uintptr) bool
}

func newReader(batch, size int, stamps bool) *reader {
	r := &reader{hdrs: make([]unix.Mmsghdr, batch), iovs: make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet4, batch), bufs: make([][]byte, batch)}
	if stamps {
		// One allocation for all: each header's part starts at a multiple
		// of Space (itself a multiple of 8), so it is aligned for a cmsghdr.
		r.space = kstamp.Space()
		r.ctl = make([]byte, batch*r.space)
	}
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		if r.ctl != nil {
			h.Control = &r.ctl[i*r.space]
		}
	}
	r.recv = func(fd uintptr) bool {
		for i := range r.hdrs {
			h := &r.hdrs[i].Hdr
			h.Namelen = unix.SizeofSockaddrInet4
			h.Flags = 0
			if r.ctl != nil {
				h.SetControllen(r.space)
			}
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

// hasStamps: the kernel gives receive timestamps (SO_TIMESTAMPNS).
const hasStamps = true

// stamp is datagram i's kernel receive timestamp (Unix ns), 0 if it has
// none.
func (r *reader) stamp(i int) int64 {
	if r.ctl == nil {
		return 0
	}
	n := min(int(r.hdrs[i].Hdr.Controllen), r.space)
	return kstamp.Nano(r.ctl[i*r.space : i*r.space+n])
}

// enableStamps has the kernel stamp every datagram s receives.
func enableStamps(s *sock) error {
	var serr error
	if err := s.rc.Control(func(fd uintptr) { serr = kstamp.Enable(int(fd)) }); err != nil {
		return err
	}
	return serr
}
