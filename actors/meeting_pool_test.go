package actors

import (
	"net/netip"
	"testing"

	"huddle/storage"
)

func TestAddrPool(t *testing.T) {
	// Room for two meetings: three groups but only 20 ports.
	p := newAddrPool(netip.MustParsePrefix("239.255.7.0/30"), 20000, 20019)
	g1, ports1, ok := p.take()
	if !ok || g1.String() != "239.255.7.1" || ports1 != [storage.NumTracks]uint16{20000, 20002, 20004, 20006, 20008} {
		t.Fatalf("first take = %s %v %v", g1, ports1, ok)
	}
	g2, ports2, ok := p.take()
	if !ok || g2.String() != "239.255.7.2" || ports2[0] != 20010 {
		t.Fatalf("second take = %s %v %v", g2, ports2, ok)
	}
	if _, _, ok := p.take(); ok {
		t.Fatal("a third meeting got addresses from a full pool")
	}
	p.release(g1, ports1)
	if g, ports, ok := p.take(); !ok || g != g1 || ports != ports1 {
		t.Fatalf("take after release = %s %v %v, want the freed %s %v", g, ports, ok, g1, ports1)
	}
	// A restored meeting keeps its addresses even outside today's ranges,
	// and what it holds is not handed out.
	p = newAddrPool(netip.MustParsePrefix("239.255.7.0/29"), 20000, 20099)
	p.hold(storage.Meeting{Group: netip.MustParseAddr("239.255.7.1"), Ports: [storage.NumTracks]uint16{20010, 20012, 20014, 20016, 20018}})
	if g, ports, ok := p.take(); !ok || g.String() == "239.255.7.1" || ports[0] == 20010 {
		t.Fatalf("take beside a restored meeting = %s %v %v", g, ports, ok)
	}
}
