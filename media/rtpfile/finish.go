package rtpfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// ErrNotContainer is returned by Repair for a file that does not begin as
// its format does (no whole first Ogg page, no IVF header): there is
// nothing to keep, and the file is left as it is.
var ErrNotContainer = errors.New("rtpfile: not the start of the container")

// Repair makes a file that a crash interrupted well-formed, as Close
// would have: what follows the last whole Ogg page or IVF frame is cut
// off, the last Ogg page is marked as the end of the stream, the IVF
// header gets its frame count. It reads the file's page or frame headers
// (the whole of each Ogg page, to check its CRC), syncs the file when it
// changed it, and returns the file's size.
func Repair(path string, format Format) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	size, changed, err := finish(f, format)
	if err == nil && changed {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return size, fmt.Errorf("repair %s: %w", path, err)
	}
	return size, nil
}

// finish makes f well-formed and returns its size and whether it had to
// change it.
func finish(f *os.File, format Format) (size int64, changed bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	size = st.Size()
	var end int64
	switch format {
	case Ogg:
		end, changed, err = finishOgg(f, size)
	case IVF:
		end, changed, err = finishIVF(f, size)
	default:
		err = fmt.Errorf("rtpfile: no container for format %d", format)
	}
	if err != nil {
		return size, false, err
	}
	if end < size {
		if err := f.Truncate(end); err != nil {
			return size, true, err
		}
		changed = true
	}
	return end, changed, nil
}

// Ogg pages (RFC 3533 §6): a 27-byte header, a segment table of up to 255
// lacing values, then the sum of those values in bytes.
const (
	oggHeader = 27
	oggEOS    = 0x04 // header type flag: last page of the logical stream
)

// finishOgg walks the pages of a single-stream Ogg file, marks the last
// whole one as the end of the stream, and returns where it ends.
func finishOgg(f *os.File, size int64) (end int64, changed bool, err error) {
	page := make([]byte, oggHeader+255+255*255)
	var off, last int64 = 0, -1
	for off+oggHeader <= size {
		h := page[:oggHeader]
		if _, err := f.ReadAt(h, off); err != nil {
			return 0, false, err
		}
		if string(h[:4]) != "OggS" || h[4] != 0 {
			break
		}
		n := oggHeader + int(h[26])
		if off+int64(n) > size {
			break
		}
		if _, err := f.ReadAt(page[oggHeader:n], off+oggHeader); err != nil {
			return 0, false, err
		}
		for _, lace := range page[oggHeader:n] {
			n += int(lace)
		}
		if off+int64(n) > size {
			break
		}
		if _, err := f.ReadAt(page[:n], off); err != nil {
			return 0, false, err
		}
		if oggCRC(page[:n]) != binary.LittleEndian.Uint32(page[22:26]) {
			break
		}
		last, off = off, off+int64(n)
	}
	if last < 0 {
		return 0, false, ErrNotContainer
	}
	n := int(off - last)
	if _, err := f.ReadAt(page[:n], last); err != nil {
		return 0, false, err
	}
	if page[5]&oggEOS == 0 {
		page[5] |= oggEOS
		binary.LittleEndian.PutUint32(page[22:26], oggCRC(page[:n]))
		if _, err := f.WriteAt(page[:oggHeader], last); err != nil {
			return 0, false, err
		}
		changed = true
	}
	return off, changed, nil
}

// oggCRC is the page checksum of RFC 3533: CRC-32 with polynomial
// 0x04c11db7, not reflected, initial value 0, computed with the checksum
// field as zeros.
func oggCRC(page []byte) uint32 {
	var crc uint32
	for i, b := range page {
		if i >= 22 && i < 26 {
			b = 0
		}
		crc = crc<<8 ^ oggTable[byte(crc>>24)^b]
	}
	return crc
}

var oggTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// IVF: a 32-byte file header ("DKIF", version, header size, FourCC, ...,
// frame count at 24), then frames of a 12-byte header (size, PTS) and data.
const (
	ivfHeader      = 32
	ivfFrameHeader = 12
)

// finishIVF walks the frames of an IVF file, writes their number into the
// header, and the picture size of the first frame when it is a VP8 key
// frame (pion writes 640x480 whatever the stream), and returns where the
// last whole frame ends.
func finishIVF(f *os.File, size int64) (end int64, changed bool, err error) {
	var h [ivfHeader]byte
	if size < ivfHeader {
		return 0, false, ErrNotContainer
	}
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, false, err
	}
	hs := int64(binary.LittleEndian.Uint16(h[6:8]))
	if string(h[:4]) != "DKIF" || hs < ivfHeader || hs > size {
		return 0, false, ErrNotContainer
	}
	off, frames := hs, uint32(0)
	var fh [ivfFrameHeader]byte
	for off+ivfFrameHeader <= size {
		if _, err := f.ReadAt(fh[:], off); err != nil {
			return 0, false, err
		}
		next := off + ivfFrameHeader + int64(binary.LittleEndian.Uint32(fh[:4]))
		if next > size {
			break
		}
		if frames == 0 && next-off >= ivfFrameHeader+10 {
			var kf [10]byte
			if _, err := f.ReadAt(kf[:], off+ivfFrameHeader); err != nil {
				return 0, false, err
			}
			if w, h2, ok := vp8KeyFrameSize(kf); ok && (binary.LittleEndian.Uint16(h[12:14]) != w || binary.LittleEndian.Uint16(h[14:16]) != h2) {
				binary.LittleEndian.PutUint16(h[12:14], w)
				binary.LittleEndian.PutUint16(h[14:16], h2)
				if _, err := f.WriteAt(h[12:16], 12); err != nil {
					return 0, false, err
				}
				changed = true
			}
		}
		off = next
		frames++
	}
	if binary.LittleEndian.Uint32(h[24:28]) != frames {
		binary.LittleEndian.PutUint32(h[24:28], frames)
		if _, err := f.WriteAt(h[24:28], 24); err != nil {
			return 0, false, err
		}
		changed = true
	}
	return off, changed, nil
}

// vp8KeyFrameSize reads the picture size from the first bytes of a VP8
// frame (RFC 6386 §9.1: a 3-byte tag whose lowest bit is 0 for a key frame,
// the start code 9d 01 2a, then width and height in 14 bits each).
func vp8KeyFrameSize(b [10]byte) (w, h uint16, ok bool) {
	if b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, false
	}
	w, h = binary.LittleEndian.Uint16(b[6:8])&0x3fff, binary.LittleEndian.Uint16(b[8:10])&0x3fff
	return w, h, w != 0 && h != 0
}
