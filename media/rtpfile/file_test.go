package rtpfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"

	"huddle/internal/testutil/mediafile"
)

// opusPacket is a 20 ms CELT-only Opus packet (TOC 0xF8) of n+1 bytes.
func opusPacket(i, n int) *rtp.Packet {
	b := bytes.Repeat([]byte{byte(i)}, n+1)
	b[0] = 0xF8
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(960 * i), SSRC: 1}, Payload: b}
}

// vp8Packets splits a synthetic VP8 frame of n bytes (a key frame when
// key) into RTP packets of up to 1000 bytes, each after a one-byte VP8
// descriptor (S=1 on the first), the marker on the last.
func vp8Packets(i, n int, key bool) []*rtp.Packet {
	frame := bytes.Repeat([]byte{byte(i)}, n)
	frame[0] = 0x10
	if !key {
		frame[0] |= 1
	}
	var ps []*rtp.Packet
	for off := 0; off < n; off += 1000 {
		d := byte(0x00)
		if off == 0 {
			d = 0x10
		}
		end := min(off+1000, n)
		ps = append(ps, &rtp.Packet{Header: rtp.Header{Marker: end == n, Timestamp: uint32(3000 * i), SSRC: 2},
			Payload: append([]byte{d}, frame[off:end]...)})
	}
	return ps
}

// limit is a Budget of n bytes.
type limit struct{ left int64 }

func (l *limit) Take(n int64) bool {
	if n > l.left {
		l.left = -1
		return false
	}
	l.left -= n
	return l.left >= 0
}

// readOgg returns the Opus packets of an Ogg file and whether its last
// page ends the stream.
func readOgg(t *testing.T, path string) ([][]byte, bool) {
	t.Helper()
	packets, eos, err := mediafile.ReadOgg(path)
	if err != nil {
		t.Fatal(err)
	}
	return packets, eos
}

// readIVF returns an IVF file's frames.
func readIVF(t *testing.T, path string) [][]byte {
	t.Helper()
	frames, _, err := mediafile.ReadIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func create(t *testing.T, format Format, budget Budget) *File {
	t.Helper()
	f, err := Create(filepath.Join(t.TempDir(), "f"+format.Ext()), format, budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func mustClose(t *testing.T, f *File) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(f.Path()); err != nil || st.Size() != f.Size() {
		t.Fatalf("%s: stat %v, %v; Size %d", f.Path(), st, err, f.Size())
	}
}

func TestOggFile(t *testing.T) {
	f := create(t, Ogg, nil)
	var want [][]byte
	for i := range 20 {
		p := opusPacket(i, 10+30*i) // past 255 bytes: more than one lacing value
		want = append(want, p.Payload)
		if err := f.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	// Code 3 without a frame count: refused, and the file goes on.
	if err := f.WriteRTP(&rtp.Packet{Payload: []byte{0xFB}}); !errors.Is(err, ErrRejected) {
		t.Fatalf("bad Opus packet: %v", err)
	}
	p := opusPacket(20, 5)
	want = append(want, p.Payload)
	if err := f.WriteRTP(p); err != nil {
		t.Fatal(err)
	}
	mustClose(t, f)
	got, eos := readOgg(t, f.Path())
	if !eos || len(got) != len(want) {
		t.Fatalf("%d packets, end of stream %v; want %d", len(got), eos, len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestIVFFile(t *testing.T) {
	f := create(t, IVF, nil)
	var want [][]byte
	for i := range 6 {
		ps := vp8Packets(i, 500+900*i, i%3 == 0)
		if i == 0 {
			// A key frame's start code and picture size, 352x288
			// (RFC 6386 §9.1), which the header must give.
			copy(ps[0].Payload[1+3:], []byte{0x9d, 0x01, 0x2a, 0x60, 0x01, 0x20, 0x01})
		}
		for _, p := range ps {
			if err := f.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
		var frame []byte
		for _, p := range ps {
			frame = append(frame, p.Payload[1:]...)
		}
		want = append(want, frame)
	}
	// A frame whose last packet never comes is not in the file.
	if err := f.WriteRTP(vp8Packets(6, 3000, false)[0]); err != nil {
		t.Fatal(err)
	}
	mustClose(t, f)
	got := readIVF(t, f.Path())
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	hdr, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if w, h := binary.LittleEndian.Uint16(hdr[12:14]), binary.LittleEndian.Uint16(hdr[14:16]); w != 352 || h != 288 {
		t.Fatalf("the header says %dx%d, the key frame 352x288", w, h)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
}

// TestBudget: the file stops at the budget, between whole pages and
// frames, and Close leaves it well-formed.
func TestBudget(t *testing.T) {
	for _, format := range []Format{Ogg, IVF} {
		t.Run(format.Ext(), func(t *testing.T) {
			const max = 3000
			f := create(t, format, &limit{left: max})
			var err error
			for i := 0; err == nil && i < 100; i++ {
				if format == Ogg {
					err = f.WriteRTP(opusPacket(i, 200))
				} else {
					for _, p := range vp8Packets(i, 700, i == 0) {
						err = errors.Join(err, f.WriteRTP(p))
					}
				}
			}
			if !errors.Is(err, ErrFull) || f.Size() > max {
				t.Fatalf("after %d bytes: %v", f.Size(), err)
			}
			if err := f.WriteRTP(opusPacket(0, 1)); !errors.Is(err, ErrFull) {
				t.Fatalf("after ErrFull: %v", err)
			}
			mustClose(t, f)
			if format == Ogg {
				if got, eos := readOgg(t, f.Path()); len(got) < 5 || !eos {
					t.Fatalf("%d packets, end of stream %v", len(got), eos)
				}
			} else if got := readIVF(t, f.Path()); len(got) < 3 {
				t.Fatalf("%d frames", len(got))
			}
		})
	}
	// A budget too small for the header: no file.
	path := filepath.Join(t.TempDir(), "a.ogg")
	if _, err := Create(path, Ogg, &limit{left: 10}); !errors.Is(err, ErrFull) {
		t.Fatalf("Create: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file left after a refused header: %v", err)
	}
}

func TestFrameTooLarge(t *testing.T) {
	f := create(t, IVF, nil)
	for _, p := range vp8Packets(0, 100, true) {
		if err := f.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	chunk := &rtp.Packet{Payload: make([]byte, 1400)}
	var err error
	for i := 0; err == nil && i < maxFrame/1400+2; i++ {
		err = f.WriteRTP(chunk)
	}
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("a frame without end: %v", err)
	}
	mustClose(t, f)
	if got := readIVF(t, f.Path()); len(got) != 1 {
		t.Fatalf("%d frames, want the one before", len(got))
	}
}

// TestRepair cuts finished files at every offset, as a crash could leave
// them, and checks that Repair keeps every whole page or frame and makes
// the file well-formed; a broken CRC ends the pages too.
func TestRepair(t *testing.T) {
	dir := t.TempDir()
	ogg, ivf := create(t, Ogg, nil), create(t, IVF, nil)
	oggHeaders := int(ogg.Size()) // OpusHead and OpusTags
	for i := range 5 {
		if err := ogg.WriteRTP(opusPacket(i, 20+30*i)); err != nil {
			t.Fatal(err)
		}
		for _, p := range vp8Packets(i, 20+30*i, i == 0) {
			if err := ivf.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustClose(t, ogg)
	mustClose(t, ivf)
	for _, tt := range []struct {
		f        *File
		count    func(string) int
		header   int // bytes before a reader takes the file
		complete int
	}{
		{ogg, func(p string) int { n, _ := readOgg(t, p); return len(n) }, oggHeaders, 5},
		{ivf, func(p string) int { return len(readIVF(t, p)) }, ivfHeader, 5},
	} {
		whole, err := os.ReadFile(tt.f.Path())
		if err != nil {
			t.Fatal(err)
		}
		prev, kept := -1, 0
		for cut := 0; cut <= len(whole); cut++ {
			path := filepath.Join(dir, "cut"+tt.f.format.Ext())
			if err := os.WriteFile(path, whole[:cut], 0o600); err != nil {
				t.Fatal(err)
			}
			size, err := Repair(path, tt.f.format)
			if errors.Is(err, ErrNotContainer) {
				if kept > 0 {
					t.Fatalf("%s cut at %d: not a container after keeping %d bytes", path, cut, kept)
				}
				continue
			}
			if err != nil {
				t.Fatalf("cut at %d: %v", cut, err)
			}
			if st, _ := os.Stat(path); st.Size() != size || size > int64(cut) || int(size) < kept {
				t.Fatalf("cut at %d: size %d, file %d, kept before %d", cut, size, st.Size(), kept)
			}
			kept = int(size)
			if cut < tt.header {
				continue
			}
			n := tt.count(path)
			if n < prev {
				t.Fatalf("cut at %d: %d units, %d before", cut, n, prev)
			}
			prev = n
		}
		if prev != tt.complete {
			t.Fatalf("%s whole: %d units", tt.f.Path(), prev)
		}
	}
	// A page whose CRC does not match ends the file before it.
	whole, _ := os.ReadFile(ogg.Path())
	whole[len(whole)-1] ^= 0xFF
	path := filepath.Join(dir, "crc.ogg")
	if err := os.WriteFile(path, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(path, Ogg); err != nil {
		t.Fatal(err)
	}
	if n, eos := readOgg(t, path); len(n) != 4 || !eos {
		t.Fatalf("after a bad CRC: %d packets, end of stream %v", len(n), eos)
	}
	// An IVF header with a wrong count gets the right one.
	whole, _ = os.ReadFile(ivf.Path())
	binary.LittleEndian.PutUint32(whole[24:], 900)
	path = filepath.Join(dir, "count.ivf")
	if err := os.WriteFile(path, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(path, IVF); err != nil {
		t.Fatal(err)
	}
	readIVF(t, path)
}
