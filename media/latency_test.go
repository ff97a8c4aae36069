package media

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"golang.org/x/net/ipv4"

	"huddle/internal/hist"
	"huddle/internal/testutil/wait"
)

// Every datagram in that went out at least once — RTP to the group and two
// subscribers, sender reports on both ports, feedback to the source — is
// one value of the relay's latency, however many copies it made; what was
// dropped is none. The values are what a loopback relay adds: more than
// nothing, far less than a second.
func TestLatencyCountsForwardedDatagrams(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("receive timestamps are Linux only")
	}
	r := startRelay(t, nil)
	m, alice, bob := aliceToBob(t, r) // one datagram in, to the group and bob
	carol, mallory := newPeer(t), newPeer(t)
	aliceRTCP := newPeerAt(t, alice.addr.Port()+1)
	must(t, m.Subscribe(Subscriber{Member: "carol", Conn: 3, Track: trackAudio, Addr: carol.addr}))

	const n = 40
	for seq := range uint16(n) {
		p := rtpPacket(1, ptOpus, seq+1, "opus")
		alice.send(r.Addr(), p)
		mallory.send(r.Addr(), rtpPacket(1, ptOpus, seq, "spoofed")) // Unregistered
		bob.expectNext(p)
		carol.expectNext(p)
	}
	alice.send(r.Addr(), rtpPacket(1, 96, n+1, "vp8")) // WrongPayload
	sr := senderReport(t, 1)
	alice.send(r.Addr(), sr)
	bob.expectNext(sr)
	aliceRTCP.send(rtcpAddr(r.Addr()), sr)
	bob.expectNext(sr)
	pli := marshalRTCP(t, &rtcp.PictureLossIndication{SenderSSRC: 99, MediaSSRC: 1})
	bob.send(r.Addr(), pli)
	alice.expectNext(pli)

	const in = 1 + n + 2 + 1 // forwarded datagrams in
	wait.For(t, 5*time.Second, "stats", func() bool {
		s := r.Stats()
		return s.Received == 1+2*n+1+3 && s.Forwarded == 2+3*n+3*2+1
	})
	// A worker counts a batch's latency before it publishes the batch's
	// counters, so all of it is in.
	lat := r.Latency()
	if !r.Measures() || lat.Count() != in {
		t.Fatalf("latency has %d values, want %d (one per datagram forwarded)", lat.Count(), in)
	}
	lo, hi := lat.Percentile(0), lat.Percentile(1)
	if lo <= 0 || hi >= time.Second {
		t.Fatalf("latency from %v to %v, want positive and below 1s", lo, hi)
	}
	t.Logf("latency of %d datagrams: min %v, p50 %v, max %v", lat.Count(), lo, lat.Percentile(0.5), hi)
}

// With Timestamps off the sockets have no SO_TIMESTAMPNS and nothing is
// counted; forwarding is the same.
func TestLatencyOff(t *testing.T) {
	t.Parallel()
	r := startRelay(t, func(c *Config) { c.Timestamps = false })
	_, alice, bob := aliceToBob(t, r)
	for seq := range uint16(10) {
		p := rtpPacket(1, ptOpus, seq+1, "opus")
		alice.send(r.Addr(), p)
		bob.expectNext(p)
	}
	wait.For(t, 5*time.Second, "stats", func() bool { return r.Stats().Forwarded == 2*11 })
	if n := r.Latency().Count(); n != 0 || r.Measures() {
		t.Fatalf("latency has %d values with timestamps off, Measures %v", n, r.Measures())
	}
}

// A fan-out wider than the write batch is sent in several flushes; each
// datagram in is still one value, counted once its last copy went.
func TestLatencyWideFanout(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("receive timestamps are Linux only")
	}
	r := startRelay(t, func(c *Config) { c.Batch = 4 })
	m, alice, bob := aliceToBob(t, r) // one datagram in, to the group and bob
	subs := []*peer{bob}
	for i := range 9 {
		p := newPeer(t)
		must(t, m.Subscribe(Subscriber{Member: "sub", Conn: uint64(10 + i), Track: trackAudio, Addr: p.addr}))
		subs = append(subs, p)
	}
	const n = 12 // three read batches of 4, each 4 × 11 copies: 11 flushes
	for seq := range uint16(n) {
		alice.send(r.Addr(), rtpPacket(1, ptOpus, seq+1, "opus"))
	}
	for _, p := range subs {
		for range n {
			if p.recv(5*time.Second) == nil {
				t.Fatal("a subscriber is missing a datagram")
			}
		}
	}
	wait.For(t, 5*time.Second, "stats", func() bool { return r.Stats().Forwarded == 2+n*11 })
	if c := r.Latency().Count(); c != 1+n {
		t.Fatalf("latency has %d values, want %d (one per datagram forwarded)", c, 1+n)
	}
}

// A datagram's latency is counted at the flush that carries its last
// copy, before the copies of the next ones go out: with a write batch of
// 4 and 12 copies a datagram (11 subscribers and the group), datagram 1
// is counted once its third flush returned, not when the read batch ends.
func TestLatencyCountedAtLastCopy(t *testing.T) {
	h := newHarness(t, 11)
	w := h.rtp
	w.out = make([]ipv4.Message, 4)
	for i := range w.out {
		w.out[i].Buffers = make([][]byte, 1)
	}
	var counted []uint64 // values counted when each write began
	w.write = func(ms []ipv4.Message) (int, error) {
		var l hist.Histogram
		w.lat.AddTo(&l)
		counted = append(counted, l.Count())
		return len(ms), nil
	}
	now := time.Now().UnixNano()
	for seq := range uint16(3) { // one read batch, as run handles it
		e := w.emits
		w.handle(rtpPacket(hSSRC, hPT, seq+1, "opus"), hSource, h.r.now())
		if w.emits-e != 12 {
			t.Fatalf("datagram %d: %d copies, want 12", seq+1, w.emits-e)
		}
		w.stamped = append(w.stamped, now)
	}
	w.flush()
	want := []uint64{0, 0, 0, 1, 1, 1, 2, 2, 2}
	if !slices.Equal(counted, want) {
		t.Fatalf("values counted when each write began: %v, want %v", counted, want)
	}
	var l hist.Histogram
	w.lat.AddTo(&l)
	if l.Count() != 3 {
		t.Fatalf("%d values after the batch, want 3", l.Count())
	}
}
