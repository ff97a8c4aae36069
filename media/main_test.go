package media

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"huddle/internal/testutil/leak"
	"huddle/internal/testutil/mcast"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leak.Options()...) }

func testConfig() Config {
	return Config{
		IP: netip.MustParseAddr("127.0.0.1"), Workers: 2, Batch: 16, MaxPacket: 1500,
		SourceRate: 100000, SourceBurst: 10000, Multicast: true, MulticastIF: "lo", MulticastTTL: 1, Timestamps: true,
		RestartBackoff: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func startRelay(t testing.TB, mod func(*Config)) *Relay {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	r, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// groups hands every test its own multicast group in 239.255.77.0/24 and
// port in 20000-29999, so parallel tests never hear each other.
var groups atomic.Uint32

func newGroup() netip.AddrPort {
	n := groups.Add(1)
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, 77, byte(n)}), uint16(20000+(n*10)%10000))
}

type peer struct {
	t    testing.TB
	c    *net.UDPConn
	addr netip.AddrPort
}

// newPeer is a unicast endpoint on 127.0.0.1.
func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
}

// newPeerAt binds 127.0.0.1:port, for a source's RTCP port (port+1).
func newPeerAt(t testing.TB, port uint16) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
}

// newMulticastPeer receives group on interface lo.
func newMulticastPeer(t testing.TB, group netip.AddrPort) *peer {
	t.Helper()
	return &peer{t: t, c: mcast.JoinLo(t, group), addr: group}
}

func (p *peer) send(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next datagram, or nil after d.
func (p *peer) recv(d time.Duration) []byte {
	p.t.Helper()
	_ = p.c.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, 2048)
	n, _, err := p.c.ReadFromUDPAddrPort(b)
	if err != nil {
		return nil
	}
	return b[:n]
}

func (p *peer) mustRecv() []byte {
	p.t.Helper()
	b := p.recv(2 * time.Second)
	if b == nil {
		p.t.Fatalf("%v: nothing received", p.addr)
	}
	return b
}

// expectNext asserts that the next datagram p receives is want: what was
// sent before want was not forwarded (one flow keeps its order on one
// socket).
func (p *peer) expectNext(want []byte) {
	p.t.Helper()
	got := p.mustRecv()
	if string(got) != string(want) {
		p.t.Fatalf("%v: got %x, want %x", p.addr, got, want)
	}
}

// expectNone asserts that nothing arrives within d.
func (p *peer) expectNone(d time.Duration) {
	p.t.Helper()
	if b := p.recv(d); b != nil {
		p.t.Fatalf("%v: unexpected datagram %x", p.addr, b)
	}
}

func rtpPacket(ssrc uint32, pt uint8, seq uint16, payload string) []byte {
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
		Timestamp: uint32(seq) * 960, SSRC: ssrc}, Payload: []byte(payload)}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func rtcpAddr(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr(), a.Port()+1) }
