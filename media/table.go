package media

import (
	"maps"
	"net"
	"net/netip"
	"sync/atomic"
)

// shards splits the global demux maps so that a registration copies 1/64
// of the table, not all of it.
const shards = 64

// cowMap is a map that readers use without a lock: every shard is an
// immutable map behind an atomic pointer, and a writer (holding the
// relay's table mutex) replaces a shard with an edited copy.
type cowMap[K comparable, V any] struct {
	shard [shards]atomic.Pointer[map[K]V]
}

func (c *cowMap[K, V]) load(i uint32, k K) (V, bool) {
	if p := c.shard[i].Load(); p != nil {
		v, ok := (*p)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// edit replaces shard i with a copy changed by f. The caller holds the
// relay's table mutex.
func (c *cowMap[K, V]) edit(i uint32, f func(map[K]V)) {
	var m map[K]V
	if p := c.shard[i].Load(); p != nil {
		m = maps.Clone(*p)
	} else {
		m = make(map[K]V)
	}
	f(m)
	c.shard[i].Store(&m)
}

// shardOf hashes an address and an SSRC (0 for subscriber addresses) to a
// shard: a multiplicative hash of the IPv4 address, port and SSRC.
func shardOf(a netip.AddrPort, ssrc uint32) uint32 {
	ip := a.Addr().As16()
	h := uint32(ip[12])<<24 | uint32(ip[13])<<16 | uint32(ip[14])<<8 | uint32(ip[15])
	h ^= uint32(a.Port())<<16 | uint32(a.Port())
	h ^= ssrc
	h *= 0x9E3779B1
	return h >> 26
}

// srcKey is what demultiplexes RTP: the datagram's source address and the
// SSRC in its header.
type srcKey struct {
	addr netip.AddrPort
	ssrc uint32
}

// source is a registered Source as the packet path sees it.
type source struct {
	Source
	m      *Meeting
	member uint32       // the meeting's number for Source.Member
	ua     *net.UDPAddr // Addr, built once for WriteBatch (feedback goes here)
	bucket bucket
}

// dest is one subscriber address of a track.
type dest struct {
	member uint32
	conn   uint64
	addr   netip.AddrPort
	ua     *net.UDPAddr
}

// subRef says that an address is subscribed to tracks (a bit per track)
// of meeting m; feedback from that address may go to m's sources.
type subRef struct {
	m      *Meeting
	tracks uint8
}

// meetingView is the immutable snapshot of one meeting that the packet
// path reads; the meeting publishes a new one on every change.
type meetingView struct {
	tracks [Tracks]trackView
	bySSRC map[uint32]*source
}

type trackView struct {
	mcast, mcastRTCP *net.UDPAddr // nil: no multicast for this track
	subs             []*dest      // unique addresses
}

// normal makes registered and received addresses comparable: IPv4 in its
// 4-byte form, no zone.
func normal(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
}

func udpAddr(a netip.AddrPort) *net.UDPAddr {
	return net.UDPAddrFromAddrPort(a)
}
