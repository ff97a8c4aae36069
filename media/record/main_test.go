package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"go.uber.org/goleak"

	"huddle/internal/testutil/leak"
	"huddle/internal/testutil/mediafile"
	"huddle/internal/testutil/wait"
	"huddle/media"
	"huddle/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leak.Options()...) }

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	quiet    = slog.New(slog.NewTextHandler(io.Discard, nil))
)

const (
	trackText    = 0
	trackAudio   = 1
	trackVideo   = 2
	trackCaption = 4
)

// startMeeting starts a relay on 127.0.0.1 (no multicast: what it
// forwards goes to unicast subscribers only) and opens a meeting.
func startMeeting(t *testing.T) (*media.Relay, *media.Meeting) {
	t.Helper()
	r, err := media.Start(media.Config{IP: loopback, Workers: 2, Batch: 16, MaxPacket: 1500,
		SourceRate: 100000, SourceBurst: 10000, RestartBackoff: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	m := r.Open(1, [media.Tracks]netip.AddrPort{})
	t.Cleanup(m.Close)
	return r, m
}

func startRecorder(t *testing.T, m *media.Meeting, cfg Config) *Recorder {
	t.Helper()
	cfg.Dir, cfg.IP, cfg.Logger = filepath.Join(t.TempDir(), "rec"), loopback, quiet
	rec, err := Start(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rec.Stop() })
	return rec
}

// sender is a member's socket that sends one track's RTP to the relay.
type sender struct {
	t     *testing.T
	c     *net.UDPConn
	relay netip.AddrPort
	src   media.Source
	seq   uint16
}

func newSender(t *testing.T, r *media.Relay, m *media.Meeting, member string, track int, ssrc uint32, register bool) *sender {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &sender{t: t, c: c, relay: r.Addr(), src: media.Source{Member: member, Track: track,
		Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), SSRC: ssrc, PayloadType: protocol.PayloadType(protocol.Tracks[track])}}
	if register {
		if err := m.Register(s.src); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *sender) send(p *rtp.Packet) {
	s.t.Helper()
	p.Version, p.PayloadType, p.SSRC, p.SequenceNumber = 2, s.src.PayloadType, s.src.SSRC, s.seq
	s.seq++
	b, err := p.Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.c.WriteToUDPAddrPort(b, s.relay); err != nil {
		s.t.Fatal(err)
	}
}

// oggPackets returns the Opus packets of an Ogg file, headers left out.
func oggPackets(t *testing.T, path string) [][]byte {
	t.Helper()
	ps, _, err := mediafile.ReadOgg(path)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// lastPageEnds reports whether an Ogg file's last page ends the stream.
func lastPageEnds(t *testing.T, path string) bool {
	t.Helper()
	_, eos, err := mediafile.ReadOgg(path)
	if err != nil {
		t.Fatal(err)
	}
	return eos
}

// ivfFrames returns an IVF file's frames and their PTS on a 90 kHz clock.
func ivfFrames(t *testing.T, path string) ([][]byte, []uint64) {
	t.Helper()
	frames, pts, err := mediafile.ReadIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	return frames, pts
}

// opusRTP is testdata/tone.ogg (1 s of 440 Hz by ffmpeg's libopus) as
// RTP packets of 20 ms.
func opusRTP(t *testing.T) []*rtp.Packet {
	var ps []*rtp.Packet
	for i, p := range oggPackets(t, "testdata/tone.ogg") {
		ps = append(ps, &rtp.Packet{Header: rtp.Header{Timestamp: uint32(960 * i)}, Payload: p})
	}
	return ps
}

// vp8RTP is testdata/testsrc.ivf (1 s of ffmpeg's testsrc, 96x64 at 10
// frames a second, libvpx) packetized in 300-byte packets, and its frames.
func vp8RTP(t *testing.T) (ps []*rtp.Packet, frames [][]byte) {
	frames, pts := ivfFrames(t, "testdata/testsrc.ivf")
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	for i, f := range frames {
		parts := pay.Payload(300, f)
		for j, part := range parts {
			ps = append(ps, &rtp.Packet{Header: rtp.Header{Marker: j == len(parts)-1, Timestamp: uint32(pts[i])}, Payload: part})
		}
	}
	return ps, frames
}

// forwarded waits until the relay forwarded want copies on track.
func forwarded(t *testing.T, m *media.Meeting, track int, want uint64) {
	t.Helper()
	wait.For(t, 5*time.Second, protocol.Tracks[track]+" forwarded", func() bool { return m.Stats().Forwarded[track] >= want })
}

// checkFiles asserts that the tracks describe the files in dir: size and
// SHA-256 of their bytes.
func checkFiles(t *testing.T, dir string, tracks []Track) {
	t.Helper()
	for _, tr := range tracks {
		b, err := os.ReadFile(filepath.Join(dir, tr.File))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); tr.Size != int64(len(b)) || tr.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: %d bytes, sha256 %s; described as %d, %s", tr.File, len(b), hex.EncodeToString(sum[:]), tr.Size, tr.SHA256)
		}
	}
}

// ffprobe returns codec_name and nb_read_packets of a file's stream, ""
// without ffprobe on PATH.
func ffprobe(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		return ""
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=codec_name,nb_read_packets", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, b)
	}
	return strings.TrimSpace(string(b))
}

type vttCue struct {
	start, end time.Duration
	text       string
}

var vttTiming = regexp.MustCompile(`^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})$`)

// readVTT parses the WebVTT the recorder writes: the header, then cues
// of a timing line and text lines, each followed by a blank line.
func readVTT(t *testing.T, path string) []vttCue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(b), "WEBVTT\n\n")
	if !ok || !strings.HasSuffix(s, "\n\n") && s != "" {
		t.Fatalf("%s is not WebVTT: %q", path, b)
	}
	var out []vttCue
	for _, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		if block == "" {
			continue
		}
		timing, text, _ := strings.Cut(block, "\n")
		m := vttTiming.FindStringSubmatch(timing)
		if m == nil || text == "" {
			t.Fatalf("%s: bad cue %q", path, block)
		}
		d := func(h, mi, s, ms string) time.Duration {
			p, _ := time.ParseDuration(h + "h" + mi + "m" + s + "s" + ms + "ms")
			return p
		}
		c := vttCue{start: d(m[1], m[2], m[3], m[4]), end: d(m[5], m[6], m[7], m[8]), text: text}
		if c.end <= c.start || len(out) > 0 && c.start < out[len(out)-1].start {
			t.Fatalf("%s: cue %+v after %+v", path, c, out)
		}
		out = append(out, c)
	}
	return out
}

func cueTexts(cs []vttCue) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.text)
	}
	return out
}

// u32 is a little-endian uint32 of a file at off.
func u32(t *testing.T, path string, off int) uint32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < off+4 {
		t.Fatalf("%s: %v", path, err)
	}
	return binary.LittleEndian.Uint32(b[off:])
}
