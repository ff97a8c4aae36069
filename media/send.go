package media

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// sender is a meeting's own RTP stream per track (T.140 text chat and
// captions the server originates).
type sender struct {
	mu    sync.Mutex
	ssrc  [Tracks]uint32 // fixed at init; Register refuses them
	seq   [Tracks]uint16
	base  [Tracks]uint32 // random timestamp offsets (RFC 3550 §5.1)
	start time.Time
}

func (s *sender) init() {
	var b [Tracks * 10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for t := range Tracks {
		s.ssrc[t] = binary.BigEndian.Uint32(b[t*10:])
		s.seq[t] = binary.BigEndian.Uint16(b[t*10+4:])
		s.base[t] = binary.BigEndian.Uint32(b[t*10+6:])
	}
	s.start = time.Now()
}

func (s *sender) owns(ssrc uint32) bool {
	for _, o := range s.ssrc {
		if o == ssrc {
			return true
		}
	}
	return false
}

// OwnSSRC reports whether ssrc is one of the meeting's own streams (Send),
// which Register refuses: the meeting actor asks before it stores a
// source, so that the store never holds one the relay will not take.
func (m *Meeting) OwnSSRC(ssrc uint32) bool { return m.sendState.owns(ssrc) }

// clockRate is the RTP clock of Huddle's payload types: T.140 (98) at
// 1000 Hz, Opus (111) at 48 kHz, VP8 (96) at 90 kHz.
func clockRate(pt uint8) (uint32, bool) {
	switch pt {
	case 98:
		return 1000, true
	case 111:
		return 48000, true
	case 96:
		return 90000, true
	}
	return 0, false
}

// Send sends payload as one RTP packet of the relay's own stream on track
// (its SSRC random per meeting and track, seq incrementing, timestamp in
// pt's clock) to the track's multicast address and all its subscribers.
// It runs on the caller's goroutine and may allocate: it is the control
// path, not the packet path.
func (m *Meeting) Send(track int, pt uint8, payload []byte) error {
	if track < 0 || track >= Tracks {
		return fmt.Errorf("media: track %d is outside 0..%d", track, Tracks-1)
	}
	rate, ok := clockRate(pt)
	if !ok {
		return fmt.Errorf("media: no clock rate known for payload type %d", pt)
	}
	if 12+len(payload) > m.r.cfg.MaxPacket {
		return fmt.Errorf("media: %d bytes of payload exceed max packet %d", len(payload), m.r.cfg.MaxPacket)
	}
	r := m.r
	r.mu.Lock()
	closed := m.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	s := &m.sendState
	s.mu.Lock()
	seq := s.seq[track]
	s.seq[track]++
	ts := s.base[track] + uint32(time.Since(s.start).Seconds()*float64(rate))
	s.mu.Unlock()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
		Timestamp: ts, SSRC: s.ssrc[track], Marker: true}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		return fmt.Errorf("media: marshal rtp: %w", err)
	}
	t := &m.view.Load().tracks[track]
	var ms []ipv4.Message
	add := func(a *net.UDPAddr) { ms = append(ms, ipv4.Message{Buffers: [][]byte{b}, Addr: a}) }
	if t.mcast != nil {
		add(t.mcast)
	}
	for _, d := range t.subs {
		add(d.ua)
	}
	if len(ms) == 0 {
		return nil
	}
	m.counts[len(m.counts)-1].forwarded[track].Add(uint64(len(ms)))
	return r.sendOwn(ms)
}
