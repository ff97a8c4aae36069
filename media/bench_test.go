package media

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkHandle is the packet path without sockets: parse, demux, rate
// check, fan-out into the write batch. It must not allocate.
func BenchmarkHandle(b *testing.B) {
	for _, fan := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("fanout=%d", fan), func(b *testing.B) {
			h := newHarness(b, fan) // fan subscribers and the multicast group
			w := h.rtp
			w.write = func(ms []ipv4.Message) (int, error) { return len(ms), nil }
			p := rtpPacket(hSSRC, hPT, 1, string(make([]byte, 160)))
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			now := h.r.now()
			b.ResetTimer()
			for i := range b.N {
				w.handle(p, hSource, now+int64(i))
				if w.nout >= len(w.out)-fan {
					w.flush()
				}
			}
			w.flush()
			if w.c.forwarded == 0 {
				b.Fatal("nothing forwarded")
			}
		})
	}
}

// BenchmarkForward sends b.N RTP packets from one source through a relay
// on loopback to fan subscribers and reports forwarded datagrams per
// second (what the relay wrote) and received per second (what arrived),
// with the relay's latency measurement (Config.Timestamps) on and off.
func BenchmarkForward(b *testing.B) {
	for _, fan := range []int{1, 10, 50} {
		for _, stamps := range []bool{true, false} {
			b.Run(fmt.Sprintf("fanout=%d/timestamps=%v", fan, stamps), func(b *testing.B) {
				benchmarkForward(b, fan, stamps)
			})
		}
	}
}

func benchmarkForward(b *testing.B, fan int, stamps bool) {
	r := startRelay(b, func(c *Config) {
		c.Batch, c.SocketBuffer = 64, 4<<20
		c.SourceRate, c.SourceBurst = 1e9, 1e9
		c.Timestamps = stamps
	})
	m := r.Open(1, [Tracks]netip.AddrPort{})
	defer m.Close()
	src := newPeer(b)
	_ = src.c.SetWriteBuffer(4 << 20)
	must(b, m.Register(Source{Member: "pub", Track: trackAudio, Addr: src.addr, SSRC: 1, PayloadType: ptOpus}))
	var received atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range fan {
		p := newPeer(b)
		_ = p.c.SetReadBuffer(4 << 20)
		must(b, m.Subscribe(Subscriber{Member: fmt.Sprint("sub", i), Conn: uint64(i), Track: trackAudio, Addr: p.addr}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			drain(p.c, &received, stop)
		}()
	}
	pkt := rtpPacket(1, ptOpus, 1, string(make([]byte, 160)))
	dst := r.Addr()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, err := src.c.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
		// Pace lightly so that the kernel's queues, not the
		// relay, are what gives way on a small machine.
		if i%64 == 63 {
			time.Sleep(0)
		}
	}
	// Wait until everything arrived or nothing more arrives for
	// 100ms; the rate is over the time until the last arrival.
	want := uint64(b.N * fan)
	last, lastAt := received.Load(), time.Now()
	for last < want && time.Since(lastAt) < 100*time.Millisecond {
		time.Sleep(time.Millisecond)
		if n := received.Load(); n != last {
			last, lastAt = n, time.Now()
		}
	}
	el := lastAt.Sub(start).Seconds()
	b.StopTimer()
	close(stop)
	wg.Wait()
	s := r.Stats()
	b.ReportMetric(float64(s.Forwarded)/el, "fwd/s")
	b.ReportMetric(float64(received.Load())/el, "recv/s")
	b.ReportMetric(100*(1-float64(received.Load())/float64(want)), "loss%")
	if lat := r.Latency(); lat.Count() > 0 {
		b.ReportMetric(float64(lat.Percentile(0.5))/1e3, "relay-p50-us")
		b.ReportMetric(float64(lat.Percentile(0.99))/1e3, "relay-p99-us")
	}
}

// drain counts what arrives on c until stop. It reads with the relay's
// own reader, so that allocs/op are the relay's: x/net's ReadBatch would
// allocate for every datagram received.
func drain(c *net.UDPConn, n *atomic.Uint64, stop chan struct{}) {
	rc, err := c.SyscallConn()
	if err != nil {
		panic(err)
	}
	s := &sock{uc: c, pc: ipv4.NewPacketConn(c), rc: rc}
	rd := newReader(64, 1600, false)
	for {
		select {
		case <-stop:
			return
		default:
		}
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		k, err := rd.read(s)
		if err == nil {
			n.Add(uint64(k))
		}
	}
}

// BenchmarkRead is a worker socket's read alone, with the receive
// timestamps (Config.Timestamps) on and off: a batch of 32 datagrams
// queued with one sendmmsg, read with recvmmsg, and with timestamps each
// datagram's stamp parsed. ns/op is per datagram, its sending included;
// the difference between the two is what the timestamps cost the kernel
// and the reader.
func BenchmarkRead(b *testing.B) {
	for _, stamps := range []bool{true, false} {
		b.Run(fmt.Sprintf("timestamps=%v", stamps), func(b *testing.B) {
			cfg := testConfig()
			cfg.Timestamps, cfg.SocketBuffer = stamps, 1<<20
			s, err := newRelay(cfg).listen(0)
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			const batch = 32
			rd := newReader(batch, 1600, stamps)
			src := newPeer(b)
			pc := ipv4.NewPacketConn(src.c)
			ms := make([]ipv4.Message, batch)
			to := s.uc.LocalAddr()
			for i := range ms {
				ms[i] = ipv4.Message{Buffers: [][]byte{rtpPacket(1, ptOpus, uint16(i), string(make([]byte, 160)))}, Addr: to}
			}
			var stamped int
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				k, err := pc.WriteBatch(ms[:min(batch, b.N-done)], 0)
				if err != nil {
					b.Fatal(err)
				}
				for got := 0; got < k; {
					n, err := rd.read(s)
					if err != nil {
						b.Fatal(err)
					}
					for i := range n {
						if rd.stamp(i) != 0 {
							stamped++
						}
					}
					got += n
				}
				done += k
			}
			b.StopTimer()
			if want := stamps && runtime.GOOS == "linux"; want != (stamped == b.N) {
				b.Fatalf("%d of %d datagrams stamped with timestamps %v", stamped, b.N, stamps)
			}
		})
	}
}
