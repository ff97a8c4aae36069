// Package mcast joins test sockets to multicast groups on the loopback
// interface only, so that no multicast a test receives or provokes leaves
// the machine. It imports nothing of Huddle: the media package's own tests
// use it as well as the server's.
package mcast

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/ipv4"
)

// JoinLo returns a socket bound to group's port that has joined group on
// lo; it closes when the test ends.
func JoinLo(tb testing.TB, group netip.AddrPort) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(group))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		tb.Fatal(err)
	}
	if err := ipv4.NewPacketConn(c).JoinGroup(lo, &net.UDPAddr{IP: group.Addr().AsSlice()}); err != nil {
		tb.Fatal(err)
	}
	return c
}
