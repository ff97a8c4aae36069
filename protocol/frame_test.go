package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestSplitFrame(t *testing.T) {
	two := AppendFrame(AppendFrame(nil, []byte(`{"a":1}`)), []byte(`{"b":2}`))
	tests := []struct {
		name    string
		buf     []byte
		payload string
		n       int
		err     error
	}{
		{"empty buffer", nil, "", 0, ErrIncomplete},
		{"partial header", []byte{0, 0}, "", 0, ErrIncomplete},
		{"header only", []byte{0, 0, 0, 5}, "", 0, ErrIncomplete},
		{"partial payload", []byte{0, 0, 0, 5, 'a', 'b'}, "", 0, ErrIncomplete},
		{"zero length", []byte{0, 0, 0, 0}, "", 0, ErrEmptyFrame},
		{"too large", []byte{0, 0, 4, 1}, "", 0, ErrFrameTooLarge},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, "", 0, ErrFrameTooLarge},
		{"first of two", two, `{"a":1}`, 11, nil},
		{"at limit", AppendFrame(nil, bytes.Repeat([]byte("x"), 1024)), string(bytes.Repeat([]byte("x"), 1024)), 1028, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n, err := SplitFrame(tt.buf, 1024)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if string(p) != tt.payload || n != tt.n {
				t.Fatalf("got (%q, %d), want (%q, %d)", p, n, tt.payload, tt.n)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	stream := AppendFrame(AppendFrame(nil, []byte("one")), []byte("three"))
	r := bytes.NewReader(stream)
	for _, want := range []string{"one", "three"} {
		got, err := ReadFrame(r, 64)
		if err != nil || string(got) != want {
			t.Fatalf("ReadFrame = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadFrame(r, 64); err != io.EOF {
		t.Fatalf("at end: err = %v, want EOF", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 1, 0}), 64); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized: err = %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 9, 'x'}), 64); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: err = %v", err)
	}
}

// FuzzSplitFrame feeds arbitrary bytes, split at every offset, and checks that
// incremental framing agrees with framing the whole buffer at once.
func FuzzSplitFrame(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, []byte(`{"id":1,"type":"ping"}`)), []byte(`{}`)))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 3, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 256
		whole := frameAll(data, max)
		for cut := 0; cut <= len(data); cut++ {
			// Feed data in two reads, as a socket might deliver it.
			var buf []byte
			var got []string
			var gotErr error
			for _, chunk := range [][]byte{data[:cut], data[cut:]} {
				buf = append(buf, chunk...)
				for {
					p, n, err := SplitFrame(buf, max)
					if errors.Is(err, ErrIncomplete) {
						break
					}
					if err != nil {
						gotErr = err
						break
					}
					if n != HeaderSize+len(p) || len(p) == 0 || len(p) > max {
						t.Fatalf("bad frame: n=%d len=%d", n, len(p))
					}
					got = append(got, string(p))
					buf = buf[n:]
				}
				if gotErr != nil {
					break
				}
			}
			if len(got) != len(whole.frames) || (gotErr == nil) != (whole.err == nil) {
				t.Fatalf("cut %d: %d frames err=%v; whole: %d frames err=%v", cut, len(got), gotErr, len(whole.frames), whole.err)
			}
			for i := range got {
				if got[i] != whole.frames[i] {
					t.Fatalf("cut %d frame %d differs", cut, i)
				}
			}
		}
	})
}

type framed struct {
	frames []string
	err    error
}

func frameAll(data []byte, max int) framed {
	var out framed
	for {
		if len(data) >= HeaderSize {
			if n := binary.BigEndian.Uint32(data); n == 0 || n > uint32(max) {
				out.err = ErrFrameTooLarge
				return out
			}
		}
		p, n, err := SplitFrame(data, max)
		if err != nil {
			if !errors.Is(err, ErrIncomplete) {
				out.err = err
			}
			return out
		}
		out.frames = append(out.frames, string(p))
		data = data[n:]
	}
}
