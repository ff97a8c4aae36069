package media

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Errors of the table's methods.
var (
	ErrSSRCTaken   = errors.New("media: ssrc already registered in this meeting")
	ErrSourceTaken = errors.New("media: address and ssrc registered in another meeting")
	ErrClosed      = errors.New("media: meeting closed")
)

// Source is an address a member sends one track's RTP from.
type Source struct {
	Member      string
	Track       int // 0..4 (text, audio, video, screen, caption)
	Addr        netip.AddrPort
	SSRC        uint32
	PayloadType uint8 // the only PT accepted from it
}

// Subscriber is an address a member asked to receive one track on.
type Subscriber struct {
	Member string
	Conn   uint64 // the control connection that asked; DropConn removes by it
	Track  int
	Addr   netip.AddrPort
}

// Meeting is one meeting's part of the forwarding table. Its methods are
// safe for concurrent use; they edit the table under the relay's table
// mutex and publish copies, so they never slow the packet path down.
type Meeting struct {
	r         *Relay
	id        int64
	view      atomic.Pointer[meetingView]
	counts    []meetingCounts // one per worker, and one for Send
	sendState sender

	// Guarded by r.mu.
	closed    bool
	multicast [Tracks]netip.AddrPort
	sources   map[srcKey]*source
	subs      [Tracks][]*dest
	members   map[string]uint32
}

// Open returns meeting's part of the table, creating it on first use. A
// second Open of a meeting that is not closed returns the same *Meeting
// with the new multicast addresses, so a restarted meeting actor finds its
// registrations where it left them. multicast[i] is track i's group:port
// (RTCP to port+1); a zero AddrPort means none.
func (r *Relay) Open(meeting int64, multicast [Tracks]netip.AddrPort) *Meeting {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.meetings[meeting]
	if m == nil {
		m = &Meeting{
			r:       r,
			id:      meeting,
			counts:  make([]meetingCounts, len(r.workers)+1),
			sources: make(map[srcKey]*source),
			members: make(map[string]uint32),
		}
		m.sendState.init()
		r.meetings[meeting] = m
	}
	m.multicast = multicast
	m.publish()
	return m
}

func (m *Meeting) memberID(name string) uint32 {
	id, ok := m.members[name]
	if !ok {
		id = uint32(len(m.members) + 1)
		m.members[name] = id
	}
	return id
}

// checkEndpoint checks a registration's track and address: unicast IPv4
// with a port below 65535 (RTCP comes from and goes to port+1).
func checkEndpoint(what string, track int, a netip.AddrPort) error {
	if track < 0 || track >= Tracks {
		return fmt.Errorf("media: track %d is outside 0..%d", track, Tracks-1)
	}
	ip := a.Addr().Unmap()
	if !a.IsValid() || !ip.Is4() || ip.IsMulticast() || ip.IsUnspecified() || a.Port() == 0 || a.Port() == 65535 {
		return fmt.Errorf("media: %s address %v is not unicast IPv4 with a port in 1..65534", what, a)
	}
	return nil
}

// editEndpoint checks a registration's track and address, normalizes the
// address, and runs edit with the relay locked, unless the meeting closed.
func (m *Meeting) editEndpoint(what string, track int, addr *netip.AddrPort, edit func() error) error {
	if err := checkEndpoint(what, track, *addr); err != nil {
		return err
	}
	*addr = normal(*addr)
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return edit()
}

// Register adds a source. Registering the same source again (same track,
// address, SSRC and member) updates its payload type.
func (m *Meeting) Register(s Source) error {
	return m.editEndpoint("source", s.Track, &s.Addr, func() error { return m.register(s) })
}

func (m *Meeting) register(s Source) error {
	r := m.r
	if m.sendState.owns(s.SSRC) {
		return ErrSSRCTaken // the relay's own stream on one of the tracks
	}
	k := srcKey{s.Addr, s.SSRC}
	sh := shardOf(k.addr, k.ssrc)
	if old, ok := r.sources.load(sh, k); ok && old.m != m {
		return ErrSourceTaken
	}
	for _, o := range m.sources {
		if o.SSRC == s.SSRC && (o.Addr != s.Addr || o.Track != s.Track || o.Member != s.Member) {
			return ErrSSRCTaken
		}
	}
	src := &source{Source: s, m: m, member: m.memberID(s.Member), ua: udpAddr(s.Addr),
		bucket: newBucket(r.cfg.SourceRate, r.cfg.SourceBurst)}
	if old := m.sources[k]; old != nil {
		src.bucket.tat.Store(old.bucket.tat.Load())
	}
	m.sources[k] = src
	r.sources.edit(sh, func(t map[srcKey]*source) { t[k] = src })
	m.publish()
	return nil
}

// Unregister removes the source of track with ssrc; false if there was none.
func (m *Meeting) Unregister(track int, ssrc uint32) bool {
	r := m.r
	r.mu.Lock()
	defer r.mu.Unlock()
	n := m.dropSources(func(s *source) bool { return s.Track == track && s.SSRC == ssrc })
	return n > 0
}

// dropSources removes the sources for which drop is true, from the global
// demux first so that the packet path stops finding them at once.
func (m *Meeting) dropSources(drop func(*source) bool) int {
	n := 0
	for k, s := range m.sources {
		if drop(s) {
			m.r.sources.edit(shardOf(k.addr, k.ssrc), func(t map[srcKey]*source) { delete(t, k) })
			delete(m.sources, k)
			n++
		}
	}
	if n > 0 {
		m.publish()
	}
	return n
}

// Subscribe makes the relay send the track to s.Addr; idempotent for the
// same (Conn, Track, Addr).
func (m *Meeting) Subscribe(s Subscriber) error {
	return m.editEndpoint("subscriber", s.Track, &s.Addr, func() error { return m.subscribe(s) })
}

func (m *Meeting) subscribe(s Subscriber) error {
	for _, d := range m.subs[s.Track] {
		if d.conn == s.Conn && d.addr == s.Addr {
			return nil
		}
	}
	d := &dest{member: m.memberID(s.Member), conn: s.Conn, addr: s.Addr, ua: udpAddr(s.Addr)}
	m.subs[s.Track] = append(m.subs[s.Track], d)
	m.publish()
	m.indexSubscriber(s.Addr)
	return nil
}

// Unsubscribe removes one subscription; false if there was none.
func (m *Meeting) Unsubscribe(conn uint64, track int, addr netip.AddrPort) bool {
	addr = normal(addr)
	r := m.r
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.dropSubs(func(t int, d *dest) bool { return t == track && d.conn == conn && d.addr == addr }) > 0
}

// dropSubs removes the subscriptions for which drop is true.
func (m *Meeting) dropSubs(drop func(track int, d *dest) bool) int {
	n := 0
	var touched []netip.AddrPort
	for t := range m.subs {
		m.subs[t] = slices.DeleteFunc(slices.Clone(m.subs[t]), func(d *dest) bool {
			if drop(t, d) {
				n++
				touched = append(touched, d.addr)
				return true
			}
			return false
		})
	}
	if n > 0 {
		m.publish()
		for _, a := range touched {
			m.indexSubscriber(a)
		}
	}
	return n
}

// indexSubscriber brings the global subscriber-address index (used to
// route feedback) up to date for addr in this meeting.
func (m *Meeting) indexSubscriber(addr netip.AddrPort) {
	var tracks uint8
	if !m.closed {
		for t, ds := range m.subs {
			for _, d := range ds {
				if d.addr == addr {
					tracks |= 1 << t
				}
			}
		}
	}
	m.r.subs.edit(shardOf(addr, 0), func(t map[netip.AddrPort][]subRef) {
		refs := slices.DeleteFunc(slices.Clone(t[addr]), func(s subRef) bool { return s.m == m })
		if tracks != 0 {
			refs = append(refs, subRef{m: m, tracks: tracks})
		}
		if len(refs) == 0 {
			delete(t, addr)
		} else {
			t[addr] = refs
		}
	})
}

// RemoveMember drops the member's sources and subscriptions at once
// (leave, kick).
func (m *Meeting) RemoveMember(member string) {
	r := m.r
	r.mu.Lock()
	defer r.mu.Unlock()
	m.dropSources(func(s *source) bool { return s.Member == member })
	m.dropSubs(func(_ int, d *dest) bool { return d.member == m.members[member] })
}

// DropConn removes every subscription made by control connection conn, in
// all meetings.
func (r *Relay) DropConn(conn uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.meetings {
		m.dropSubs(func(_ int, d *dest) bool { return d.conn == conn })
	}
}

// Close removes the meeting's sources and subscribers; idempotent.
func (m *Meeting) Close() {
	r := m.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.closed {
		return
	}
	m.dropSources(func(*source) bool { return true })
	m.dropSubs(func(int, *dest) bool { return true })
	m.closed = true
	m.multicast = [Tracks]netip.AddrPort{}
	m.publish()
	if r.meetings[m.id] == m {
		delete(r.meetings, m.id)
	}
}

// SourceOf returns the source registered with ssrc, read from the
// published view without a lock, as the packet path reads it; false for an
// SSRC that no source has (the relay's own streams of Send, a source
// unregistered since).
func (m *Meeting) SourceOf(ssrc uint32) (Source, bool) {
	s, ok := m.view.Load().bySSRC[ssrc]
	if !ok {
		return Source{}, false
	}
	return s.Source, true
}

// RelayAddr is the address the relay sends the meeting's RTP from: its
// RTP port.
func (m *Meeting) RelayAddr() netip.AddrPort { return m.r.addr }

// Stats returns the meeting's counters.
func (m *Meeting) Stats() MeetingStats {
	var s MeetingStats
	for i := range m.counts {
		c := &m.counts[i]
		for t := range s.Forwarded {
			s.Forwarded[t] += c.forwarded[t].Load()
		}
		s.WrongPayload += c.wrongPayload.Load()
		s.RateLimited += c.rateLimited.Load()
	}
	return s
}

// publish builds and stores the packet path's snapshot of the meeting.
// The caller holds r.mu.
func (m *Meeting) publish() {
	v := &meetingView{bySSRC: make(map[uint32]*source, len(m.sources))}
	for _, s := range m.sources {
		v.bySSRC[s.SSRC] = s
	}
	for t := range v.tracks {
		tv := &v.tracks[t]
		// Without Config.Multicast the groups stay allocated (SDP, join
		// replies) but the view has none, so nothing is sent to them.
		if g := m.multicast[t]; m.r.cfg.Multicast && g.IsValid() && g.Port() != 0 {
			tv.mcast = udpAddr(g)
			if g.Port() < 65535 {
				tv.mcastRTCP = udpAddr(netip.AddrPortFrom(g.Addr(), g.Port()+1))
			}
		}
		// One dest per address: an address gets a track once, however
		// many connections asked for it.
		for _, d := range m.subs[t] {
			if !slices.ContainsFunc(tv.subs, func(o *dest) bool { return o.addr == d.addr }) {
				tv.subs = append(tv.subs, d)
			}
		}
	}
	m.view.Store(v)
}
