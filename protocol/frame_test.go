package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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

// TestFrameReader: the frames ReadFrame reads, the same errors, and
// payloads that later frames do not overwrite, whether carved from a chunk
// or (past a quarter of one) allocated alone.
func TestFrameReader(t *testing.T) {
	big := bytes.Repeat([]byte("b"), slabSize/4+1)
	var stream []byte
	var want [][]byte
	for i := range 3 * slabSize / 100 { // several chunks' worth of small frames
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%199)
		stream, want = AppendFrame(stream, p), append(want, p)
		if i == 100 {
			stream, want = AppendFrame(stream, big), append(want, big)
		}
	}
	fr := NewFrameReader(bufio.NewReaderSize(bytes.NewReader(stream), 4096))
	var got [][]byte
	for range want {
		p, err := fr.Next(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: %d bytes %.8q…, want %d bytes %.8q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
	if _, err := fr.Next(1 << 20); err != io.EOF {
		t.Fatalf("at end: err = %v, want EOF", err)
	}
	for _, c := range []struct {
		in   []byte
		want error
	}{
		{[]byte{0, 0, 1, 0}, ErrFrameTooLarge},
		{[]byte{0, 0, 0, 0}, ErrEmptyFrame},
		{[]byte{0, 0, 0, 9, 'x'}, io.ErrUnexpectedEOF},
		{[]byte{0, 0}, io.ErrUnexpectedEOF},
	} {
		fr := NewFrameReader(bufio.NewReader(bytes.NewReader(c.in)))
		if _, err := fr.Next(64); !errors.Is(err, c.want) {
			t.Errorf("Next of % x: err = %v, want %v", c.in, err, c.want)
		}
	}
}

// FuzzFrameReader: over any bytes a FrameReader reads the payloads and
// the error ReadFrame reads.
func FuzzFrameReader(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, []byte(`{"type":"msg.new"}`)), []byte(`{}`)))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 3, 'a'})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 300
		fr := NewFrameReader(bufio.NewReaderSize(bytes.NewReader(data), 16))
		r := bytes.NewReader(data)
		for {
			got, gerr := fr.Next(max)
			want, werr := ReadFrame(r, max)
			if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("Next = %q, %v; ReadFrame = %q, %v", got, gerr, want, werr)
			}
			if werr != nil {
				return
			}
		}
	})
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
