package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"huddle/internal/testutil/clifake"
	"huddle/protocol"
)

// opusFrame is a 20 ms CELT-only Opus packet (TOC 0xF8: config 31, mono,
// one frame) followed by n bytes.
func opusFrame(i, n int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, n+1)
	b[0] = 0xF8
	return b
}

// vp8Frame is a synthetic VP8 frame of n bytes: a key frame (bit 0 of the
// first byte clear) when key, otherwise an inter frame.
func vp8Frame(i, n int, key bool) []byte {
	b := bytes.Repeat([]byte{byte(i)}, n)
	b[0] = 0x10
	if !key {
		b[0] |= 1
	}
	return b
}

// writeOgg writes frames as an Ogg/Opus file with pion's oggwriter.
func writeOgg(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	w, err := oggwriter.New(path, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(960 * i)}, Payload: f}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeIVF writes frames as IVF/VP8 at 30 frames a second with pion's
// ivfwriter: one RTP packet each, after a one-byte VP8 descriptor (S=1).
func writeIVF(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	w, err := ivfwriter.New(path, ivfwriter.WithCodec("video/VP8"), ivfwriter.WithFrameRate(1, 90000), ivfwriter.WithDirectPTS())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		p := &rtp.Packet{Header: rtp.Header{Marker: true, SequenceNumber: uint16(i), Timestamp: uint32(3000 * i)}, Payload: append([]byte{0x10}, f...)}
		if err := w.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readOgg returns the Opus packets of an Ogg file written one per page,
// as pion's oggwriter does.
func readOgg(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		payload, h, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, hdr := h.HeaderType(payload); !hdr && len(payload) > 0 {
			out = append(out, payload)
		}
	}
}

func readIVF(t *testing.T, path string) (frames [][]byte, pts []uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			if int(h.NumFrames) != len(frames) {
				t.Fatalf("%s: header says %d frames, holds %d", path, h.NumFrames, len(frames))
			}
			return frames, pts
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, data)
		pts = append(pts, fh.Timestamp*uint64(h.TimebaseNumerator)/uint64(h.TimebaseDenominator))
	}
}

func TestOggTimeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ogg")
	frames := [][]byte{opusFrame(1, 10), opusFrame(2, 300), opusFrame(3, 600)} // 300 and 600 bytes span lacing values of 255
	writeOgg(t, path, frames)
	tl, err := newTimeline(func() (frameSource, error) { return openOgg(path) }, true, opusFrameDur)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	for i := range 7 { // twice through, and the start of a third pass
		data, at, dur, err := tl.next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, frames[i%3]) || at != time.Duration(i)*20*time.Millisecond || dur != 20*time.Millisecond {
			t.Fatalf("frame %d: %d bytes at %v for %v", i, len(data), at, dur)
		}
	}
}

func TestIVFTimelineEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.ivf")
	frames := [][]byte{vp8Frame(0, 50, true), vp8Frame(1, 50, false)}
	writeIVF(t, path, frames)
	tl, err := newTimeline(func() (frameSource, error) { return openIVF(path) }, false, videoFrameDur)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	for i := range 2 {
		data, at, dur, err := tl.next()
		if err != nil || !bytes.Equal(data, frames[i]) || at != time.Duration(i)*time.Second/30 || dur != time.Second/30 {
			t.Fatalf("frame %d: %d bytes at %v for %v, %v", i, len(data), at, dur, err)
		}
	}
	if _, _, _, err := tl.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tt := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0xF8}, 960},        // CELT FB 20 ms
		{[]byte{0xF9}, 1920},       // two frames
		{[]byte{0xFB, 0x03}, 2880}, // code 3, three frames
		{[]byte{0x08}, 960},        // SILK NB 20 ms
		{[]byte{0x18}, 2880},       // SILK NB 60 ms
		{[]byte{0x60}, 480},        // hybrid SWB 10 ms
		{[]byte{0x80}, 120},        // CELT NB 2.5 ms
		{[]byte{0xFB}, 0},          // code 3 without a count
		{nil, 0},
	} {
		if got := opusSamples(tt.p); got != tt.want {
			t.Errorf("opusSamples(%x) = %d, want %d", tt.p, got, tt.want)
		}
	}
}

// fakeRelay plays the server's relay on one UDP socket: it forwards each
// packet from a registered (source, SSRC) to the subscribers of its track.
type fakeRelay struct {
	conn *net.UDPConn

	mu      sync.Mutex
	sources map[netip.AddrPort]map[uint32]string // source → SSRC → track
	subs    map[string][]netip.AddrPort
	forward int
	subConn *clifake.Conn // the subscriber's control connection
	subbed  chan struct{} // gets a value per subscription
	unreg   chan protocol.MediaUnregister
}

func startRelay(t *testing.T) *fakeRelay {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRelay{conn: conn, sources: map[netip.AddrPort]map[uint32]string{}, subs: map[string][]netip.AddrPort{},
		subbed: make(chan struct{}, 16), unreg: make(chan protocol.MediaUnregister, 16)}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			r.mu.Lock()
			track, ok := r.sources[from][binary.BigEndian.Uint32(buf[8:12])]
			subs := r.subs[track]
			if ok {
				r.forward++
			}
			r.mu.Unlock()
			for _, to := range subs {
				_, _ = conn.WriteToUDPAddrPort(buf[:n], to)
			}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return r
}

func (r *fakeRelay) setup(s *clifake.Server) {
	addr := r.conn.LocalAddr().String()
	join := protocol.MeetingJoinReply{Meeting: 7, Relay: map[string]string{}, Multicast: map[string]string{}}
	for _, tr := range protocol.Tracks {
		join.Relay[tr] = addr
	}
	s.Handlers[protocol.TypeMeetingJoin] = clifake.Reply(join)
	s.Handlers[protocol.TypeMediaRegister] = func(c *clifake.Conn, req protocol.Request) {
		var m protocol.MediaRegister
		if err := protocol.DecodeData(req.Data, &m); err != nil {
			c.Fail(req.ID, protocol.CodeOf(err), err.Error())
			return
		}
		src, _ := protocol.ParseMediaAddr("source", m.Source)
		r.mu.Lock()
		if r.sources[src] == nil {
			r.sources[src] = map[uint32]string{}
		}
		r.sources[src][m.SSRC] = m.Track
		r.mu.Unlock()
		c.Reply(req.ID, protocol.Empty{})
	}
	s.Handlers[protocol.TypeMediaUnregister] = func(c *clifake.Conn, req protocol.Request) {
		var m protocol.MediaUnregister
		_ = protocol.DecodeData(req.Data, &m)
		r.unreg <- m
		c.Reply(req.ID, protocol.Empty{})
	}
	s.Handlers[protocol.TypeMediaSubscribe] = func(c *clifake.Conn, req protocol.Request) {
		var m protocol.MediaSubscribe
		if err := protocol.DecodeData(req.Data, &m); err != nil {
			c.Fail(req.ID, protocol.CodeOf(err), err.Error())
			return
		}
		to, _ := protocol.ParseMediaAddr("address", m.Address)
		r.mu.Lock()
		r.subs[m.Track] = append(r.subs[m.Track], to)
		r.subConn = c
		r.mu.Unlock()
		c.Reply(req.ID, protocol.Empty{})
		r.subbed <- struct{}{}
	}
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// TestPublishSubscribe sends files with meeting publish through a fake
// relay to meeting subscribe, which writes files that hold the same frames.
func TestPublishSubscribe(t *testing.T) {
	relay := startRelay(t)
	loggedInFake(t, relay.setup)
	dir := t.TempDir()
	var audio, video [][]byte
	for i := range 25 { // 0.5 s
		audio = append(audio, opusFrame(i, 40+i))
	}
	for i := range 15 { // 0.5 s; every fifth a key frame, some bigger than one packet
		video = append(video, vp8Frame(i, 100+i*200, i%5 == 0))
	}
	writeOgg(t, filepath.Join(dir, "in.ogg"), audio)
	writeIVF(t, filepath.Join(dir, "in.ivf"), video)
	out := filepath.Join(dir, "out")

	done := make(chan cliResult, 1)
	go func() {
		code, stdout, stderr := huddle(t, "", "--json", "meeting", "subscribe", "7", "--out", out, "--duration", "20s")
		done <- cliResult{code, stdout, stderr}
	}()
	for range protocol.Tracks {
		select {
		case <-relay.subbed:
		case r := <-done:
			t.Fatalf("subscribe ended early: %+v", r)
		case <-time.After(10 * time.Second):
			t.Fatal("subscribe did not subscribe every track")
		}
	}
	start := time.Now()
	pub := decodeLines(t, mustRun(t, "", "--json", "meeting", "publish", "7", "--audio", filepath.Join(dir, "in.ogg"), "--screen", filepath.Join(dir, "in.ivf")))
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("publish took %v for 0.5 s of media: not paced", d)
	}
	for range 2 {
		select {
		case <-relay.unreg:
		case <-time.After(5 * time.Second):
			t.Fatal("publish did not unregister its sources")
		}
	}
	time.Sleep(100 * time.Millisecond) // the last packets on their way
	relay.mu.Lock()
	relay.subConn.Push(protocol.PushMeetingEnded, protocol.MeetingEvent{Meeting: 7, By: "alice"})
	forwarded := relay.forward
	relay.mu.Unlock()

	var r cliResult
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("subscribe did not stop at meeting.ended")
	}
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("subscribe: exit %d, stderr %q", r.code, r.stderr)
	}
	sub := decodeLines(t, r.stdout)
	if len(pub) != 2 || pub[0]["track"] != "audio" || pub[1]["track"] != "screen" || pub[0]["packets"] != 25.0 {
		t.Fatalf("publish printed %v", pub)
	}
	if len(sub) != 5 {
		t.Fatalf("subscribe printed %v", sub)
	}
	got := map[string]map[string]any{}
	for _, s := range sub {
		got[s["track"].(string)] = s
	}
	for i, track := range []string{"audio", "screen"} {
		if got[track]["packets"] != pub[i]["packets"] || got[track]["bytes"] != pub[i]["bytes"] {
			t.Fatalf("%s: published %v, received %v", track, pub[i], got[track])
		}
	}
	if got["video"]["packets"] != 0.0 || got["text"]["packets"] != 0.0 {
		t.Fatalf("received %v", sub)
	}
	if want := int(pub[0]["packets"].(float64) + pub[1]["packets"].(float64)); forwarded != want {
		t.Fatalf("relay forwarded %d packets, publish sent %d", forwarded, want)
	}

	if frames := readOgg(t, filepath.Join(out, "audio.ogg")); len(frames) != len(audio) {
		t.Fatalf("audio.ogg holds %d packets, want %d", len(frames), len(audio))
	} else {
		for i := range frames {
			if !bytes.Equal(frames[i], audio[i]) {
				t.Fatalf("audio packet %d differs", i)
			}
		}
	}
	frames, pts := readIVF(t, filepath.Join(out, "screen.ivf"))
	if len(frames) != len(video) {
		t.Fatalf("screen.ivf holds %d frames, want %d", len(frames), len(video))
	}
	for i := range frames {
		if !bytes.Equal(frames[i], video[i]) || pts[i] != uint64(3000*i) {
			t.Fatalf("screen frame %d: %d bytes at %d, want %d bytes at %d", i, len(frames[i]), pts[i], len(video[i]), 3000*i)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "video.ivf")); !os.IsNotExist(err) {
		t.Fatalf("video.ivf written for a silent track: %v", err)
	}
}

// TestSubscribeText: the text tracks are printed, not written.
func TestSubscribeText(t *testing.T) {
	relay := startRelay(t)
	loggedInFake(t, relay.setup)
	done := make(chan cliResult, 1)
	go func() {
		code, stdout, stderr := huddle(t, "", "meeting", "subscribe", "7", "--out", t.TempDir(), "--duration", "1s")
		done <- cliResult{code, stdout, stderr}
	}()
	for range protocol.Tracks {
		<-relay.subbed
	}
	relay.mu.Lock()
	to := relay.subs[protocol.TrackCaption][0]
	relay.mu.Unlock()
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: protocol.PayloadT140, SSRC: 5}, Payload: []byte("alice: hello\x1b[2J\r\n")}).Marshal()
	rtcp := []byte{0x80, 200, 0, 1, 0, 0, 0, 5}
	for _, p := range [][]byte{b, rtcp} {
		if _, err := relay.conn.WriteToUDPAddrPort(p, to); err != nil {
			t.Fatal(err)
		}
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.stderr, "huddle: [caption] alice: hello\uFFFD[2J\n") || !strings.Contains(r.stdout, "caption  1 packets  ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
