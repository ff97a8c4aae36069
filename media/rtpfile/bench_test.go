package rtpfile

import (
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
)

// BenchmarkWriteRTP is what recording costs per packet on top of the
// relay: the container writer, the budget, and one write(2) into the page
// cache (a real file in the test's temporary directory; Close's fsync is
// outside the timing). Opus: 80-byte payloads, a page each; VP8: a 3,000-byte
// frame in three packets, one IVF frame per three packets.
func BenchmarkWriteRTP(b *testing.B) {
	for _, c := range []struct {
		name    string
		format  Format
		packets func(i int) []*rtp.Packet
	}{
		{"opus", Ogg, func(i int) []*rtp.Packet { return []*rtp.Packet{opusPacket(i, 80)} }},
		{"vp8", IVF, func(i int) []*rtp.Packet { return vp8Packets(i, 3000, i%30 == 0) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, err := Create(filepath.Join(b.TempDir(), "f"+c.format.Ext()), c.format, &limit{left: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			ps := make([][]*rtp.Packet, 64)
			for i := range ps {
				ps[i] = c.packets(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; b.Loop(); i++ {
				for _, p := range ps[i%len(ps)] {
					p.Timestamp = uint32(960 * i) // on, as a stream's clock goes
					if err := f.WriteRTP(p); err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
