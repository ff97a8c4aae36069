package actors

import (
	"net/netip"
	"sync"

	"huddle/protocol"
	"huddle/storage"
)

// portsPerMeeting is the block of multicast ports one meeting takes: RTP and
// RTCP (port+1) for each track.
const portsPerMeeting = 2 * storage.NumTracks

// addrPool hands out live meetings' multicast addresses: slot n is the
// (n+1)th group of the range (the range's own first address is skipped) and
// the nth block of portsPerMeeting ports. Groups and port blocks are tracked
// apart, so that meetings restored with a different range or port range
// configured still keep theirs and nothing is handed out twice.
type addrPool struct {
	prefix      netip.Prefix
	first, last uint16

	mu     sync.Mutex
	groups map[netip.Addr]bool
	blocks map[uint16]bool // first port of a block
}

func newAddrPool(prefix netip.Prefix, first, last uint16) *addrPool {
	return &addrPool{prefix: prefix, first: first, last: last, groups: map[netip.Addr]bool{}, blocks: map[uint16]bool{}}
}

// take allocates a group and a port block; false when none is free.
func (p *addrPool) take() (netip.Addr, [storage.NumTracks]uint16, bool) {
	var ports [storage.NumTracks]uint16
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.prefix.Addr().Next()
	base := int(p.first)
	for ; p.prefix.Contains(g) && base+portsPerMeeting-1 <= int(p.last); g, base = g.Next(), base+portsPerMeeting {
		if p.groups[g] || p.blocks[uint16(base)] {
			continue
		}
		p.groups[g], p.blocks[uint16(base)] = true, true
		for i := range ports {
			ports[i] = uint16(base + 2*i)
		}
		return g, ports, true
	}
	return netip.Addr{}, ports, false
}

// hold marks a restored meeting's addresses as taken.
func (p *addrPool) hold(m storage.Meeting) {
	p.mu.Lock()
	p.groups[m.Group], p.blocks[m.Ports[0]] = true, true
	p.mu.Unlock()
}

// release gives an ended meeting's addresses back.
func (p *addrPool) release(group netip.Addr, ports [storage.NumTracks]uint16) {
	p.mu.Lock()
	delete(p.groups, group)
	delete(p.blocks, ports[0])
	p.mu.Unlock()
}

// multicastAddrs are a meeting's multicast group:port per track, in
// protocol.Tracks order.
func multicastAddrs(m storage.Meeting) [storage.NumTracks]netip.AddrPort {
	var out [storage.NumTracks]netip.AddrPort
	for i, port := range m.Ports {
		out[i] = netip.AddrPortFrom(m.Group, port)
	}
	return out
}

// trackMap renders per-track addresses as the protocol's objects keyed by
// track name.
func trackMap(addrs [storage.NumTracks]netip.AddrPort) map[string]string {
	out := make(map[string]string, len(addrs))
	for i, a := range addrs {
		out[protocol.Tracks[i]] = a.String()
	}
	return out
}
