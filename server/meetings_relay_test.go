package server_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"huddle/internal/testutil"
	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

// newPeerPair binds two UDP sockets on 127.0.0.1 at ports P and P+1: a
// participant's RTP address and its RTCP address (port+1).
func newPeerPair(t *testing.T) (rtpPeer, rtcpPeer *udpPeer) {
	t.Helper()
	for range 100 {
		port := freeUDPPair(t)
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err != nil {
			a.Close()
			continue
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		return &udpPeer{t: t, c: a}, &udpPeer{t: t, c: b}
	}
	t.Fatal("no free UDP port pair")
	return nil, nil
}

func (p *udpPeer) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recvRaw returns the next datagram, or nil after d.
func recvRaw(c net.PacketConn, d time.Duration) []byte {
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// expectDatagram fails unless the next datagram c receives is want.
func expectDatagram(t *testing.T, what string, c net.PacketConn, want []byte) {
	t.Helper()
	if got := recvRaw(c, 2*time.Second); string(got) != string(want) {
		t.Fatalf("%s got %x, want %x", what, got, want)
	}
}

func rtcpBytes(t *testing.T, ps ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func plusOne(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr(), a.Port()+1) }

// TestMeetingRelayRTCP: through a real server, a registered source's sender
// reports (muxed on the RTP port, and from its port+1 to the relay's port+1)
// reach a subscriber and the track's multicast RTCP port; a subscriber's
// PLI, FIR and NACK (muxed, and from its port+1) reach the publisher of the
// SSRC they name, and nobody else's do.
func TestMeetingRelayRTCP(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.srv = testutil.StartServer(t, e.cfg)
	alice, bob, m, jr := bobJoinsAlice(t, e, "rtcp")
	relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackVideo])
	group := netip.MustParseAddrPort(jr.Multicast[protocol.TrackVideo])

	aliceOut, aliceOutRTCP := newPeerPair(t)
	bobIn, bobInRTCP := newPeerPair(t)
	stranger := newPeer(t)
	mcastRTCP := joinMulticast(t, plusOne(group).String())
	const ssrc = 5150
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackVideo, Source: aliceOut.addr(), SSRC: ssrc}, nil)
	call(t, bob, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackVideo, Address: bobIn.addr()}, nil)

	sr := rtcpBytes(t, &rtcp.SenderReport{SSRC: ssrc, NTPTime: 1 << 40, RTPTime: 9000, PacketCount: 1, OctetCount: 10},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc,
			Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "alice"}}}}})
	aliceOut.sendRaw(relay, sr)
	expectDatagram(t, "bob (SR muxed)", bobIn.c, sr)
	expectDatagram(t, "multicast RTCP port (SR muxed)", mcastRTCP, sr)
	aliceOutRTCP.sendRaw(plusOne(relay), sr)
	expectDatagram(t, "bob (SR on port+1)", bobIn.c, sr)
	expectDatagram(t, "multicast RTCP port (SR on port+1)", mcastRTCP, sr)

	pli := rtcpBytes(t, &rtcp.PictureLossIndication{SenderSSRC: 77, MediaSSRC: ssrc})
	fir := rtcpBytes(t, &rtcp.FullIntraRequest{SenderSSRC: 77, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: 1}}})
	nack := rtcpBytes(t, &rtcp.TransportLayerNack{SenderSSRC: 77, MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: 3}}})
	bobIn.sendRaw(relay, pli)
	expectDatagram(t, "alice (PLI muxed)", aliceOut.c, pli)
	bobIn.sendRaw(relay, fir)
	expectDatagram(t, "alice (FIR muxed)", aliceOut.c, fir)
	bobInRTCP.sendRaw(plusOne(relay), nack)
	expectDatagram(t, "alice (NACK on port+1)", aliceOut.c, nack)

	// Feedback from an address that subscribed nothing, or naming an SSRC
	// nobody registered, goes nowhere; a sender report with alice's SSRC
	// from another address neither.
	before := e.srv.Relay().Stats()
	stranger.sendRaw(relay, pli)
	bobIn.sendRaw(relay, rtcpBytes(t, &rtcp.PictureLossIndication{SenderSSRC: 77, MediaSSRC: ssrc + 1}))
	stranger.sendRaw(relay, sr)
	bobIn.sendRaw(relay, pli) // the marker: what came before it was dropped
	expectDatagram(t, "alice (the marker PLI)", aliceOut.c, pli)
	if b := recvRaw(bobIn.c, 100*time.Millisecond); b != nil {
		t.Fatalf("bob got %x from a spoofed sender report", b)
	}
	wait.For(t, 5*time.Second, "unregistered RTCP counted", func() bool {
		return e.srv.Relay().Stats().Unregistered >= before.Unregistered+3
	})
}

// TestMeetingMemberStopsAtOnce: a member who leaves, or is kicked, is not
// forwarded from the next packet on and receives nothing more, over a real
// server; a member who leaves and comes back must register again.
func TestMeetingMemberStopsAtOnce(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.srv = testutil.StartServer(t, e.cfg)
	alice, bob, m, jr := bobJoinsAlice(t, e, "leavers")
	carol, _ := e.newUser("carol")
	call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"carol"}}, nil)
	join(t, carol, m.Meeting)
	relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])
	id := protocol.MeetingID{Meeting: m.Meeting}

	aliceOut, aliceIn, bobOut, bobIn := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: aliceOut.addr(), SSRC: 1}, nil)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)
	register := func(who string) {
		t.Helper()
		call(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: bobOut.addr(), SSRC: 2}, nil)
		call(t, bob, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: bobIn.addr()}, nil)
		bobOut.send(relay, protocol.PayloadOpus, 2, 1, who+" speaks")
		if got := aliceIn.recv(2 * time.Second); got != who+" speaks" {
			t.Fatalf("alice got %q, want bob's packet", got)
		}
		aliceOut.send(relay, protocol.PayloadOpus, 1, 1, "alice speaks")
		if got := bobIn.recv(2 * time.Second); got != "alice speaks" {
			t.Fatalf("bob got %q, want alice's packet", got)
		}
	}
	// stopped checks that, right after the reply, bob's packets stop and
	// bob hears nothing, while alice's still reach the meeting.
	stopped := func(what string) {
		t.Helper()
		carolIn := newPeer(t)
		call(t, carol, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: carolIn.addr()}, nil)
		bobOut.send(relay, protocol.PayloadOpus, 2, 2, "bob after "+what)
		aliceOut.send(relay, protocol.PayloadOpus, 1, 2, "alice after "+what)
		// One source's packets stay in order on one relay socket, but two
		// sources may not: carol's next packet is alice's or bob's.
		for range 2 {
			if got := carolIn.recv(300 * time.Millisecond); got == "bob after "+what {
				t.Fatalf("bob's packet was forwarded after the %s", what)
			} else if got == "" {
				break
			}
		}
		if got := aliceIn.recv(100 * time.Millisecond); got != "" {
			t.Fatalf("alice got %q after bob's %s", got, what)
		}
		if got := bobIn.recv(100 * time.Millisecond); got != "" {
			t.Fatalf("bob still receives after his %s: %q", what, got)
		}
	}

	register("bob")
	call(t, bob, protocol.TypeMeetingLeave, id, nil)
	stopped("leave")

	// Back again: the old registration ended with the leave.
	join(t, bob, m.Meeting)
	bobOut.send(relay, protocol.PayloadOpus, 2, 3, "unregistered")
	if got := aliceIn.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("bob's source outlived his leave: alice got %q", got)
	}
	register("bob again")

	call(t, alice, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "bob"}, nil)
	stopped("kick")
}

// TestMeetingRelayDrops: a server's relay drops, and counts, packets over a
// source's rate (media.source_rate, media.source_burst), datagrams over
// media.max_packet, and garbage, from a registered source.
func TestMeetingRelayDrops(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Media.SourceRate, e.cfg.Media.SourceBurst = 1, 5
	e.cfg.Media.MaxPacket = 300
	e.srv = testutil.StartServer(t, e.cfg)
	_, _, _, relay, bobOut, aliceIn := bobSpeaksToAlice(t, e, "limits")

	before := e.srv.Relay().Stats()
	bobOut.sendRaw(relay, []byte("garbage that is no RTP at all"))
	big, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: protocol.PayloadOpus, SSRC: 9}, Payload: make([]byte, 400)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bobOut.sendRaw(relay, big)
	const sent = 20
	for seq := range uint16(sent) {
		bobOut.send(relay, protocol.PayloadOpus, 9, seq, "burst")
	}
	got := 0
	for aliceIn.recv(300*time.Millisecond) == "burst" {
		got++
	}
	// The burst passes, then one packet a second: 5, or 6 if the sending
	// took more than a second.
	if got < 5 || got > 6 {
		t.Fatalf("alice got %d of %d packets with a burst of 5 at 1/s", got, sent)
	}
	wait.For(t, 5*time.Second, "drops counted", func() bool {
		s := e.srv.Relay().Stats()
		return s.RateLimited-before.RateLimited == uint64(sent-got) &&
			s.Oversize-before.Oversize == 1 && s.Malformed-before.Malformed == 1
	})
}

// TestEndedMeetingFreesAddresses: with room for one meeting's addresses, a
// second live meeting is refused; once the first ends, a new one gets the
// same group and ports, and the ended meeting's source (address and SSRC)
// may be registered in it.
func TestEndedMeetingFreesAddresses(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	// A /30 has groups .1 to .3, but 10 ports are one meeting's.
	e.cfg.Media.MulticastRange = "239.255.99.0/30"
	e.cfg.Media.MulticastPorts = "20990-20999"
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	first := createMeeting(t, alice, "first")
	callErr(t, alice, protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "no room"}, protocol.CodeUnavailable)

	src, in := newPeer(t), newPeer(t)
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: first.Meeting, Track: protocol.TrackAudio, Source: src.addr(), SSRC: 77}, nil)
	call(t, alice, protocol.TypeMeetingEnd, protocol.MeetingID{Meeting: first.Meeting}, nil)
	relay := e.srv.MediaAddr()
	before := e.srv.Relay().Stats()
	src.send(relay, protocol.PayloadOpus, 77, 1, "to an ended meeting")
	wait.For(t, 5*time.Second, "unregistered", func() bool { return e.srv.Relay().Stats().Unregistered > before.Unregistered })

	second := createMeeting(t, alice, "second")
	for _, track := range protocol.Tracks {
		if second.Multicast[track] != first.Multicast[track] {
			t.Fatalf("second meeting's %s is %s, want the freed %s", track, second.Multicast[track], first.Multicast[track])
		}
	}
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: second.Meeting, Track: protocol.TrackAudio, Source: src.addr(), SSRC: 77}, nil)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: second.Meeting, Track: protocol.TrackAudio, Address: in.addr()}, nil)
	bob, _ := e.newUser("bob")
	call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: second.Meeting, Users: []string{"bob"}}, nil)
	join(t, bob, second.Meeting)
	bobIn := newPeer(t)
	call(t, bob, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: second.Meeting, Track: protocol.TrackAudio, Address: bobIn.addr()}, nil)
	src.send(relay, protocol.PayloadOpus, 77, 2, "to the second")
	if got := bobIn.recv(2 * time.Second); got != "to the second" {
		t.Fatalf("bob got %q from the reused source", got)
	}
}

// TestSSRCCollisionsRejected: inside a meeting an SSRC is one source's,
// whatever the track or member, and never the relay's own (the SSRC it
// sends meeting.say's T.140 with); both are refused at registration.
func TestSSRCCollisionsRejected(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.srv = testutil.StartServer(t, e.cfg)
	alice, bob, m, _ := bobJoinsAlice(t, e, "ssrc")
	a, b := newPeer(t), newPeer(t)
	call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: a.addr(), SSRC: 1234}, nil)
	callErr(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackVideo, Source: b.addr(), SSRC: 1234}, protocol.CodeConflict)
	callErr(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackScreen, Source: b.addr(), SSRC: 1234}, protocol.CodeConflict)

	textIn := newPeer(t)
	call(t, bob, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackText, Address: textIn.addr()}, nil)
	call(t, bob, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "which ssrc?"}, nil)
	var pkt rtp.Packet
	if err := pkt.Unmarshal(recvRaw(textIn.c, 2*time.Second)); err != nil {
		t.Fatalf("T.140 packet: %v", err)
	}
	for _, track := range protocol.Tracks[:2] { // its own track, and another
		callErr(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: track, Source: b.addr(), SSRC: pkt.SSRC}, protocol.CodeConflict)
	}
}

// TestSubscriptionAllowance: media.max_subscriptions counts the
// subscriptions a connection holds: asking again for one it has costs
// nothing, and those that a leave ended, or unsubscribed, are given back.
func TestSubscriptionAllowance(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Media.MaxSubscriptions = 2
	e.srv = testutil.StartServer(t, e.cfg)
	_, bob, m, _ := bobJoinsAlice(t, e, "allowance")
	a, b, c := newPeer(t), newPeer(t), newPeer(t)
	sub := func(track string, p *udpPeer) protocol.MediaSubscribe {
		return protocol.MediaSubscribe{Meeting: m.Meeting, Track: track, Address: p.addr()}
	}
	for range 3 {
		call(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackAudio, a), nil)
	}
	call(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackVideo, a), nil)
	callErr(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackAudio, b), protocol.CodeTooLarge)
	call(t, bob, protocol.TypeMediaUnsubscribe, sub(protocol.TrackVideo, a), nil)
	call(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackAudio, b), nil)
	callErr(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackAudio, c), protocol.CodeTooLarge)

	// A leave ends them all; back in, the connection has its whole allowance.
	call(t, bob, protocol.TypeMeetingLeave, protocol.MeetingID{Meeting: m.Meeting}, nil)
	join(t, bob, m.Meeting)
	call(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackAudio, c), nil)
	call(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackVideo, c), nil)
	callErr(t, bob, protocol.TypeMediaSubscribe, sub(protocol.TrackScreen, c), protocol.CodeTooLarge)
}
