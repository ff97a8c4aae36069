package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"huddle/internal/hist"
	"huddle/protocol"
)

// The media scenario's packets: RTP (version 2, PT 111 as the audio track
// wants, the publisher's SSRC, seq +1 and timestamp +960 per packet, 20 ms
// of Opus at 48 kHz) whose payload starts with the send time, Unix
// nanoseconds (CLOCK_REALTIME, the clock of the kernel's receive
// timestamps). Publishers and subscribers live in this one process, so
// send and receive times are read from the same clock.

const (
	rtpHeaderLen = 12
	mediaStamp   = 8 // bytes of send time that start the payload
	// txBatch is the most datagrams one WriteBatch (sendmmsg) carries,
	// rxBatch the most one ReadBatch (recvmmsg) returns.
	txBatch = 32
	rxBatch = 16
	// udpBuffer is SO_RCVBUF/SO_SNDBUF of the bench's sockets, as udplimit
	// sets it; Linux caps it at net.core.rmem_max/wmem_max.
	udpBuffer = 4 << 20
	// paceTick is how long the paced sender sleeps between rounds.
	paceTick = 50 * time.Microsecond
)

// publisher is one meeting's sender: a UDP socket registered as the
// meeting's audio source, with a batch of packets whose headers are built
// once.
type publisher struct {
	uc    *net.UDPConn
	pc    *ipv4.PacketConn
	ms    []ipv4.Message
	seq   uint16
	ts    uint32
	sent  int64
	phase float64 // s: spreads the paced publishers' sends over a tick
}

func newPublisher(uc *net.UDPConn, relay *net.UDPAddr, ssrc uint32, size int) *publisher {
	p := &publisher{uc: uc, pc: ipv4.NewPacketConn(uc), ms: make([]ipv4.Message, txBatch)}
	for i := range p.ms {
		b := make([]byte, rtpHeaderLen+size)
		b[0] = 2 << 6 // version 2, no padding, extension or CSRC
		b[1] = protocol.PayloadOpus
		binary.BigEndian.PutUint32(b[8:], ssrc)
		p.ms[i] = ipv4.Message{Buffers: [][]byte{b}, Addr: relay}
	}
	return p
}

// send sends n ≤ txBatch packets stamped with now (Unix ns) in one
// sendmmsg and returns how many the kernel took.
func (p *publisher) send(n int, now int64) (int, error) {
	seq, ts := p.seq, p.ts
	for i := range n {
		b := p.ms[i].Buffers[0]
		binary.BigEndian.PutUint16(b[2:], seq)
		binary.BigEndian.PutUint32(b[4:], ts)
		binary.BigEndian.PutUint64(b[rtpHeaderLen:], uint64(now))
		seq++
		ts += 960
	}
	k, err := p.pc.WriteBatch(p.ms[:n], 0)
	k = max(k, 0)
	p.seq += uint16(k)
	p.ts += 960 * uint32(k)
	p.sent += int64(k)
	return k, err
}

// mediaSender drives every publisher from one goroutine: at rate 0 each
// sends full batches in turn as fast as the kernel takes them; otherwise
// each sends what it owes at rate packets/s, checked every paceTick.
type mediaSender struct {
	pubs  []*publisher
	rate  int
	start time.Time
}

// run sends until d has passed since s.start or ctx ends, and returns the
// packets sent and the send errors (the first one kept).
func (s *mediaSender) run(ctx context.Context, d time.Duration) (sent, errs int64, first error) {
	count := func(err error) {
		if err != nil {
			errs++
			if first == nil {
				first = fmt.Errorf("send rtp: %w", err)
			}
		}
	}
	for i, p := range s.pubs {
		p.phase = float64(i) / float64(len(s.pubs)) / float64(max(s.rate, 1))
	}
	for ctx.Err() == nil {
		now := time.Since(s.start)
		if now >= d {
			break
		}
		if s.rate == 0 {
			for _, p := range s.pubs {
				_, err := p.send(txBatch, time.Now().UnixNano())
				count(err)
			}
			continue
		}
		for _, p := range s.pubs {
			owed := int64((now.Seconds()+p.phase)*float64(s.rate)) + 1 - p.sent
			for owed > 0 {
				k, err := p.send(int(min(owed, txBatch)), time.Now().UnixNano())
				count(err)
				if err != nil {
					break
				}
				owed -= int64(k)
			}
		}
		sleepShort(paceTick)
	}
	for _, p := range s.pubs {
		sent += p.sent
	}
	return sent, errs, first
}

// receiver is one subscriber's UDP socket and what arrived on it: lat is
// send → the bench read it, queued send → the kernel queued it on the
// socket (its receive timestamp, where the platform gives one), so that
// the bench's own wake-up and reading can be told from the relay's part.
type receiver struct {
	uc       *net.UDPConn
	received atomic.Int64 // read while the run goes on, to see it settle
	bad      int64        // datagrams that were not the bench's packets
	lat      hist.Histogram
	queued   hist.Histogram
}

// reset forgets what arrived, for a socket no loop reads (after the
// warm-up's stop, before the run's start).
func (r *receiver) reset() {
	r.received.Store(0)
	r.bad = 0
	r.lat, r.queued = hist.Histogram{}, hist.Histogram{}
}

// got counts datagram b, read at now, queued by the kernel at queuedAt
// (0: unknown); all Unix ns.
func (r *receiver) got(b []byte, size int, now, queuedAt int64) bool {
	if len(b) != rtpHeaderLen+size || b[1]&0x7f != protocol.PayloadOpus {
		r.bad++
		return false
	}
	sent := int64(binary.BigEndian.Uint64(b[rtpHeaderLen:]))
	r.lat.Add(now - sent)
	if queuedAt != 0 {
		r.queued.Add(queuedAt - sent)
	}
	return true
}

// listenUDP opens a bench socket on ip with udpBuffer-sized buffers.
func listenUDP(ip net.IP) (*net.UDPConn, error) {
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
	if err != nil {
		return nil, fmt.Errorf("open udp socket: %w", err)
	}
	_ = uc.SetReadBuffer(udpBuffer) // best effort: capped by the kernel
	_ = uc.SetWriteBuffer(udpBuffer)
	return uc, nil
}
