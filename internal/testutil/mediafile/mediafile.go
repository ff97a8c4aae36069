// Package mediafile reads back the Ogg/Opus and IVF/VP8 files that tests
// write or record (media/rtpfile, media/record), checking that they are
// whole: pion's readers check the pages' CRCs and the frames' lengths,
// and this package adds what they leave out (the lacing of Ogg packets,
// the end of the stream, the IVF header's frame count).
package mediafile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// ReadOgg returns the Opus packets of a single-stream Ogg file, its
// OpusHead and OpusTags left out, and whether its last page ends the
// stream. It follows the lacing values, since ffmpeg puts many packets
// on a page.
func ReadOgg(path string) (packets [][]byte, eos bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	for {
		if _, _, err := r.ParseNextPage(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
	}
	var cur []byte
	for off := 0; off < len(b); {
		if len(b)-off < 27 || len(b)-off < 27+int(b[off+26]) {
			return nil, false, fmt.Errorf("%s: page at %d cut short", path, off)
		}
		eos = b[off+5]&0x04 != 0
		laces := b[off+27 : off+27+int(b[off+26])]
		data := off + 27 + len(laces)
		for _, l := range laces {
			if data+int(l) > len(b) {
				return nil, false, fmt.Errorf("%s: page at %d cut short", path, off)
			}
			cur = append(cur, b[data:data+int(l)]...)
			data += int(l)
			if l < 255 {
				if !bytes.HasPrefix(cur, []byte("OpusHead")) && !bytes.HasPrefix(cur, []byte("OpusTags")) {
					packets = append(packets, cur)
				}
				cur = nil
			}
		}
		off = data
	}
	return packets, eos, nil
}

// ReadIVF returns an IVF file's frames and their PTS on a 90 kHz clock,
// and an error unless the header counts the frames the file holds.
func ReadIVF(path string) (frames [][]byte, pts []uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	num, den := uint64(h.TimebaseNumerator), uint64(h.TimebaseDenominator)
	for {
		data, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		// pion's Timestamp is the PTS times den/num: back to the PTS
		// (in num/den seconds), then to 90 kHz.
		frames, pts = append(frames, data), append(pts, fh.Timestamp*num/den*90000*num/den)
	}
	if int(h.NumFrames) != len(frames) {
		return nil, nil, fmt.Errorf("%s: header says %d frames, holds %d", path, h.NumFrames, len(frames))
	}
	return frames, pts, nil
}
