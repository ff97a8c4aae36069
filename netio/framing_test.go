package netio_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"huddle/protocol"
)

// Replies come back in request order whether the server answers itself
// (ping) or the handler does (echo), however the frames are cut into writes.
func TestFraming(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig())

	// Odd ids are pings; even ids go through the handler and echo their id.
	batch := func(first, last uint64) []byte {
		var b []byte
		for id := first; id <= last; id++ {
			if id%2 == 1 {
				b = append(b, encode(t, id, protocol.TypePing, nil)...)
			} else {
				b = append(b, encode(t, id, typeEcho, map[string]uint64{"n": id})...)
			}
		}
		return b
	}
	tests := []struct {
		name        string
		first, last uint64
		split       func(b []byte) [][]byte
	}{
		{"many frames in one write", 2, 201, func(b []byte) [][]byte { return [][]byte{b} }},
		{"byte by byte", 2, 4, func(b []byte) [][]byte {
			parts := make([][]byte, len(b))
			for i := range b {
				parts[i] = b[i : i+1]
			}
			return parts
		}},
		{"cut inside every header", 2, 21, func(b []byte) [][]byte {
			var parts [][]byte
			for start, next := 0, 0; next < len(b); {
				next += protocol.HeaderSize + int(binary.BigEndian.Uint32(b[next:]))
				cut := min(next+2, len(b))
				parts = append(parts, b[start:cut])
				start = cut
			}
			return parts
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.dial(t)
			for _, part := range tt.split(batch(tt.first, tt.last)) {
				c.write(part)
				time.Sleep(200 * time.Microsecond) // so that the loop sees each part on its own
			}
			for id := tt.first; id <= tt.last; id++ {
				m := c.expectOK(id)
				if id%2 == 1 {
					continue
				}
				var echo map[string]uint64
				if err := json.Unmarshal(m.Data, &echo); err != nil || echo["n"] != id {
					t.Fatalf("echo %d returned %s", id, m.Data)
				}
			}
		})
	}
}

// A frame of exactly max_frame is accepted; a header declaring more, or
// zero, is answered with an error and the connection is closed, without
// waiting for a payload that will never be read.
func TestFrameLimits(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	srv := startServer(t, cfg)

	t.Run("exactly max_frame", func(t *testing.T) {
		c := srv.dial(t)
		c.write(protocol.AppendFrame(nil, requestOfSize(t, 2, cfg.MaxFrame)))
		c.expectOK(2)
		c.request(3, protocol.TypePing, nil)
		c.expectOK(3)
	})

	bad := []struct {
		name   string
		header uint32
		want   protocol.Code
	}{
		{"one over max_frame", uint32(cfg.MaxFrame) + 1, protocol.CodeTooLarge},
		{"4 GiB declared", 1<<32 - 1, protocol.CodeTooLarge},
		{"zero length", 0, protocol.CodeBadRequest},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().BadFrames
			c := srv.dial(t)
			// A valid ping behind the bad header must not be answered.
			c.write(append(binary.BigEndian.AppendUint32(nil, tt.header), encode(t, 2, protocol.TypePing, nil)...))
			c.expectError(0, tt.want)
			c.expectClosed()
			if got := srv.Stats().BadFrames; got <= before {
				t.Fatalf("bad frames = %d, not counted", got)
			}
		})
	}

	t.Run("others unaffected", func(t *testing.T) {
		c := srv.dial(t)
		c.request(2, protocol.TypePing, nil)
		c.expectOK(2)
	})
}

// requestOfSize returns an echo request payload of exactly n bytes.
func requestOfSize(t *testing.T, id uint64, n int) []byte {
	t.Helper()
	empty := fmt.Sprintf(`{"id":%d,"type":%q,"data":{"pad":""}}`, id, typeEcho)
	if len(empty) > n {
		t.Fatalf("cannot build a %d-byte request", n)
	}
	return fmt.Appendf(nil, `{"id":%d,"type":%q,"data":{"pad":%q}}`, id, typeEcho, strings.Repeat("x", n-len(empty)))
}
