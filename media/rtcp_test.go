package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"huddle/internal/testutil/wait"
)

func marshalRTCP(t *testing.T, ps ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func senderReport(t *testing.T, ssrc uint32) []byte {
	return marshalRTCP(t, &rtcp.SenderReport{SSRC: ssrc, NTPTime: 1 << 40, RTPTime: 960, PacketCount: 1, OctetCount: 4},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc,
			Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "alice"}}}}})
}

func TestRTCPSenderReportsAndFeedback(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	m, g := openAudio(t, r, 1)
	mcastRTCP := newMulticastPeer(t, rtcpAddr(g))
	alice, bob, mallory := newPeer(t), newPeer(t), newPeer(t)
	aliceRTCP, bobRTCP := newPeerAt(t, alice.addr.Port()+1), newPeerAt(t, bob.addr.Port()+1)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}))

	// A sender report muxed on the RTP port and one on port+1 reach the
	// subscriber (muxed, on its address) and the multicast RTCP port.
	sr := senderReport(t, 1)
	alice.send(r.Addr(), sr)
	bob.expectNext(sr)
	mcastRTCP.expectNext(sr)
	aliceRTCP.send(rtcpAddr(r.Addr()), sr)
	bob.expectNext(sr)
	mcastRTCP.expectNext(sr)

	// PLI muxed and on port+1, and FIR, and NACK, reach the source.
	pli := marshalRTCP(t, &rtcp.PictureLossIndication{SenderSSRC: 99, MediaSSRC: 1})
	bob.send(r.Addr(), pli)
	alice.expectNext(pli)
	bobRTCP.send(rtcpAddr(r.Addr()), pli)
	alice.expectNext(pli)
	fir := marshalRTCP(t, &rtcp.FullIntraRequest{SenderSSRC: 99, FIR: []rtcp.FIREntry{{SSRC: 1, SequenceNumber: 1}}})
	bob.send(r.Addr(), fir)
	alice.expectNext(fir)
	nack := marshalRTCP(t, &rtcp.TransportLayerNack{SenderSSRC: 99, MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 5}}})
	bob.send(r.Addr(), nack)
	alice.expectNext(nack)

	// Not forwarded: an SR with alice's SSRC from another address, a PLI
	// from a non-subscriber, an SR with another SSRC from alice, a
	// receiver report alone, broken RTCP.
	mallory.send(r.Addr(), sr)
	mallory.send(r.Addr(), pli)
	alice.send(r.Addr(), senderReport(t, 2))
	alice.send(r.Addr(), marshalRTCP(t, &rtcp.ReceiverReport{SSRC: 1}))
	alice.send(r.Addr(), sr[:len(sr)-4])
	last := rtpPacket(1, ptOpus, 1, "marker")
	alice.send(r.Addr(), last)
	bob.expectNext(last)
	mallory.send(r.Addr(), pli)
	bob.send(r.Addr(), marshalRTCP(t, &rtcp.PictureLossIndication{SenderSSRC: 99, MediaSSRC: 77}))
	bob.send(r.Addr(), pli)
	alice.expectNext(pli)
	wait.For(t, 5*time.Second, "rtcp counters", func() bool {
		s := r.Stats()
		return s.RTCPIn == 14 && s.FeedbackRouted == 5 && s.Unregistered == 6 && s.Malformed == 1
	})
}

func TestMeetingSend(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	g := newGroup()
	var mc [Tracks]netip.AddrPort
	mc[0] = g
	m := r.Open(7, mc)
	defer m.Close()
	mcast := newMulticastPeer(t, g)
	bob := newPeer(t)
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: 0, Addr: bob.addr}))
	var prev, first rtp.Packet
	for i := range 3 {
		must(t, m.Send(0, 98, []byte("hello")))
		for _, p := range []*peer{bob, mcast} {
			var pkt rtp.Packet
			if err := pkt.Unmarshal(p.mustRecv()); err != nil {
				t.Fatal(err)
			}
			if pkt.Version != 2 || pkt.PayloadType != 98 || string(pkt.Payload) != "hello" {
				t.Fatalf("packet %+v", pkt)
			}
			if i == 0 && p == bob {
				first = pkt
			}
			if pkt.SSRC != first.SSRC || pkt.SequenceNumber != first.SequenceNumber+uint16(i) || pkt.Timestamp-first.Timestamp > 1000 {
				t.Fatalf("packet %d: %v, first %v", i, pkt.Header, first.Header)
			}
			prev = pkt
		}
	}
	if err := m.Send(0, 0, []byte("x")); err == nil {
		t.Fatal("unknown payload type accepted")
	}
	// A source may not take the relay's own SSRC.
	if err := m.Register(Source{Member: "alice", Track: 0, Addr: bob.addr, SSRC: prev.SSRC, PayloadType: 98}); err != ErrSSRCTaken {
		t.Fatalf("relay ssrc: %v", err)
	}
	m.Close()
	if err := m.Send(0, 98, []byte("x")); err != ErrClosed {
		t.Fatalf("send after close: %v", err)
	}
}
