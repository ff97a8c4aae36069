package rtpfile

import (
	"errors"
	"fmt"
	"os"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"huddle/protocol"
)

// Format is the container a track's RTP is written to.
type Format uint8

const (
	None Format = iota // T.140 text: no container of this package
	Ogg                // Opus: two channels (as the SDP says; a decoder plays mono packets in both), 48 kHz
	IVF                // VP8: 90 kHz timebase, a frame's PTS its RTP timestamp from the first frame's
)

// FormatOf is the container of a track (one of protocol.Tracks).
func FormatOf(track string) Format {
	switch track {
	case protocol.TrackAudio:
		return Ogg
	case protocol.TrackVideo, protocol.TrackScreen:
		return IVF
	}
	return None
}

// Ext is the format's file name extension, with its dot.
func (f Format) Ext() string {
	switch f {
	case Ogg:
		return ".ogg"
	case IVF:
		return ".ivf"
	}
	return ""
}

// The RTP clocks of Huddle's media (DESIGN §4).
const (
	opusClock = 48000
	vp8Clock  = 90000
)

// maxFrame bounds the VP8 frame pion's IVF writer assembles in memory: a
// stream whose frame passes it without an end (RTP marker) stops being
// written rather than growing the writer's buffer without limit.
const maxFrame = 8 << 20

var (
	// ErrFull is returned once the Budget refused a packet's bytes.
	ErrFull = errors.New("rtpfile: byte budget used up")
	// ErrRejected wraps why the container writer refused a packet (a
	// malformed Opus or VP8 payload): the sender's problem, and the file
	// takes the next packet.
	ErrRejected = errors.New("rtpfile: packet not written")
	// ErrFrameTooLarge ends a file whose VP8 frame passed maxFrame.
	ErrFrameTooLarge = fmt.Errorf("rtpfile: a VP8 frame passed %d bytes without its end", maxFrame)
)

// Budget counts the bytes of files that share one limit. Take reports
// whether n more bytes may be written and, if so, counts them.
type Budget interface {
	Take(n int64) bool
}

// rtpWriter is pion's oggwriter.OggWriter and ivfwriter.IVFWriter.
type rtpWriter interface {
	WriteRTP(*rtp.Packet) error
}

// File is one RTP stream's media file. It is not safe for concurrent use.
type File struct {
	path   string
	format Format
	f      *os.File
	w      rtpWriter // nil once ErrFrameTooLarge let its buffer go
	out    packetBuf
	budget Budget
	size   int64
	frame  int   // IVF: payload bytes since the last frame's end
	err    error // sticky: ErrFull, ErrFrameTooLarge or the failed write
}

// packetBuf collects what the container writer writes for one packet, so
// that it reaches the file in one write, or not at all. It is no Seeker
// and no Closer, so pion's writers neither rewrite nor close it: File
// finishes the file itself (finish.go).
type packetBuf struct{ b []byte }

func (p *packetBuf) Write(b []byte) (int, error) {
	p.b = append(p.b, b...)
	return len(b), nil
}

// Create creates path (replacing a file there) and writes the container's
// header. budget may be nil (no limit); a header it refuses removes the
// file again and returns ErrFull.
func Create(path string, format Format, budget Budget) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, err
	}
	file := &File{path: path, format: format, f: f, budget: budget}
	switch format {
	case Ogg:
		file.w, err = oggwriter.NewWith(&file.out, opusClock, 2)
	case IVF:
		file.w, err = ivfwriter.NewWith(&file.out, ivfwriter.WithCodec("video/VP8"),
			ivfwriter.WithFrameRate(1, vp8Clock), ivfwriter.WithDirectPTS())
	default:
		err = fmt.Errorf("rtpfile: no container for format %d", format)
	}
	if err == nil {
		err = file.commit()
	}
	if err != nil {
		return nil, errors.Join(err, f.Close(), os.Remove(path))
	}
	return file, nil
}

// Path is the file's path as Create was given it.
func (f *File) Path() string { return f.path }

// Size is the number of bytes written to the file.
func (f *File) Size() int64 { return f.size }

// WriteRTP writes one packet. An error wrapping ErrRejected leaves the
// file as it was and ready for the next packet; any other error (ErrFull,
// ErrFrameTooLarge, a failed write) ends the file's writing, and every
// later call returns it.
func (f *File) WriteRTP(p *rtp.Packet) error {
	if f.err != nil {
		return f.err
	}
	if f.format == IVF {
		if f.frame += len(p.Payload); f.frame > maxFrame {
			f.err, f.w = ErrFrameTooLarge, nil
			return f.err
		}
		if p.Marker {
			f.frame = 0
		}
	}
	werr := f.w.WriteRTP(p)
	if err := f.commit(); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("%w: %w", ErrRejected, werr)
	}
	return nil
}

// commit writes what the container writer produced for one packet.
func (f *File) commit() error {
	b := f.out.b
	f.out.b = b[:0]
	if len(b) == 0 {
		return nil
	}
	if f.budget != nil && !f.budget.Take(int64(len(b))) {
		f.err = ErrFull
		return f.err
	}
	n, err := f.f.Write(b)
	f.size += int64(n)
	if err != nil {
		// A short write leaves a torn page or frame, which Close cuts off.
		f.err = fmt.Errorf("write %s: %w", f.path, err)
		return f.err
	}
	return nil
}

// Close finishes the file (the Ogg stream's last page marked as its end,
// the IVF header given its frame count; an IVF frame whose last packet
// never came is not in it), syncs it to disk and closes it. A second
// Close does nothing.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	size, _, err := finish(f.f, f.format)
	if err == nil {
		f.size = size
		err = f.f.Sync()
	}
	err = errors.Join(err, f.f.Close())
	f.f, f.w = nil, nil
	if err != nil {
		return fmt.Errorf("finish %s: %w", f.path, err)
	}
	return nil
}
