// Package kstamp reads the kernel's receive timestamps of UDP datagrams
// (SO_TIMESTAMPNS, Linux only): when the kernel took a datagram in, before
// the program that reads it ran at all. The relay (media) measures the
// latency it adds from them, huddle-bench the delivery latency at its
// subscribers.
//
// It only turns the option on and parses the control message, without
// allocating; the callers own their sockets and recvmmsg buffers. On other
// systems the package is empty.
package kstamp
