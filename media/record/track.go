package record

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/rtp"

	"huddle/media/rtpfile"
	"huddle/protocol"
)

// track is one track's socket and the files it writes. Its goroutine owns
// all of it, but the socket's deadline once Stop set one, until Stop has
// waited for it.
type track struct {
	r      *Recorder
	name   string // protocol.Tracks[i]
	pt     uint8
	format rtpfile.Format
	conn   *net.UDPConn
	addr   netip.AddrPort

	sources map[uint32]*source // Ogg and IVF: a file per SSRC
	text    *source            // WebVTT: one file for the track
}

// source is one file as it is written. Track is what Stop reports.
type source struct {
	Track
	media  *rtpfile.File // Ogg, IVF
	cues   *cues         // WebVTT
	warned bool          // a rejected packet was logged
	done   bool          // no longer written: the budget, a frame too large, or err
	err    error         // a failure to report from Stop
}

func newTrack(r *Recorder, i int, c *net.UDPConn) *track {
	name := protocol.Tracks[i]
	return &track{r: r, name: name, pt: protocol.PayloadType(name), format: rtpfile.FormatOf(name),
		conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), sources: make(map[uint32]*source)}
}

// run reads the track's RTP until Stop's drain ends.
func (t *track) run() {
	defer t.r.wg.Done()
	buf := make([]byte, 64<<10)
	var p rtp.Packet
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		stopping := t.r.drain.Load() != 0
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && !stopping {
				t.expire(now) // the text tracks' deadline: a cue's end
				continue
			}
			if !stopping {
				t.r.log.Error("recording: receive failed; the track is no longer recorded", "track", t.name, "err", err)
			}
			return
		}
		// From the relay's RTP port only: another local process that
		// found the socket cannot write into the recording.
		if from.Port() != t.r.relay.Port() || !rtpfile.Parse(buf[:n], from, t.r.relay.Addr(), t.pt, &p) {
			continue
		}
		if t.format == rtpfile.None {
			t.writeText(&p, now)
		} else {
			t.writeMedia(&p, now)
		}
	}
}

func (t *track) writeMedia(p *rtp.Packet, now time.Time) {
	s := t.sources[p.SSRC]
	if s == nil {
		if !t.r.takeFile() {
			return
		}
		member := Unknown
		if src, ok := t.r.m.SourceOf(p.SSRC); ok {
			member = src.Member
		}
		s = &source{Track: Track{Track: t.name, File: mediaName(t.name, member, p.SSRC, t.format),
			From: member, SSRC: p.SSRC, Offset: now.Sub(t.r.start)}}
		t.sources[p.SSRC] = s
		f, err := rtpfile.Create(filepath.Join(t.r.cfg.Dir, s.File), t.format, &t.r.budget)
		if err != nil {
			t.stopped(s, err)
			return
		}
		s.media = f
	}
	if s.done {
		return
	}
	switch err := s.media.WriteRTP(p); {
	case err == nil:
		s.Packets++
	case errors.Is(err, rtpfile.ErrRejected):
		s.Rejected++
		if !s.warned {
			s.warned = true
			t.r.log.Warn("recording: packet not written", "file", s.File, "err", err)
		}
	default:
		t.stopped(s, err)
	}
}

// stopped ends the writing of s: the budget is used up (it logged that),
// the sender's VP8 frame passed rtpfile's bound, or the file failed, which
// Stop reports.
func (t *track) stopped(s *source, err error) {
	s.done = true
	switch {
	case errors.Is(err, rtpfile.ErrFull):
	case errors.Is(err, rtpfile.ErrFrameTooLarge):
		t.r.log.Warn("recording: file no longer written", "file", s.File, "err", err)
	default:
		s.err = fmt.Errorf("record %s: %w", s.File, err)
		t.r.log.Error("recording: file no longer written", "file", s.File, "err", err)
	}
}

// writeText adds a T.140 packet to the track's WebVTT file as a cue; the
// packets of a member's own source (not the relay's text chat, which
// names its sender itself) are marked as that member's voice.
func (t *track) writeText(p *rtp.Packet, now time.Time) {
	voice := ""
	if src, ok := t.r.m.SourceOf(p.SSRC); ok {
		voice = src.Member
	}
	text := cueText(string(p.Payload), voice)
	if text == "" {
		return
	}
	s := t.text
	if s == nil {
		if !t.r.takeFile() {
			return
		}
		s = &source{Track: Track{Track: t.name, File: textName(t.name)}}
		t.text = s
		c, err := createCues(filepath.Join(t.r.cfg.Dir, s.File), &t.r.budget)
		if err != nil {
			t.stopped(s, err)
			return
		}
		s.cues = c
	}
	if s.done {
		return
	}
	if err := s.cues.add(now.Sub(t.r.start), text); err != nil {
		t.stopped(s, err)
	} else {
		s.Packets++
	}
	t.waitCue()
}

// expire writes a cue that has waited cueMax for the next.
func (t *track) expire(now time.Time) {
	if s := t.text; s != nil && !s.done {
		if err := s.cues.expire(now.Sub(t.r.start)); err != nil {
			t.stopped(s, err)
		}
	}
	t.waitCue()
}

// waitCue sets the socket's deadline to when the waiting cue ends, unless
// Stop set its own: Stop sets drain before the deadline, and this checks
// drain after setting one, so Stop's deadline always wins.
func (t *track) waitCue() {
	var d time.Time
	if s := t.text; s != nil && !s.done {
		if at, ok := s.cues.deadline(); ok {
			d = t.r.start.Add(at)
		}
	}
	_ = t.conn.SetReadDeadline(d)
	if until := t.r.drain.Load(); until != 0 {
		_ = t.conn.SetReadDeadline(time.Unix(0, until))
	}
}

// all is the track's files, in no order.
func (t *track) all() []*source {
	var out []*source
	for _, s := range t.sources {
		out = append(out, s)
	}
	if t.text != nil {
		out = append(out, t.text)
	}
	return out
}

// close finishes the file; end is the recording's, where the last cue of
// a WebVTT file ends at the latest.
func (s *source) close(end time.Duration) error {
	if s.media != nil {
		err := s.media.Close()
		s.media = nil
		return err
	}
	if s.cues != nil {
		err := s.cues.close(end, s.done)
		s.cues = nil
		return err
	}
	return nil
}

// mediaName is an Ogg or IVF file's name: track, member, SSRC in 8 hex
// digits (audio-alice-0000beef.ogg). A member name is [a-z0-9_.-] or one
// of the recorder's @ names; anything else becomes _.
func mediaName(track, member string, ssrc uint32, format rtpfile.Format) string {
	member = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-@", r) {
			return r
		}
		return '_'
	}, member)
	return fmt.Sprintf("%s-%s-%08x%s", track, member, ssrc, format.Ext())
}

// textName is a text track's WebVTT file: text.vtt, caption.vtt.
func textName(track string) string { return track + ".vtt" }
