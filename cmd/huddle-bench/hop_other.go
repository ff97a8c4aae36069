//go:build !linux

package main

import "net"

// forwarder is hop's stand-in for the relay; it needs Linux (a blocking
// socket read by a pinned thread).
type forwarder struct{ addr *net.UDPAddr }

func newForwarder(int, int) (*forwarder, error) {
	return nil, usagef("hop runs on Linux only")
}

func (f *forwarder) close()                                {}
func (f *forwarder) route(*net.UDPAddr, []*net.UDPAddr)    {}
func (f *forwarder) start() (stop func() error, err error) { return func() error { return nil }, nil }
