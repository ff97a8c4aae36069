// Package media is Huddle's RTP relay. It owns the UDP sockets that carry
// meetings' media and the forwarding table that says which datagram goes
// where: one RTP port and one RTCP port (RTP port+1) shared by every
// meeting, a few SO_REUSEPORT sockets on each, and a table of registered
// sources (address + SSRC) and subscribers that the meeting actor edits.
//
// It knows RTP and RTCP framing and UDP; it must not know users,
// connections or storage: of Huddle it imports only the leaf helpers
// internal/hist (latency histograms) and internal/kstamp (kernel receive
// timestamps). Tracks are small ints 0..4 and payload types are given by
// the caller. The packet path takes no lock and allocates nothing; the
// table is copy-on-write. docs/media.md explains the design.
package media
