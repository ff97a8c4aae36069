package netio_test

import (
	"testing"

	"huddle/protocol"
)

// BenchmarkRoundTrip times one request and its reply on one connection:
// ping is answered by netio itself, echo goes through the Handler. Each op
// is a write, a trip through the event loop and Send's flush, and a read.
func BenchmarkRoundTrip(b *testing.B) {
	srv := startServer(b, testConfig())
	for _, typ := range []string{protocol.TypePing, typeEcho} {
		b.Run(typ, func(b *testing.B) {
			c := srv.dial(b)
			frame := encode(b, 2, typ, nil)
			c.write(frame)
			c.expectOK(2)
			b.ReportAllocs()
			for b.Loop() {
				c.write(frame)
				if _, err := protocol.ReadFrame(c.br, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
