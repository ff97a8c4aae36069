package rtpfile

import (
	"net/netip"
	"strings"

	"github.com/pion/rtp"
)

// Parse parses datagram b, received from from, into p and reports whether
// it is RTP with payload type pt that came from the relay's IP. Muxed RTCP
// (RFC 5761: second byte 192-223), datagrams from any other IP, what does
// not parse and other payload types are false. p's slices point into b.
func Parse(b []byte, from netip.AddrPort, relay netip.Addr, pt uint8, p *rtp.Packet) bool {
	if from.Addr().Unmap() != relay || len(b) < 2 || (b[1] >= 192 && b[1] <= 223) {
		return false
	}
	return p.Unmarshal(b) == nil && p.PayloadType == pt
}

// T140Text tidies a T.140 payload (RFC 4103): the zero-width no-break
// space T.140 sends as a keep-alive is dropped, line separators become
// newlines, and the line ends of the last line go.
func T140Text(s string) string {
	s = strings.ReplaceAll(s, "\uFEFF", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\u2028", "\n")
	return strings.TrimRight(s, "\r\n")
}
