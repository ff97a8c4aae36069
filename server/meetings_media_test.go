package server_test

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"

	"huddle/internal/testutil"
	"huddle/internal/testutil/mcast"
	"huddle/protocol"
)

// udpPeer is a participant's UDP socket on 127.0.0.1.
type udpPeer struct {
	t *testing.T
	c *net.UDPConn
}

func newPeer(t *testing.T) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, c: c}
}

func (p *udpPeer) addr() string { return p.c.LocalAddr().String() }

// send sends one RTP packet to the relay.
func (p *udpPeer) send(to netip.AddrPort, pt uint8, ssrc uint32, seq uint16, payload string) {
	p.t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte(payload)}
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next RTP packet's payload, or "" after d.
func (p *udpPeer) recv(d time.Duration) string {
	return recvRTP(p.t, p.c, d)
}

func recvRTP(t *testing.T, c net.PacketConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 2048)
	for {
		_ = c.SetReadDeadline(time.Now().Add(d))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return ""
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil || buf[1] >= 192 && buf[1] <= 223 {
			continue // RTCP
		}
		return string(pkt.Payload)
	}
}

// joinMulticast listens to a meeting track's multicast group on lo.
func joinMulticast(t *testing.T, addr string) net.PacketConn {
	t.Helper()
	return mcast.JoinLo(t, netip.MustParseAddrPort(addr))
}

// waitForward sends packets from p until want arrives at recv (the relay
// may be restarting), failing after 5 s.
func waitForward(t *testing.T, p *udpPeer, relay netip.AddrPort, ssrc uint32, recv func(time.Duration) string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for seq := uint16(100); time.Now().Before(deadline); seq++ {
		p.send(relay, protocol.PayloadOpus, ssrc, seq, "ping")
		if recv(50*time.Millisecond) == "ping" {
			return
		}
	}
	t.Fatal("the relay did not forward within 5s")
}

// bobJoinsAlice has alice create meeting name and invite bob, who joins;
// it returns their connections, the meeting and bob's join reply.
func bobJoinsAlice(t *testing.T, e *env, name string) (alice, bob *clientT, m protocol.MeetingInfo, jr protocol.MeetingJoinReply) {
	t.Helper()
	alice, _ = e.newUser("alice")
	bob, _ = e.newUser("bob")
	m = createMeeting(t, alice, name)
	call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob"}}, nil)
	return alice, bob, m, join(t, bob, m.Meeting)
}

// bobSpeaksToAlice is bobJoinsAlice, then bob registers an audio source
// with SSRC 9 (bobOut) and alice subscribes audio (aliceIn); it returns the
// relay's audio address too.
func bobSpeaksToAlice(t *testing.T, e *env, name string) (alice, bob *clientT, m protocol.MeetingInfo, relay netip.AddrPort, bobOut, aliceIn *udpPeer) {
	t.Helper()
	alice, bob, m, jr := bobJoinsAlice(t, e, name)
	relay = netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])
	bobOut, aliceIn = newPeer(t), newPeer(t)
	call(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: bobOut.addr(), SSRC: 9}, nil)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)
	return alice, bob, m, relay, bobOut, aliceIn
}

func TestMeetingRelay(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.srv = testutil.StartServer(t, e.cfg)
	alice, bob, m, jr := bobJoinsAlice(t, e, "media")
	relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])

	bobOut, bobIn, aliceIn, stranger := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
	mcast := joinMulticast(t, jr.Multicast[protocol.TrackAudio])
	call(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: bobOut.addr(), SSRC: 1111}, nil)
	call(t, bob, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: bobIn.addr()}, nil)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)
	// Registration rules: the SSRC is taken; a source needs a joined member.
	callErr(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: stranger.addr(), SSRC: 1111}, protocol.CodeConflict)
	carol, _ := e.newUser("carol")
	callErr(t, carol, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: stranger.addr(), SSRC: 7}, protocol.CodeForbidden)
	callErr(t, carol, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: stranger.addr()}, protocol.CodeForbidden)

	bobOut.send(relay, protocol.PayloadOpus, 1111, 1, "hello")
	if got := aliceIn.recv(2 * time.Second); got != "hello" {
		t.Fatalf("alice's subscription got %q", got)
	}
	if got := recvRTP(t, mcast, 2*time.Second); got != "hello" {
		t.Fatalf("the multicast group got %q", got)
	}
	if got := bobIn.recv(100 * time.Millisecond); got != "" {
		t.Fatalf("bob heard himself: %q", got)
	}

	// Dropped and counted: an unregistered source, a wrong payload type.
	before := e.srv.Relay().Stats()
	stranger.send(relay, protocol.PayloadOpus, 1111, 2, "spoof")
	bobOut.send(relay, protocol.PayloadVP8, 1111, 3, "video on the audio track")
	if got := aliceIn.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("forwarded %q", got)
	}
	after := e.srv.Relay().Stats()
	if after.Unregistered <= before.Unregistered || after.WrongPayload <= before.WrongPayload {
		t.Fatalf("drops not counted: before %+v after %+v", before, after)
	}

	// A crashed meeting actor is restarted and keeps the forwarding; so
	// does a relay whose sockets failed.
	e.srv.Hub().Crash("meeting/" + strconv.FormatInt(m.Meeting, 10))
	call(t, bob, protocol.TypeMeetingMembers, protocol.MeetingID{Meeting: m.Meeting}, nil)
	waitForward(t, bobOut, relay, 1111, aliceIn.recv)
	e.srv.Relay().Kill()
	waitForward(t, bobOut, relay, 1111, aliceIn.recv)

	// The T.140 text track carries meeting.say.
	textIn := newPeer(t)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackText, Address: textIn.addr()}, nil)
	call(t, bob, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "can you hear me"}, nil)
	if got := textIn.recv(2 * time.Second); got != "bob: can you hear me\r\n" {
		t.Fatalf("T.140 text track got %q", got)
	}
	// and the caption track meeting.caption, and neither the other's.
	captionIn := newPeer(t)
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackCaption, Address: captionIn.addr()}, nil)
	call(t, bob, protocol.TypeMeetingCaption, protocol.MeetingSay{Meeting: m.Meeting, Text: "[music]"}, nil)
	if got := captionIn.recv(2 * time.Second); got != "bob: [music]\r\n" {
		t.Fatalf("T.140 caption track got %q", got)
	}
	if got := textIn.recv(100 * time.Millisecond); got != "" {
		t.Fatalf("a caption went to the text track: %q", got)
	}

	// A subscription ends with its connection.
	alice.Close()
	time.Sleep(50 * time.Millisecond)
	bobOut.send(relay, protocol.PayloadOpus, 1111, 500, "after close")
	if got := aliceIn.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("a closed connection's subscription got %q", got)
	}
	alice, _ = e.login("alice")
	call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)
	waitForward(t, bobOut, relay, 1111, aliceIn.recv)

	// A kicked member's packets stop at once.
	call(t, alice, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "bob"}, nil)
	bobOut.send(relay, protocol.PayloadOpus, 1111, 600, "after kick")
	if got := aliceIn.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("a kicked member's packet was forwarded: %q", got)
	}
}

func TestMeetingRestoredAfterRestart(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			cfg.Media.Port = freeUDPPair(t)
			e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
			alice, _ := e.newUser("alice")
			e.register(e.dial(), "bob")
			m := createMeeting(t, alice, "long running")
			call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"bob"}}, nil)
			was := join(t, alice, m.Meeting)
			var said protocol.MeetingSayReply
			call(t, alice, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "before the restart"}, &said)
			src := newPeer(t)
			call(t, alice, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: src.addr(), SSRC: 42}, nil)
			alice.Close()
			testutil.StopServer(t, e.srv)

			e.srv = testutil.StartServer(t, cfg)
			mcast := joinMulticast(t, m.Multicast[protocol.TrackAudio])
			// The source registered before the restart is forwarded again
			// before anyone asks for the meeting.
			relay := e.srv.MediaAddr()
			waitForward(t, src, relay, 42, func(d time.Duration) string { return recvRTP(t, mcast, d) })
			alice, _ = e.login("alice")
			jr := join(t, alice, m.Meeting)
			if !maps.Equal(jr.Multicast, was.Multicast) || !maps.Equal(jr.Relay, was.Relay) {
				t.Fatalf("addresses changed over the restart: relay %v multicast %v, were %v %v", jr.Relay, jr.Multicast, was.Relay, was.Multicast)
			}
			wantMembers(t, "members after the restart", jr.Members, "alice:joined", "bob:invited")
			// The chat was stored: its sequence goes on.
			call(t, alice, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "after it"}, &said)
			if said.Seq != 2 {
				t.Fatalf("meeting.say after the restart: seq %d, want 2", said.Seq)
			}
			// The invitation made before it is in bob's list, and he may join.
			bob, _ := e.login("bob")
			var list protocol.MeetingListReply
			call(t, bob, protocol.TypeMeetingList, protocol.MeetingList{}, &list)
			if len(list.Meetings) != 1 || list.Meetings[0].Meeting != m.Meeting || list.Meetings[0].Status != protocol.StatusInvited {
				t.Fatalf("bob's meeting.list after the restart = %+v", list.Meetings)
			}
			if bj := join(t, bob, m.Meeting); !maps.Equal(bj.Multicast, was.Multicast) {
				t.Fatalf("bob joined with %v, want %v", bj.Multicast, was.Multicast)
			}
			// and the pool knows they are taken.
			if other := createMeeting(t, alice, "other"); other.Multicast[protocol.TrackAudio] == m.Multicast[protocol.TrackAudio] {
				t.Fatalf("a new meeting got the restored meeting's address %s", other.Multicast[protocol.TrackAudio])
			}
		})
	}
}

// freeUDPPair finds a port P with P and P+1 free for UDP on 127.0.0.1.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		a.Close()
		if err == nil {
			b.Close()
			return port
		}
	}
	t.Fatal("no free UDP port pair")
	return 0
}

func TestCalls(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Meetings.RingTimeout = 300 * time.Millisecond
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	bob, _ := e.newUser("bob")
	bob2, _ := e.login("bob") // a second device rings too
	call(t, alice, protocol.TypeFriendAdd, protocol.FriendTarget{User: "bob"}, nil)
	call(t, bob, protocol.TypeFriendAccept, protocol.FriendTarget{User: "alice"}, nil)

	ring := func() protocol.CallInfo {
		t.Helper()
		var cs protocol.CallStartReply
		call(t, alice, protocol.TypeCallStart, protocol.CallStart{User: "bob"}, &cs)
		var rung protocol.CallInfo
		expectPush(t, bob, protocol.PushCallRing, &rung)
		expectPush(t, bob2, protocol.PushCallRing, nil)
		if rung != cs.CallInfo || cs.Caller != "alice" || cs.Callee != "bob" || !cs.CalleeOnline {
			t.Fatalf("call.ring %+v, call.start %+v", rung, cs)
		}
		return cs.CallInfo
	}
	ended := func(c *clientT, reason string) {
		t.Helper()
		var ce protocol.CallEnded
		expectPush(t, c, protocol.PushCallEnded, &ce)
		if ce.Reason != reason {
			t.Fatalf("call.ended %+v, want reason %s", ce, reason)
		}
	}

	// Accepted: both are joined; either hanging up ends it for both.
	ci := ring()
	callErr(t, alice, protocol.TypeCallAccept, protocol.MeetingID{Meeting: ci.Meeting}, protocol.CodeForbidden)
	var jr protocol.MeetingJoinReply
	call(t, bob, protocol.TypeCallAccept, protocol.MeetingID{Meeting: ci.Meeting}, &jr)
	wantMembers(t, "accepted call", jr.Members, "alice:joined", "bob:joined")
	expectMembers(t, alice, "alice:joined", "bob:joined")
	noPush(t, alice, protocol.PushCallEnded, 500*time.Millisecond) // no ring timeout once answered
	call(t, bob, protocol.TypeMeetingLeave, protocol.MeetingID{Meeting: ci.Meeting}, nil)
	ended(alice, protocol.CallHangup)

	// Kicking the other side hangs up too: a call is never left with one.
	ci = ring()
	call(t, bob, protocol.TypeCallAccept, protocol.MeetingID{Meeting: ci.Meeting}, nil)
	expectMembers(t, alice, "alice:joined", "bob:joined")
	call(t, alice, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: ci.Meeting, User: "bob"}, nil)
	ended(alice, protocol.CallHangup)
	callErr(t, bob, protocol.TypeMeetingJoin, protocol.MeetingID{Meeting: ci.Meeting}, protocol.CodeNotFound)

	// Declined.
	ci = ring()
	call(t, bob2, protocol.TypeCallDecline, protocol.MeetingID{Meeting: ci.Meeting}, nil)
	ended(alice, protocol.CallDeclined)
	callErr(t, bob, protocol.TypeCallAccept, protocol.MeetingID{Meeting: ci.Meeting}, protocol.CodeNotFound)

	// Not answered; a session opened after the timeout is not rung.
	ci = ring()
	ended(alice, protocol.CallTimeout)
	ended(bob, protocol.CallTimeout)
	bob3, _ := e.login("bob")
	noPush(t, bob3, protocol.PushCallRing, 200*time.Millisecond)
	bob3.Close()

	// Offline: the reply says so, and the call rings (and times out) all the same.
	bob.Close()
	bob2.Close()
	for p := (protocol.Presence{Online: true}); p.Online; { // the greeting at the acceptance comes first
		expectPush(t, alice, protocol.PushPresence, &p)
	}
	var cs protocol.CallStartReply
	call(t, alice, protocol.TypeCallStart, protocol.CallStart{User: "bob"}, &cs)
	if cs.CalleeOnline {
		t.Fatalf("call.start to an offline friend: %+v", cs)
	}
	ended(alice, protocol.CallTimeout)

	// Only friends.
	e.newUser("mallory")
	callErr(t, alice, protocol.TypeCallStart, protocol.CallStart{User: "mallory"}, protocol.CodeForbidden)
}

// TestCallToOfflineFriend: call.start says the callee is offline; a
// session the callee opens while it rings gets call.ring then, finds the
// call in meeting.list, and may answer it; once answered, a new session is
// not rung.
func TestCallToOfflineFriend(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.srv = testutil.StartServer(t, e.cfg) // the default ring timeout, 30s
	alice, _ := e.newUser("alice")
	bob, _ := e.newUser("bob")
	call(t, alice, protocol.TypeFriendAdd, protocol.FriendTarget{User: "bob"}, nil)
	call(t, bob, protocol.TypeFriendAccept, protocol.FriendTarget{User: "alice"}, nil)
	bob.Close()
	for p := (protocol.Presence{Online: true}); p.Online; { // the greeting at the acceptance comes first
		expectPush(t, alice, protocol.PushPresence, &p)
	}
	var cs protocol.CallStartReply
	call(t, alice, protocol.TypeCallStart, protocol.CallStart{User: "bob"}, &cs)
	if cs.CalleeOnline || cs.Callee != "bob" {
		t.Fatalf("call.start to an offline friend: %+v", cs)
	}
	bob, _ = e.login("bob")
	var rung protocol.CallInfo
	expectPush(t, bob, protocol.PushCallRing, &rung)
	if rung != cs.CallInfo {
		t.Fatalf("call.ring on the session opened while it rang: %+v, want %+v", rung, cs.CallInfo)
	}
	var ml protocol.MeetingListReply
	call(t, bob, protocol.TypeMeetingList, protocol.MeetingList{}, &ml)
	if !slices.ContainsFunc(ml.Meetings, func(m protocol.MeetingInfo) bool {
		return m.Meeting == cs.Meeting && m.Kind == protocol.KindCall && m.Status == protocol.StatusInvited
	}) {
		t.Fatalf("bob's meetings while alice's call rings: %+v", ml.Meetings)
	}
	var jr protocol.MeetingJoinReply
	call(t, bob, protocol.TypeCallAccept, protocol.MeetingID{Meeting: cs.Meeting}, &jr)
	expectMembers(t, alice, "alice:joined", "bob:joined")
	bob2, _ := e.login("bob")
	noPush(t, bob2, protocol.PushCallRing, 200*time.Millisecond)
}

// With media.multicast off the server names no multicast addresses, and
// meeting.sdp, which describes only multicast streams, says why not.
func TestMulticastOffNamesNoGroups(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Media.Multicast = false
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ := e.newUser("alice")
	var m protocol.MeetingInfo
	call(t, alice, protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "quiet"}, &m)
	if m.Meeting <= 0 || len(m.Multicast) != 0 {
		t.Fatalf("meeting.create = %+v, want no multicast", m)
	}
	var jr protocol.MeetingJoinReply
	call(t, alice, protocol.TypeMeetingJoin, protocol.MeetingID{Meeting: m.Meeting}, &jr)
	if len(jr.Multicast) != 0 || len(jr.Relay) != len(protocol.Tracks) {
		t.Fatalf("meeting.join: relay %v, multicast %v", jr.Relay, jr.Multicast)
	}
	var list protocol.MeetingListReply
	call(t, alice, protocol.TypeMeetingList, protocol.MeetingList{}, &list)
	if len(list.Meetings) != 1 || len(list.Meetings[0].Multicast) != 0 {
		t.Fatalf("meeting.list = %+v", list.Meetings)
	}
	callErr(t, alice, protocol.TypeMeetingSDP, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeUnavailable)
}
