//go:build !linux

package main

import "net"

// forwarder is hop's stand-in for the relay; it needs Linux (a process
// pinned to a CPU, blocking recvmmsg and sendmmsg).
type forwarder struct {
	addr               *net.UDPAddr
	dropped, truncated int64
}

func startForwarder(int, int) (*forwarder, error) { return nil, usagef("hop runs on Linux only") }
func forwarderMain(string) int                    { return 1 }

func (f *forwarder) pid() int                                 { return 0 }
func (f *forwarder) route(*net.UDPAddr, []*net.UDPAddr) error { return nil }
func (f *forwarder) ready() error                             { return nil }
func (f *forwarder) stop() error                              { return nil }
