package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"huddle/client"
	"huddle/protocol"
)

// Packetizing: RTP payloads of at most rtpMTU bytes with the header, the
// clock rates of DESIGN §4, and the duration assumed for a frame whose
// file does not say (the last one, when the one before it does not either).
const (
	rtpMTU         = 1200
	opusClock      = 48000
	vp8Clock       = 90000
	opusFrameDur   = 20 * time.Millisecond
	videoFrameDur  = time.Second / 30
	cleanupTimeout = 5 * time.Second
	registerTries  = 3 // random SSRCs tried when the meeting has one already
)

// frame is one codec frame and its presentation time from the start of its
// file.
type frame struct {
	data []byte
	at   time.Duration
}

// frameSource reads frames from a media file; io.EOF ends it.
type frameSource interface {
	next() (frame, error)
	Close() error
}

// mediaKind describes a track kind publish reads and sends.
type mediaKind struct {
	open      func(path string) (frameSource, error)
	clock     int64
	payloader func() rtp.Payloader
	frameDur  time.Duration
}

var (
	opusKind = mediaKind{open: openOgg, clock: opusClock, payloader: func() rtp.Payloader { return &codecs.OpusPayloader{} }, frameDur: opusFrameDur}
	vp8Kind  = mediaKind{open: openIVF, clock: vp8Clock, payloader: func() rtp.Payloader { return &codecs.VP8Payloader{EnablePictureID: true} }, frameDur: videoFrameDur}
)

// publication is one track publish sends.
type publication struct {
	track, path string
	kind        mediaKind
	tl          *timeline
	conn        *net.UDPConn
	ssrc        uint32
	registered  bool
	stats       trackStats
	delay       time.Duration // from the start of publishing to its first frame
}

func cmdMeetingPublish(ctx context.Context, a *app, cl *cmdLine) error {
	audio := cl.fs.String("audio", "", "send this Ogg/Opus file on the audio track")
	video := cl.fs.String("video", "", "send this IVF/VP8 file on the video track")
	screen := cl.fs.String("screen", "", "send this IVF/VP8 file on the screen track")
	loop := cl.fs.Bool("loop", false, "start the files again at their end, until interrupted")
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	var pubs []*publication
	defer func() { closePublications(pubs) }()
	for _, f := range []struct {
		track, path string
		kind        mediaKind
	}{{protocol.TrackAudio, *audio, opusKind}, {protocol.TrackVideo, *video, vp8Kind}, {protocol.TrackScreen, *screen, vp8Kind}} {
		if f.path == "" {
			continue
		}
		p, err := newPublication(f.track, f.path, f.kind, *loop)
		if err != nil {
			return cl.usageErrorf("--%s %s: %v", f.track, f.path, err)
		}
		pubs = append(pubs, p)
	}
	if len(pubs) == 0 {
		return cl.usageErrorf("give at least one of --audio, --video and --screen")
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		return a.publish(ctx, c, id, pubs)
	})
}

// publish joins the meeting, registers a source for each publication and
// sends them all, each from its delay on, until they end, the meeting ends
// or ctx does; then it prints their counts.
func (a *app) publish(ctx context.Context, c *client.Client, id int64, pubs []*publication) error {
	relays, err := a.preparePublish(ctx, c, id, pubs)
	defer a.unregister(c, id, pubs)
	if err != nil {
		return err
	}
	wctx, stop := watchMeeting(ctx, c, id, false)
	defer stop()
	a.note("publishing to meeting %d", id)
	errs := make([]error, len(pubs))
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Go(func() {
			if sleepUntil(wctx, start.Add(p.delay)) {
				errs[i] = sendTrack(wctx, p.tl, newRTPOut(p, relays[i]))
			}
		})
	}
	wg.Wait()
	if err := a.printStats(statsOf(pubs)); err != nil {
		return err
	}
	if cause := context.Cause(wctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, errMeetingEnded) {
		return cause
	}
	return errors.Join(errs...)
}

// newPublication opens the file of a publication and reads its first frame:
// bad files are found before anything is registered.
func newPublication(track, path string, kind mediaKind, loop bool) (*publication, error) {
	tl, err := newTimeline(func() (frameSource, error) { return kind.open(path) }, loop, kind.frameDur)
	if err != nil {
		return nil, err
	}
	return &publication{track: track, path: path, kind: kind, tl: tl, stats: trackStats{Track: track, File: path}}, nil
}

// preparePublish joins, opens a socket per track and registers it with a
// random SSRC. It returns the relay address of each publication.
func (a *app) preparePublish(ctx context.Context, c *client.Client, meeting int64, pubs []*publication) ([]netip.AddrPort, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	j, ip, err := joinMedia(rctx, c, meeting)
	if err != nil {
		return nil, err
	}
	relays := make([]netip.AddrPort, len(pubs))
	for i, p := range pubs {
		if relays[i], err = relayAddr(j, p.track); err != nil {
			return nil, err
		}
		if p.conn, err = listenUDP(ip); err != nil {
			return nil, err
		}
		for try := 1; ; try++ {
			p.ssrc = randomSSRC()
			err = c.MediaRegister(rctx, meeting, p.track, localAddrPort(p.conn), p.ssrc)
			if err == nil || protocol.CodeOf(err) != protocol.CodeConflict || try == registerTries {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("register the %s source: %w", p.track, err)
		}
		p.registered, p.stats.SSRC = true, p.ssrc
	}
	return relays, nil
}

// unregister removes publish's sources, even after an interrupt.
func (a *app) unregister(c *client.Client, meeting int64, pubs []*publication) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	for _, p := range pubs {
		if p.registered {
			if err := c.MediaUnregister(ctx, meeting, p.track, p.ssrc); err != nil {
				a.warn("unregister the "+p.track+" source", err)
			}
			p.registered = false
		}
	}
}

func closePublications(pubs []*publication) {
	for _, p := range pubs {
		p.close()
	}
}

func (p *publication) close() {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	p.tl.Close()
}

func statsOf(pubs []*publication) []trackStats {
	out := make([]trackStats, len(pubs))
	for i, p := range pubs {
		out[i] = p.stats
	}
	return out
}

// randomSSRC returns a random SSRC other than 0, which some tools take for
// "unset".
func randomSSRC() uint32 {
	for {
		if s := rand.Uint32(); s != 0 {
			return s
		}
	}
}

// rtpOut is where a track's packets go.
type rtpOut struct {
	conn  *net.UDPConn
	dst   netip.AddrPort
	pz    rtp.Packetizer
	clock int64
	stats *trackStats
}

func newRTPOut(p *publication, dst netip.AddrPort) *rtpOut {
	pz := rtp.NewPacketizer(rtpMTU, protocol.PayloadType(p.track), p.ssrc, p.kind.payloader(), rtp.NewRandomSequencer(), uint32(p.kind.clock))
	return &rtpOut{conn: p.conn, dst: dst, pz: pz, clock: p.kind.clock, stats: &p.stats}
}

// ticks converts a time from the start of the stream to RTP clock units,
// to the nearest unit: times come from the files' own clocks and must map
// back onto them exactly.
func (o *rtpOut) ticks(d time.Duration) uint32 {
	return uint32((int64(d)*o.clock + int64(time.Second)/2) / int64(time.Second)) // wraps, as RTP timestamps do
}

// sendTrack sends the frames of tl as RTP, each when its presentation time
// comes, until tl ends or ctx does (which is not an error).
func sendTrack(ctx context.Context, tl *timeline, out *rtpOut) error {
	start := time.Now()
	buf := make([]byte, rtpMTU+64)
	for {
		data, at, dur, err := tl.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !sleepUntil(ctx, start.Add(at-tl.origin)) {
			return nil
		}
		for _, p := range out.pz.Packetize(data, out.ticks(at+dur)-out.ticks(at)) {
			n, err := p.MarshalTo(buf)
			if err != nil {
				return fmt.Errorf("marshal RTP: %w", err)
			}
			if _, err := out.conn.WriteToUDPAddrPort(buf[:n], out.dst); err != nil {
				return fmt.Errorf("send %s RTP to %v: %w", out.stats.Track, out.dst, err)
			}
			out.stats.Packets++
			out.stats.Bytes += uint64(n)
		}
	}
}

// sleepUntil waits until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// timeline reads a file's frames with a duration each (the time to the
// next frame), optionally starting the file again at its end with times
// that go on from there.
type timeline struct {
	open     func() (frameSource, error)
	loop     bool
	frameDur time.Duration // when the file does not say
	origin   time.Duration // presentation time of the first frame

	src   frameSource
	first time.Duration // the file's own time of its first frame
	base  time.Duration // added to the file's times in this pass
	ahead *frame        // the next frame, with its time on the timeline
	last  time.Duration // duration of the previous frame
}

// newTimeline opens the file and reads its first frame: a file that does
// not open or holds no frame is an error here, before anything is sent.
func newTimeline(open func() (frameSource, error), loop bool, frameDur time.Duration) (*timeline, error) {
	t := &timeline{open: open, loop: loop, frameDur: frameDur}
	if err := t.restart(0); err != nil {
		t.Close()
		return nil, err
	}
	if t.ahead == nil {
		t.Close()
		return nil, errors.New("no frames in the file")
	}
	t.origin = t.ahead.at
	return t, nil
}

// restart opens the file again and reads its first frame, to be presented
// at time at.
func (t *timeline) restart(at time.Duration) error {
	if t.src != nil {
		_ = t.src.Close()
		t.src = nil
	}
	src, err := t.open()
	if err != nil {
		return err
	}
	t.src = src
	f, err := src.next()
	if errors.Is(err, io.EOF) {
		t.ahead = nil
		return nil
	}
	if err != nil {
		return err
	}
	t.first, t.base = f.at, at-f.at
	f.at = at
	t.ahead = &f
	return nil
}

// next returns the next frame, its time on the timeline and its duration,
// or io.EOF.
func (t *timeline) next() (data []byte, at, dur time.Duration, err error) {
	if t.ahead == nil {
		return nil, 0, 0, io.EOF
	}
	cur := *t.ahead
	f, err := t.src.next()
	switch {
	case err == nil:
		f.at += t.base
		dur = max(f.at-cur.at, 0)
		t.ahead = &f
	case errors.Is(err, io.EOF):
		dur = t.last
		if dur == 0 {
			dur = t.frameDur
		}
		t.ahead = nil
		if t.loop {
			if err := t.restart(cur.at + dur); err != nil {
				return nil, 0, 0, err
			}
		}
	default:
		return nil, 0, 0, err
	}
	t.last = dur
	return cur.data, cur.at, dur, nil
}

// Close closes the file.
func (t *timeline) Close() {
	if t.src != nil {
		_ = t.src.Close()
		t.src = nil
	}
}

// oggSource reads Opus packets from an Ogg file. pion's oggreader returns
// whole pages, and a page may hold many packets (ffmpeg's do), so the
// page's segment table, which the reader does not expose, is read back
// from the bytes it consumed.
type oggSource struct {
	f       *os.File
	seen    *recorder
	r       *oggreader.OggReader
	packets [][]byte // of the current page, not yet returned
	partial []byte   // a packet that goes on in the next page
	samples int64    // at 48 kHz, before the next packet
}

// recorder keeps the bytes read through it.
type recorder struct {
	r   io.Reader
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

func openOgg(path string) (frameSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// pion's reader checks a page's checksum before its signature, so
	// that any other file would be called a bad checksum.
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "OggS" {
		f.Close()
		return nil, errors.New("not an Ogg/Opus file: it does not start with an Ogg page (OggS)")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	rec := &recorder{r: f}
	r, head, err := oggreader.NewWith(rec)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("not an Ogg/Opus file: %w", err)
	}
	if head.SampleRate == 0 && head.Channels == 0 {
		f.Close()
		return nil, errors.New("not an Ogg/Opus file")
	}
	return &oggSource{f: f, seen: rec, r: r}, nil
}

func (o *oggSource) next() (frame, error) {
	for len(o.packets) == 0 {
		o.seen.buf = o.seen.buf[:0]
		payload, _, err := o.r.ParseNextPage()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a truncated last page, as from a recording cut short
		}
		if err != nil {
			return frame{}, err
		}
		o.split(payload)
	}
	p := o.packets[0]
	o.packets = o.packets[1:]
	f := frame{data: p, at: time.Duration(o.samples * int64(time.Second) / opusClock)}
	o.samples += int64(opusSamples(p))
	return f, nil
}

// split cuts a page payload into packets by the page's lacing values: a
// packet ends at the first value below 255. Header packets are dropped.
func (o *oggSource) split(payload []byte) {
	h := o.seen.buf
	if len(h) < 27 || len(h) < 27+int(h[26]) {
		return
	}
	off := 0
	for _, lace := range h[27 : 27+int(h[26])] {
		end := min(off+int(lace), len(payload))
		o.partial = append(o.partial, payload[off:end]...)
		off = end
		if lace < 255 {
			if p := o.partial; len(p) > 0 && !isOpusHeader(p) {
				o.packets = append(o.packets, p)
			}
			o.partial = nil
		}
	}
}

func isOpusHeader(p []byte) bool {
	return len(p) >= 8 && (string(p[:8]) == "OpusHead" || string(p[:8]) == "OpusTags")
}

func (o *oggSource) Close() error { return o.f.Close() }

// opusSamples is the duration of an Opus packet in 48 kHz samples, from
// its TOC byte (RFC 6716 §3.1).
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	var perFrame int
	switch config := int(toc >> 3); {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		perFrame = []int{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		perFrame = []int{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		perFrame = []int{120, 240, 480, 960}[config&3]
	}
	switch toc & 3 {
	case 0:
		return perFrame
	case 1, 2:
		return 2 * perFrame
	}
	if len(p) < 2 {
		return 0
	}
	return int(p[1]&0x3f) * perFrame
}

// ivfSource reads VP8 frames from an IVF file.
type ivfSource struct {
	f        *os.File
	r        *ivfreader.IVFReader
	num, den uint64 // time base: a pts unit is num/den seconds
}

func openIVF(path string) (frameSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("not an IVF file: %w", err)
	}
	if h.FourCC != "VP80" {
		f.Close()
		return nil, fmt.Errorf("IVF holds %q, not VP8", h.FourCC)
	}
	return &ivfSource{f: f, r: r, num: uint64(h.TimebaseNumerator), den: uint64(h.TimebaseDenominator)}, nil
}

func (s *ivfSource) next() (frame, error) {
	data, h, err := s.r.ParseNextFrame()
	if err != nil {
		return frame{}, err
	}
	// ivfreader scales the pts by den/num; undo that, then convert.
	pts := h.Timestamp * s.num / s.den
	return frame{data: data, at: time.Duration((pts*s.num*uint64(time.Second) + s.den/2) / s.den)}, nil
}

func (s *ivfSource) Close() error { return s.f.Close() }
