package media

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// harness is a relay without sockets: a meeting with one registered
// source and one subscriber, and the RTP and RTCP workers' output
// recorded instead of written.
type harness struct {
	r        *Relay
	m        *Meeting
	rtp, ctl *worker
	sent     []sent
}

type sent struct {
	b  []byte
	to netip.AddrPort
}

var (
	hSource = netip.MustParseAddrPort("127.0.0.1:6000")
	hSub    = netip.MustParseAddrPort("127.0.0.1:6100")
	hNobody = netip.MustParseAddrPort("127.0.0.1:6200")
)

const (
	hSSRC = 0x01020304
	hPT   = ptOpus
)

func newHarness(t testing.TB, subscribers int) *harness {
	cfg := testConfig()
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	cfg.SourceRate, cfg.SourceBurst = 1e9, 1e9
	h := &harness{r: newRelay(cfg)}
	var mc [Tracks]netip.AddrPort
	mc[trackAudio] = netip.MustParseAddrPort("239.255.77.250:20000")
	h.m = h.r.Open(1, mc)
	must(t, h.m.Register(Source{Member: "alice", Track: trackAudio, Addr: hSource, SSRC: hSSRC, PayloadType: hPT}))
	for i := range subscribers {
		a := netip.AddrPortFrom(hSub.Addr(), hSub.Port()+uint16(2*i))
		must(t, h.m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: a}))
	}
	h.rtp, h.ctl = h.r.workers[0], h.r.workers[cfg.Workers]
	for _, w := range []*worker{h.rtp, h.ctl} {
		w.write = func(ms []ipv4.Message) (int, error) {
			for _, m := range ms {
				h.sent = append(h.sent, sent{bytes.Clone(m.Buffers[0]), m.Addr.(interface{ AddrPort() netip.AddrPort }).AddrPort()})
			}
			return len(ms), nil
		}
	}
	return h
}

// ingest hands b to a worker as the socket loop would and returns what it
// sent.
func (h *harness) ingest(w *worker, b []byte, from netip.AddrPort) []sent {
	h.sent = h.sent[:0]
	w.handle(b, from, h.r.now())
	w.flush()
	return h.sent
}

func FuzzIngest(f *testing.F) {
	f.Add(rtpPacket(hSSRC, hPT, 1, "opus"))
	f.Add(rtpPacket(hSSRC, 96, 1, "vp8"))
	f.Add([]byte{0x80})
	f.Add([]byte("garbage"))
	for _, ps := range [][]rtcp.Packet{
		{&rtcp.SenderReport{SSRC: hSSRC}, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: hSSRC}}}},
		{&rtcp.ReceiverReport{SSRC: 9}, &rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: hSSRC}},
		{&rtcp.FullIntraRequest{SenderSSRC: 9, FIR: []rtcp.FIREntry{{SSRC: hSSRC}}}},
		{&rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: hSSRC, Nacks: []rtcp.NackPair{{PacketID: 1}}}},
		{&rtcp.Goodbye{Sources: []uint32{hSSRC}}},
	} {
		b, err := rtcp.Marshal(ps)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := newHarness(f, 2)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range []struct {
			w    *worker
			from netip.AddrPort
		}{
			{h.rtp, hSource}, {h.rtp, hSub}, {h.rtp, hNobody},
			{h.ctl, rtcpAddr(hSource)}, {h.ctl, rtcpAddr(hSub)}, {h.ctl, rtcpAddr(hNobody)},
		} {
			out := h.ingest(in.w, b, in.from)
			if len(out) == 0 {
				continue
			}
			if in.from.Addr() == hNobody.Addr() && in.from.Port() >= hNobody.Port() {
				t.Fatalf("forwarded %x from an unregistered address", b)
			}
			for _, s := range out {
				if !bytes.Equal(s.b, b) {
					t.Fatalf("forwarded %x, changed from %x", s.b, b)
				}
			}
			checkForwardable(t, b, in.w.rtcp, in.from)
		}
	})
}

// checkForwardable fails unless b is RTP of the registered source with its
// payload type, or RTCP that pion parses.
func checkForwardable(t *testing.T, b []byte, rtcpPort bool, from netip.AddrPort) {
	if !rtcpPort && (b[1] < 192 || b[1] > 223) {
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil || p.Version != 2 || p.SSRC != hSSRC || p.PayloadType != hPT || from != hSource {
			t.Fatalf("forwarded RTP %x (%v) from %v: %+v", b, err, from, p.Header)
		}
		return
	}
	if _, err := rtcp.Unmarshal(b); err != nil {
		t.Fatalf("forwarded RTCP %x that pion rejects: %v", b, err)
	}
}
