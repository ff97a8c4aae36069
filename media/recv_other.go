//go:build !linux

package media

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// reader reads a batch of datagrams with x/net's ReadBatch, which builds
// a *net.UDPAddr per datagram; Linux has its own recvmmsg (recv_linux.go).
// There are no receive timestamps here, so the relay measures no latency.
type reader struct {
	ms []ipv4.Message
	pc *ipv4.PacketConn
}

func newReader(batch, size int, _ bool) *reader {
	r := &reader{ms: make([]ipv4.Message, batch)}
	for i := range r.ms {
		r.ms[i].Buffers = [][]byte{make([]byte, size)}
	}
	return r
}

// read waits for datagrams on s and reads up to a batch of them.
func (r *reader) read(s *sock) (int, error) { return s.pc.ReadBatch(r.ms, 0) }

// datagram i of the last read and where it came from; ok is false if it
// did not come from an IPv4 address.
func (r *reader) datagram(i int) (b []byte, from netip.AddrPort, ok bool) {
	m := &r.ms[i]
	ua, ok := m.Addr.(*net.UDPAddr)
	if !ok {
		return nil, netip.AddrPort{}, false
	}
	return m.Buffers[0][:m.N], ua.AddrPort(), true
}

// hasStamps: no kernel receive timestamps here.
const hasStamps = false

// stamp has no kernel receive timestamp to give.
func (r *reader) stamp(int) int64 { return 0 }

// enableStamps leaves the socket as it is: no SO_TIMESTAMPNS here.
func enableStamps(*sock) error { return nil }
