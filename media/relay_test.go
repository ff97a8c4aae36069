package media

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"huddle/internal/testutil/wait"
)

const (
	trackAudio = 1
	ptOpus     = 111
)

func openAudio(t *testing.T, r *Relay, id int64) (*Meeting, netip.AddrPort) {
	t.Helper()
	g := newGroup()
	var mc [Tracks]netip.AddrPort
	mc[trackAudio] = g
	m := r.Open(id, mc)
	t.Cleanup(m.Close)
	return m, g
}

func TestForwardToMulticastAndSubscribersNotSelf(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	m, g := openAudio(t, r, 1)
	mcast := newMulticastPeer(t, g)
	alice, bob, carol, aliceRx := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
	if err := m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1111, PayloadType: ptOpus}); err != nil {
		t.Fatal(err)
	}
	for i, s := range []Subscriber{
		{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr},
		{Member: "carol", Conn: 3, Track: trackAudio, Addr: carol.addr},
		{Member: "alice", Conn: 1, Track: trackAudio, Addr: aliceRx.addr},
		{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}, // idempotent
	} {
		if err := m.Subscribe(s); err != nil {
			t.Fatalf("subscribe %d: %v", i, err)
		}
	}
	for seq := range uint16(3) {
		p := rtpPacket(1111, ptOpus, seq, "opus")
		alice.send(r.Addr(), p)
		mcast.expectNext(p)
		bob.expectNext(p)
		carol.expectNext(p)
	}
	aliceRx.expectNone(50 * time.Millisecond)
	wait.For(t, 5*time.Second, "stats", func() bool {
		s := r.Stats()
		return s.Received == 3 && s.Forwarded == 9
	})
	if got := m.Stats().Forwarded[trackAudio]; got != 9 {
		t.Fatalf("meeting forwarded %d, want 9", got)
	}
}

func TestDropsAreCounted(t *testing.T) {
	t.Parallel()
	r := startRelay(t, func(c *Config) { c.MaxPacket = 200 })
	m, g := openAudio(t, r, 1)
	mcast := newMulticastPeer(t, g)
	alice, mallory, bob := newPeer(t), newPeer(t), newPeer(t)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 7, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}))

	mallory.send(r.Addr(), rtpPacket(7, ptOpus, 1, "spoofed ssrc, other address")) // Unregistered
	alice.send(r.Addr(), rtpPacket(8, ptOpus, 1, "other ssrc"))                    // Unregistered
	alice.send(r.Addr(), rtpPacket(7, 96, 2, "vp8 on an opus source"))             // WrongPayload
	alice.send(r.Addr(), []byte{0x12, 0x34, 0x56})                                 // Malformed: short
	alice.send(r.Addr(), []byte("garbage bytes that are not rtp!!"))               // Malformed: version
	alice.send(r.Addr(), rtpPacket(7, ptOpus, 3, string(make([]byte, 300))))       // Oversize
	ok := rtpPacket(7, ptOpus, 4, "fine")
	alice.send(r.Addr(), ok)
	bob.expectNext(ok)
	mcast.expectNext(ok)
	wait.For(t, 5*time.Second, "drop counters", func() bool {
		s := r.Stats()
		return s.Received == 7 && s.Unregistered == 2 && s.WrongPayload == 1 && s.Malformed == 2 &&
			s.Oversize == 1 && s.Forwarded == 2
	})
	if ms := m.Stats(); ms.WrongPayload != 1 || ms.Forwarded[trackAudio] != 2 {
		t.Fatalf("meeting stats %+v", ms)
	}
}

func TestRemoveMemberAndDropConn(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	m, _ := openAudio(t, r, 1)
	alice, bob, bob2, carol := newPeer(t), newPeer(t), newPeer(t), newPeer(t)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1, PayloadType: ptOpus}))
	must(t, m.Register(Source{Member: "carol", Track: trackAudio, Addr: carol.addr, SSRC: 3, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 20, Track: trackAudio, Addr: bob.addr}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 21, Track: trackAudio, Addr: bob2.addr}))
	must(t, m.Subscribe(Subscriber{Member: "alice", Conn: 10, Track: trackAudio, Addr: alice.addr}))

	p := rtpPacket(1, ptOpus, 1, "a1")
	alice.send(r.Addr(), p)
	bob.expectNext(p)
	bob2.expectNext(p)

	// DropConn removes only connection 20's subscription.
	r.DropConn(20)
	p = rtpPacket(1, ptOpus, 2, "a2")
	alice.send(r.Addr(), p)
	bob2.expectNext(p)
	c := rtpPacket(3, ptOpus, 1, "c1")
	carol.send(r.Addr(), c)
	bob2.expectNext(c)
	alice.expectNext(c)
	bob.expectNone(50 * time.Millisecond)

	// Alice leaves: her packets stop and her subscription stops receiving.
	m.RemoveMember("alice")
	before := r.Stats().Unregistered
	alice.send(r.Addr(), rtpPacket(1, ptOpus, 3, "a3 after leave"))
	c = rtpPacket(3, ptOpus, 2, "c2")
	carol.send(r.Addr(), c)
	bob2.expectNext(c) // a3 was not forwarded
	alice.expectNone(50 * time.Millisecond)
	wait.For(t, 5*time.Second, "unregistered", func() bool { return r.Stats().Unregistered == before+1 })
}

func TestRegistrationConflicts(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	m1, _ := openAudio(t, r, 1)
	m2, _ := openAudio(t, r, 2)
	a := netip.MustParseAddrPort("127.0.0.1:5000")
	b := netip.MustParseAddrPort("127.0.0.1:5002")
	must(t, m1.Register(Source{Member: "alice", Track: trackAudio, Addr: a, SSRC: 42, PayloadType: ptOpus}))
	// Same registration again: fine.
	must(t, m1.Register(Source{Member: "alice", Track: trackAudio, Addr: a, SSRC: 42, PayloadType: ptOpus}))
	if err := m1.Register(Source{Member: "bob", Track: trackAudio, Addr: b, SSRC: 42, PayloadType: ptOpus}); !errors.Is(err, ErrSSRCTaken) {
		t.Fatalf("ssrc collision: %v", err)
	}
	if err := m2.Register(Source{Member: "bob", Track: trackAudio, Addr: a, SSRC: 42, PayloadType: ptOpus}); !errors.Is(err, ErrSourceTaken) {
		t.Fatalf("source in two meetings: %v", err)
	}
	// The same SSRC from another address in another meeting is fine.
	must(t, m2.Register(Source{Member: "bob", Track: trackAudio, Addr: b, SSRC: 42, PayloadType: ptOpus}))
	if !m1.Unregister(trackAudio, 42) || m1.Unregister(trackAudio, 42) {
		t.Fatal("unregister")
	}
	m2.Unregister(trackAudio, 42)
	must(t, m2.Register(Source{Member: "bob", Track: trackAudio, Addr: a, SSRC: 42, PayloadType: ptOpus}))
	m1.Close()
	m1.Close()
	if err := m1.Register(Source{Member: "alice", Track: trackAudio, Addr: a, SSRC: 43, PayloadType: ptOpus}); !errors.Is(err, ErrClosed) {
		t.Fatalf("register after close: %v", err)
	}
	if err := m1.Subscribe(Subscriber{Member: "alice", Track: trackAudio, Addr: a}); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	r := startRelay(t, func(c *Config) { c.SourceRate = 1; c.SourceBurst = 5 })
	m, _ := openAudio(t, r, 1)
	alice, bob := newPeer(t), newPeer(t)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}))
	for seq := range uint16(20) {
		alice.send(r.Addr(), rtpPacket(1, ptOpus, seq, "x"))
	}
	for range 5 {
		bob.mustRecv()
	}
	wait.For(t, 5*time.Second, "rate limited", func() bool { return r.Stats().RateLimited == 15 })
	bob.expectNone(20 * time.Millisecond)
	if ms := m.Stats(); ms.RateLimited != 15 || ms.Forwarded[trackAudio] != 10 { // bob and multicast
		t.Fatalf("meeting stats %+v", ms)
	}
}

// aliceToBob opens a meeting on r where alice's SSRC 1 reaches bob's
// subscription, and checks that one packet does.
func aliceToBob(t *testing.T, r *Relay) (m *Meeting, alice, bob *peer) {
	t.Helper()
	m, _ = openAudio(t, r, 1)
	alice, bob = newPeer(t), newPeer(t)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}))
	p := rtpPacket(1, ptOpus, 0, "before")
	alice.send(r.Addr(), p)
	bob.expectNext(p)
	return m, alice, bob
}

func TestKillRestarts(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	_, alice, bob := aliceToBob(t, r)
	r.Kill()
	// Until the workers are back, datagrams to a closed port are lost;
	// keep sending until one comes through.
	deadline := time.Now().Add(5 * time.Second)
	for seq := uint16(1); ; seq++ {
		if time.Now().After(deadline) {
			t.Fatal("relay did not forward again after Kill")
		}
		alice.send(r.Addr(), rtpPacket(1, ptOpus, seq, "after"))
		if b := bob.recv(20 * time.Millisecond); b != nil {
			break
		}
	}
	if s := r.Stats(); s.Restarts < uint64(2*testConfig().Workers) {
		t.Fatalf("restarts %d", s.Restarts)
	}
}

// A panic while handling a packet (here: a meeting without a view, which
// no code path makes) costs the worker, not the relay: its supervisor
// restarts it and forwarding goes on.
func TestPanicRestartsWorker(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	m, alice, bob := aliceToBob(t, r)

	view := m.view.Swap(nil)
	alice.send(r.Addr(), rtpPacket(1, ptOpus, 1, "boom"))
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Restarts == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no worker restart after a panic")
		}
		time.Sleep(time.Millisecond)
	}
	m.view.Store(view)
	for seq := uint16(2); ; seq++ {
		if time.Now().After(deadline) {
			t.Fatal("relay did not forward again after a worker's panic")
		}
		alice.send(r.Addr(), rtpPacket(1, ptOpus, seq, "after"))
		if b := bob.recv(20 * time.Millisecond); b != nil {
			if string(b[12:]) != "after" {
				t.Fatalf("got %q after the restart", b[12:])
			}
			break
		}
	}
	if s := r.Stats(); s.Restarts != 1 {
		t.Fatalf("restarts %d, want 1 (only the worker that panicked)", s.Restarts)
	}
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	r := startRelay(t, nil)
	r.Kill()
	must(t, r.Close())
	must(t, r.Close())
	r.Kill()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPortInUse: a second relay on the same port is refused rather than
// sharing it through SO_REUSEPORT.
func TestPortInUse(t *testing.T) {
	r1 := startRelay(t, nil)
	cfg := testConfig()
	cfg.Port = int(r1.Addr().Port())
	if r2, err := Start(cfg); err == nil {
		r2.Close()
		t.Fatalf("a second relay started on port %d", cfg.Port)
	}
	plain, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	cfg.Port = plain.LocalAddr().(*net.UDPAddr).Port - 1 // the RTCP port is taken
	if r3, err := Start(cfg); err == nil {
		r3.Close()
		t.Fatalf("a relay started with its RTCP port %d taken", cfg.Port+1)
	}
}

// TestMulticastOff: with Config.Multicast false the relay sends nothing to
// the meeting's groups (RTP, RTCP, its own Send) while unicast subscribers
// still get everything.
func TestMulticastOff(t *testing.T) {
	t.Parallel()
	r := startRelay(t, func(c *Config) { c.Multicast = false })
	m, g := openAudio(t, r, 1)
	mcast, mcastRTCP := newMulticastPeer(t, g), newMulticastPeer(t, rtcpAddr(g))
	alice, bob, carol := newPeer(t), newPeer(t), newPeer(t)
	must(t, m.Register(Source{Member: "alice", Track: trackAudio, Addr: alice.addr, SSRC: 1, PayloadType: ptOpus}))
	must(t, m.Subscribe(Subscriber{Member: "bob", Conn: 2, Track: trackAudio, Addr: bob.addr}))
	must(t, m.Subscribe(Subscriber{Member: "carol", Conn: 3, Track: trackAudio, Addr: carol.addr}))
	const n = 20
	for seq := range uint16(n) {
		p := rtpPacket(1, ptOpus, seq, "opus")
		alice.send(r.Addr(), p)
		bob.expectNext(p)
		carol.expectNext(p)
	}
	sr := senderReport(t, 1)
	alice.send(r.Addr(), sr)
	bob.expectNext(sr)
	carol.expectNext(sr)
	must(t, m.Send(trackAudio, ptOpus, []byte("relay's own")))
	bob.mustRecv()
	carol.mustRecv()
	mcast.expectNone(50 * time.Millisecond)
	mcastRTCP.expectNone(10 * time.Millisecond)
	wait.For(t, 5*time.Second, "stats", func() bool {
		s := r.Stats()
		return s.Received == n+1 && s.Forwarded == 2*(n+2)
	})
	if got := m.Stats().Forwarded[trackAudio]; got != 2*(n+2) {
		t.Fatalf("meeting forwarded %d, want %d", got, 2*(n+2))
	}
}
