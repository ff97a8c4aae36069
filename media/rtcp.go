package media

import (
	"encoding/binary"
	"net/netip"

	"github.com/pion/rtcp"
)

// maxFeedback bounds the distinct sources one compound's feedback is
// routed to.
const maxFeedback = 4

// handleRTCP applies the RTCP rules to a compound packet that came muxed on
// the RTP port or on the RTCP port (from port+1 of a registered address).
//
// It first walks the compound with pion's header parser (no allocation)
// and reads the SSRCs it needs from fixed offsets, so that RTCP from
// unknown peers costs nothing more; only RTCP from a registered peer is
// then fully parsed with rtcp.Unmarshal before it is forwarded unchanged.
func (w *worker) handleRTCP(b []byte, from netip.AddrPort, muxed bool, now int64) {
	w.c.rtcpIn++
	peer := from
	if !muxed {
		if from.Port() == 0 {
			w.c.unregistered++
			return
		}
		peer = netip.AddrPortFrom(from.Addr(), from.Port()-1)
	}
	var (
		sender            uint32
		senderInfo, mixed bool // an SR, SDES or BYE; a second sender SSRC
		feedback          [maxFeedback]uint32
		nfb               int
		h                 rtcp.Header
	)
	for off := 0; off < len(b); {
		if h.Unmarshal(b[off:]) != nil {
			w.c.malformed++
			return
		}
		size := 4 * (int(h.Length) + 1)
		if off+size > len(b) || size < 8 || (h.Padding && (off+size != len(b) || !rtcpPaddingOK(b[off:off+size]))) {
			w.c.malformed++
			return
		}
		p := b[off : off+size]
		ssrc := binary.BigEndian.Uint32(p[4:8])
		switch h.Type {
		case rtcp.TypeSenderReport, rtcp.TypeReceiverReport, rtcp.TypeSourceDescription, rtcp.TypeGoodbye:
			if h.Type == rtcp.TypeSenderReport && size < 28 {
				w.c.malformed++
				return
			}
			if off == 0 {
				sender = ssrc
			} else if ssrc != sender && h.Type != rtcp.TypeReceiverReport {
				mixed = true
			}
			senderInfo = senderInfo || h.Type != rtcp.TypeReceiverReport
		case rtcp.TypeTransportSpecificFeedback:
			if h.Count == rtcp.FormatTLN && size >= 16 {
				nfb = addFeedback(&feedback, nfb, binary.BigEndian.Uint32(p[8:12]))
			}
		case rtcp.TypePayloadSpecificFeedback:
			switch {
			case h.Count == rtcp.FormatPLI && size >= 12:
				nfb = addFeedback(&feedback, nfb, binary.BigEndian.Uint32(p[8:12]))
			case h.Count == rtcp.FormatFIR:
				// FIR names its targets in the FCI: SSRC, seq, 3 reserved.
				for i := 12; i+8 <= size; i += 8 {
					nfb = addFeedback(&feedback, nfb, binary.BigEndian.Uint32(p[i:i+4]))
				}
			}
		}
		off += size
	}

	var src *source
	if senderInfo && !mixed {
		src, _ = w.r.sources.load(shardOf(peer, sender), srcKey{peer, sender})
	}
	var refs []subRef
	if nfb > 0 {
		refs, _ = w.r.subs.load(shardOf(peer, 0), peer)
	}
	if src == nil && refs == nil {
		w.c.unregistered++
		return
	}
	// From a registered peer: check the bodies too before anything goes
	// out. This allocates, but only for RTCP of registered peers (a few
	// packets per second per stream, RFC 3550 §6.2); junk was dropped
	// above without it.
	if _, err := rtcp.Unmarshal(b); err != nil {
		w.c.malformed++
		return
	}
	handled := false
	if src != nil {
		handled = true
		if src.bucket.take(now) {
			t := &src.m.view.Load().tracks[src.Track]
			w.fanOut(b, src, t, t.mcastRTCP)
		} else {
			w.c.rateLimited++
			src.m.counts[w.id].rateLimited.Add(1)
		}
	}
	for _, ssrc := range feedback[:nfb] {
		if w.routeFeedback(b, refs, ssrc) {
			handled = true
		}
	}
	if !handled {
		w.c.unregistered++
	}
}

// routeFeedback sends b to the source with media SSRC ssrc in a meeting
// where the sender of b subscribes to that source's track.
func (w *worker) routeFeedback(b []byte, refs []subRef, ssrc uint32) bool {
	for _, ref := range refs {
		s := ref.m.view.Load().bySSRC[ssrc]
		if s != nil && ref.tracks&(1<<s.Track) != 0 {
			w.emit(b, s.ua)
			w.c.feedbackRouted++
			s.m.counts[w.id].forwarded[s.Track].Add(1)
			return true
		}
	}
	return false
}

func addFeedback(fb *[maxFeedback]uint32, n int, ssrc uint32) int {
	for _, s := range fb[:n] {
		if s == ssrc {
			return n
		}
	}
	if n == len(fb) {
		return n
	}
	fb[n] = ssrc
	return n + 1
}

// rtcpPaddingOK checks the padding of the last packet of a compound: the
// last byte counts padding bytes, a multiple of 4 inside the body.
func rtcpPaddingOK(p []byte) bool {
	n := int(p[len(p)-1])
	return n > 0 && n%4 == 0 && n <= len(p)-4
}
