// Package rtpfile turns the RTP a unicast subscriber of the relay receives
// into standard files: Opus into Ogg (RFC 7845), VP8 into IVF, with pion's
// writers, and T.140 payloads (RFC 4103) into tidy text. The CLI's
// `meeting subscribe` and the server's recorder (media/record) both write
// through it, so a track reads the same wherever it was saved.
//
// It owns the bytes of one file at a time: what a packet produces reaches
// the file whole or not at all (so a byte budget never cuts a page or a
// frame), and Close or Repair leaves the file well-formed (Ogg end of
// stream, IVF frame count, a torn tail cut off). It must not know meetings,
// members or sockets: the caller picks the path and filters the packets.
package rtpfile
