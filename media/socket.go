package media

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// sock is one bound UDP socket.
type sock struct {
	uc *net.UDPConn
	pc *ipv4.PacketConn
	rc syscall.RawConn // for the Linux reader's recvmmsg
}

type sockPointer = atomic.Pointer[sock]

func (s *sock) close() { _ = s.uc.Close() }

// listen binds one SO_REUSEPORT socket on the relay's IP and port, with
// the multicast options set for what it sends.
func (r *Relay) listen(port int) (*sock, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pconn, err := lc.ListenPacket(context.Background(), "udp4", netip.AddrPortFrom(r.cfg.IP, uint16(port)).String())
	if err != nil {
		return nil, err
	}
	uc := pconn.(*net.UDPConn)
	rc, err := uc.SyscallConn()
	if err != nil {
		_ = uc.Close()
		return nil, err
	}
	s := &sock{uc: uc, pc: ipv4.NewPacketConn(uc), rc: rc}
	if err := r.setOptions(s); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (r *Relay) setOptions(s *sock) error {
	if n := r.cfg.SocketBuffer; n > 0 {
		if err := s.uc.SetReadBuffer(n); err != nil {
			return fmt.Errorf("media: SO_RCVBUF: %w", err)
		}
		if err := s.uc.SetWriteBuffer(n); err != nil {
			return fmt.Errorf("media: SO_SNDBUF: %w", err)
		}
	}
	if r.cfg.Timestamps {
		if err := enableStamps(s); err != nil {
			return fmt.Errorf("media: SO_TIMESTAMPNS: %w", err)
		}
	}
	if !r.cfg.Multicast {
		return nil
	}
	if r.mcastIF != nil {
		if err := s.pc.SetMulticastInterface(r.mcastIF); err != nil {
			return fmt.Errorf("media: IP_MULTICAST_IF %s: %w", r.mcastIF.Name, err)
		}
	}
	if err := s.pc.SetMulticastTTL(r.cfg.MulticastTTL); err != nil {
		return fmt.Errorf("media: IP_MULTICAST_TTL: %w", err)
	}
	if err := s.pc.SetMulticastLoopback(true); err != nil {
		return fmt.Errorf("media: IP_MULTICAST_LOOP: %w", err)
	}
	return nil
}

// unused checks that no other socket has port, by binding it for a moment
// without SO_REUSEPORT: SO_REUSEPORT would let a second relay (another
// huddled of the same user) share the port silently, and the kernel would
// split the senders' packets between the two.
func (r *Relay) unused(port int) error {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.IP, uint16(port))))
	if err != nil {
		return fmt.Errorf("port %d is in use (another huddled?): %w", port, err)
	}
	return c.Close()
}

// bindAll binds Workers sockets on the RTP port and Workers on port+1. With
// port 0 it lets the kernel pick the RTP port and tries again until the
// port above it is free too.
func (r *Relay) bindAll(port int) ([]*sock, int, error) {
	tries := 1
	if port == 0 {
		tries = 100
	}
	var err error
	for range tries {
		var socks []*sock
		socks, err = r.bindPair(port)
		if err == nil {
			return socks, socks[0].uc.LocalAddr().(*net.UDPAddr).Port, nil
		}
	}
	return nil, 0, fmt.Errorf("media: bind %v port %d and the next: %w", r.cfg.IP, port, err)
}

func (r *Relay) bindPair(port int) ([]*sock, error) {
	n := r.cfg.Workers
	socks := make([]*sock, 0, 2*n)
	fail := func(err error) ([]*sock, error) {
		for _, s := range socks {
			s.close()
		}
		return nil, err
	}
	if port != 0 {
		if err := r.unused(port); err != nil {
			return fail(err)
		}
	}
	for i := range 2 * n {
		p := port
		if i >= n {
			p = port + 1
		}
		if i == n {
			if err := r.unused(p); err != nil {
				return fail(err)
			}
		}
		s, err := r.listen(p)
		if err != nil {
			return fail(err)
		}
		socks = append(socks, s)
		if i == 0 && port == 0 {
			port = s.uc.LocalAddr().(*net.UDPAddr).Port
			if port >= 65535 {
				return fail(fmt.Errorf("port %d has no port above it", port))
			}
		}
	}
	return socks, nil
}
