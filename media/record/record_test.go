package record

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"huddle/internal/testutil/mediafile"
	"huddle/internal/testutil/wait"
	"huddle/media"
	"huddle/media/rtpfile"
	"huddle/protocol"
)

// TestRecordMeeting records two members' audio, one's video, the relay's
// text chat, a member's own text source and a caption, and checks every
// file: names, packets, size and SHA-256, what pion's readers and ffprobe
// find in them, and the WebVTT cues.
func TestRecordMeeting(t *testing.T) {
	r, m := startMeeting(t)
	rec := startRecorder(t, m, Config{})
	alice := newSender(t, r, m, "alice", trackAudio, 0xA1, true)
	bob := newSender(t, r, m, "bob", trackAudio, 0xB0B, true)
	aliceVideo := newSender(t, r, m, "alice", trackVideo, 0xA2, true)
	aliceText := newSender(t, r, m, "alice", trackText, 0xA3, true)
	mallory := newSender(t, r, m, "mallory", trackAudio, 0xBAD, false)
	// Alice hears the others but not herself; the recorder, no member of
	// the meeting's, gets hers too.
	aliceRx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer aliceRx.Close()
	must(t, m.Subscribe(media.Subscriber{Member: "alice", Conn: 7, Track: trackAudio, Addr: aliceRx.LocalAddr().(*net.UDPAddr).AddrPort()}))

	start := time.Now()
	audio := opusRTP(t)
	video, frames := vp8RTP(t)
	for _, p := range audio {
		alice.send(p.Clone())
		bob.send(p.Clone())
		mallory.send(p.Clone()) // unregistered: the relay drops it
	}
	alice.send(&rtp.Packet{Payload: []byte{0xFB}}) // Opus code 3 without a frame count: rejected
	for _, p := range video {
		aliceVideo.send(p)
	}
	// Not from the relay's IP: ignored, though it reaches the socket.
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: protocol.PayloadOpus, SSRC: 0xFA4E}, Payload: audio[0].Payload}).Marshal()
	if _, err := other.WriteToUDPAddrPort(b, rec.tracks[trackAudio].addr); err != nil {
		t.Fatal(err)
	}
	// From the relay's IP but not its RTP port: ignored too.
	local, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := local.WriteToUDPAddrPort(b, rec.tracks[trackAudio].addr); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"alice: hello\r\n", "\uFEFF", "bob: <b>hi</b> & --> bye\r\nsecond line\r\n\r\n"} {
		must(t, m.Send(trackText, protocol.PayloadT140, []byte(s)))
	}
	aliceText.send(&rtp.Packet{Payload: []byte("typed by alice\r\n")})
	must(t, m.Send(trackCaption, protocol.PayloadT140, []byte("[laughter]\r\n")))
	// Alice's and bob's audio to the recorder, bob's to alice too.
	forwarded(t, m, trackAudio, uint64(3*len(audio)+1))
	forwarded(t, m, trackVideo, uint64(len(video)))
	forwarded(t, m, trackText, 4)
	forwarded(t, m, trackCaption, 1)
	// Mallory's socket may hash to another relay worker than the others':
	// their packets being forwarded says nothing of when hers were read.
	wait.For(t, 5*time.Second, "drop of all of mallory's packets as unregistered", func() bool {
		return r.Stats().Unregistered >= uint64(len(audio))
	})

	tracks, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var names []string
	for _, tr := range tracks {
		names = append(names, tr.File)
	}
	want := []string{"text.vtt", "audio-alice-000000a1.ogg", "audio-bob-00000b0b.ogg", "video-alice-000000a2.ivf", "caption.vtt"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	dir := rec.cfg.Dir
	if entries, _ := os.ReadDir(dir); len(entries) != len(want) {
		t.Fatalf("%d files in %s, want %d", len(entries), dir, len(want))
	}
	checkFiles(t, dir, tracks)
	for i, w := range []Track{
		{Track: "text", Packets: 3},
		{Track: "audio", From: "alice", SSRC: 0xA1, Packets: uint64(len(audio)), Rejected: 1},
		{Track: "audio", From: "bob", SSRC: 0xB0B, Packets: uint64(len(audio))},
		{Track: "video", From: "alice", SSRC: 0xA2, Packets: uint64(len(video))},
		{Track: "caption", Packets: 1},
	} {
		g := tracks[i]
		if g.Track != w.Track || g.From != w.From || g.SSRC != w.SSRC || g.Packets != w.Packets || g.Rejected != w.Rejected {
			t.Errorf("%s: %+v, want %+v", g.File, g, w)
		}
		if rtpfile.FormatOf(g.Track) != rtpfile.None && (g.Offset <= 0 || g.Offset > elapsed) || rtpfile.FormatOf(g.Track) == rtpfile.None && g.Offset != 0 {
			t.Errorf("%s: offset %v (recording %v)", g.File, g.Offset, elapsed)
		}
	}

	for _, name := range want[1:3] {
		path := filepath.Join(dir, name)
		got := oggPackets(t, path)
		if len(got) != len(audio) || !lastPageEnds(t, path) {
			t.Fatalf("%s: %d packets, want %d; end of stream %v", name, len(got), len(audio), lastPageEnds(t, path))
		}
		for i := range got {
			if !bytes.Equal(got[i], audio[i].Payload) {
				t.Fatalf("%s: packet %d differs", name, i)
			}
		}
		if info := ffprobe(t, path); info != "" && info != "codec_name=opus\nnb_read_packets="+strconv.Itoa(len(audio)) {
			t.Fatalf("ffprobe %s:\n%s", name, info)
		}
	}
	path := filepath.Join(dir, want[3])
	got, pts := ivfFrames(t, path)
	_, wantPTS := ivfFrames(t, "testdata/testsrc.ivf")
	if len(got) != len(frames) {
		t.Fatalf("%s: %d frames, want %d", want[3], len(got), len(frames))
	}
	for i := range got {
		if !bytes.Equal(got[i], frames[i]) || pts[i] != wantPTS[i]-wantPTS[0] {
			t.Fatalf("%s: frame %d: %d bytes at %d, want %d at %d", want[3], i, len(got[i]), pts[i], len(frames[i]), wantPTS[i])
		}
	}
	if info := ffprobe(t, path); info != "" && info != "codec_name=vp8\nnb_read_packets="+strconv.Itoa(len(frames)) {
		t.Fatalf("ffprobe %s:\n%s", want[3], info)
	}

	text := readVTT(t, filepath.Join(dir, "text.vtt"))
	wantText := []string{"alice: hello", "bob: &lt;b&gt;hi&lt;/b&gt; &amp; --&gt; bye\nsecond line", "<v alice >typed by alice"}
	if !slices.Equal(cueTexts(text), wantText) {
		t.Fatalf("text.vtt cues %q, want %q", cueTexts(text), wantText)
	}
	for i, c := range text {
		if c.start > elapsed || c.end > elapsed+10*time.Millisecond ||
			i+1 < len(text) && c.end != max(text[i+1].start, c.start+cueMin) {
			t.Fatalf("text.vtt cue %d %+v (recording %v)", i, c, elapsed)
		}
	}
	if caption := readVTT(t, filepath.Join(dir, "caption.vtt")); len(caption) != 1 || caption[0].text != "[laughter]" {
		t.Fatalf("caption.vtt cues %+v", caption)
	}
	if info := ffprobe(t, filepath.Join(dir, "text.vtt")); info != "" && info != "codec_name=webvtt\nnb_read_packets=3" {
		t.Fatalf("ffprobe text.vtt:\n%s", info)
	}

	// Stop again: the same answer.
	again, err := rec.Stop()
	if err != nil || !slices.Equal(again, tracks) {
		t.Fatalf("second Stop: %v, %v", again, err)
	}
}

// TestRecordMaxBytes: at a small limit Full is closed, the files stay
// within it, and Stop finishes them well-formed.
func TestRecordMaxBytes(t *testing.T) {
	r, m := startMeeting(t)
	const limit = 4000
	rec := startRecorder(t, m, Config{MaxBytes: limit})
	alice := newSender(t, r, m, "alice", trackAudio, 1, true)
	aliceVideo := newSender(t, r, m, "alice", trackVideo, 2, true)
	audio := opusRTP(t)
	video, frames := vp8RTP(t)
	// Three frames of video (some 2.4 kB) first, then more audio than fits.
	ivfSize := int64(32)
	for _, f := range frames[:3] {
		ivfSize += 12 + int64(len(f))
	}
	for i, ends := 0, 0; ends < 3; i++ {
		aliceVideo.send(video[i])
		if video[i].Marker {
			ends++
		}
	}
	ivf := filepath.Join(rec.cfg.Dir, "video-alice-00000002.ivf")
	wait.For(t, 5*time.Second, "three frames written", func() bool {
		st, err := os.Stat(ivf)
		return err == nil && st.Size() == ivfSize
	})
	for _, p := range audio {
		alice.send(p)
	}
	select {
	case <-rec.Full():
	case <-time.After(5 * time.Second):
		t.Fatal("Full was not closed")
	}
	forwarded(t, m, trackAudio, uint64(len(audio)))
	tracks, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, rec.cfg.Dir, tracks)
	if len(tracks) != 2 {
		t.Fatalf("files %+v", tracks)
	}
	path := filepath.Join(rec.cfg.Dir, tracks[0].File)
	if n := len(oggPackets(t, path)); n == 0 || n >= len(audio) || uint64(n) != tracks[0].Packets || !lastPageEnds(t, path) {
		t.Fatalf("%s: %d packets of %d (%d counted), end of stream %v", tracks[0].File, n, len(audio), tracks[0].Packets, lastPageEnds(t, path))
	}
	if got, _ := ivfFrames(t, ivf); len(got) != 3 || tracks[1].Size != ivfSize {
		t.Fatalf("%s: %d frames, %d bytes", ivf, len(got), tracks[1].Size)
	}
	if total := tracks[0].Size + tracks[1].Size; total > limit || total < limit-200 {
		t.Fatalf("%d bytes, limit %d", total, limit)
	}
}

// TestRecordMaxFiles: a source past MaxFiles gets no file.
func TestRecordMaxFiles(t *testing.T) {
	r, m := startMeeting(t)
	rec := startRecorder(t, m, Config{MaxFiles: 2})
	p := opusRTP(t)[0]
	for i := range uint32(3) {
		newSender(t, r, m, "alice", trackAudio, 10+i, true).send(p.Clone())
		forwarded(t, m, trackAudio, uint64(i+1))
		time.Sleep(10 * time.Millisecond) // the recorder reads them in order
	}
	tracks, err := rec.Stop()
	if err != nil || len(tracks) != 2 || tracks[0].SSRC != 10 || tracks[1].SSRC != 11 {
		t.Fatalf("%+v, %v", tracks, err)
	}
}

// TestDescribeInterrupted copies a running recording's files, as a crash
// would leave them (no Ogg end of stream, IVF frame count unset, the last
// cue missing) with torn tails, and checks that Describe repairs and
// describes them.
func TestDescribeInterrupted(t *testing.T) {
	r, m := startMeeting(t)
	rec := startRecorder(t, m, Config{})
	alice := newSender(t, r, m, "alice", trackAudio, 0xA1, true)
	aliceVideo := newSender(t, r, m, "alice", trackVideo, 0xA2, true)
	audio := opusRTP(t)
	video, frames := vp8RTP(t)
	for _, p := range audio {
		alice.send(p)
	}
	for _, p := range video {
		aliceVideo.send(p)
	}
	for _, s := range []string{"one", "two", "three"} {
		must(t, m.Send(trackText, protocol.PayloadT140, []byte(s)))
	}
	forwarded(t, m, trackAudio, uint64(len(audio)))
	forwarded(t, m, trackVideo, uint64(len(video)))
	forwarded(t, m, trackText, 3)
	crashed := t.TempDir()
	ogg, ivf, vtt := "audio-alice-000000a1.ogg", "video-alice-000000a2.ivf", "text.vtt"
	ivfSize := int64(32)
	for _, f := range frames {
		ivfSize += 12 + int64(len(f))
	}
	wait.For(t, 5*time.Second, "the files written", func() bool {
		ps, _, _ := mediafile.ReadOgg(filepath.Join(rec.cfg.Dir, ogg))
		st, _ := os.Stat(filepath.Join(rec.cfg.Dir, ivf))
		b, _ := os.ReadFile(filepath.Join(rec.cfg.Dir, vtt))
		return len(ps) == len(audio) && st != nil && st.Size() == ivfSize && bytes.Count(b, []byte("-->")) == 2
	})
	for name, tail := range map[string][]byte{ogg: []byte("OggS\x00"), ivf: {0xFF, 0, 0, 0, 1, 2, 3}, vtt: []byte("00:00:01.000 --> 00:0")} {
		b, err := os.ReadFile(filepath.Join(rec.cfg.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, name), append(b, tail...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(crashed, "notes.txt"), []byte("not the recorder's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := u32(t, filepath.Join(crashed, ivf), 24); n == uint32(len(frames)) {
		t.Fatalf("the running recorder's IVF header already says %d frames", n)
	}
	if lastPageEnds(t, filepath.Join(rec.cfg.Dir, ogg)) {
		t.Fatal("the running recorder's Ogg stream already ended")
	}

	tracks, err := Describe(crashed)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, crashed, tracks)
	want := []Track{{Track: "text", File: vtt}, {Track: "audio", File: ogg, From: "alice", SSRC: 0xA1}, {Track: "video", File: ivf, From: "alice", SSRC: 0xA2}}
	if len(tracks) != len(want) {
		t.Fatalf("described %+v", tracks)
	}
	for i, w := range want {
		w.Size, w.SHA256 = tracks[i].Size, tracks[i].SHA256
		if tracks[i] != w {
			t.Fatalf("described %+v, want %+v", tracks[i], w)
		}
	}
	if n := len(oggPackets(t, filepath.Join(crashed, ogg))); n != len(audio) || !lastPageEnds(t, filepath.Join(crashed, ogg)) {
		t.Fatalf("%s: %d packets, want %d, end of stream %v", ogg, n, len(audio), lastPageEnds(t, filepath.Join(crashed, ogg)))
	}
	if got, _ := ivfFrames(t, filepath.Join(crashed, ivf)); len(got) != len(frames) {
		t.Fatalf("%s: %d frames, want %d", ivf, len(got), len(frames))
	}
	if cs := cueTexts(readVTT(t, filepath.Join(crashed, vtt))); !slices.Equal(cs, []string{"one", "two"}) {
		t.Fatalf("%s: cues %q", vtt, cs)
	}
	// A second Describe changes nothing.
	again, err := Describe(crashed)
	if err != nil || !slices.Equal(again, tracks) {
		t.Fatalf("second Describe: %+v, %v", again, err)
	}

	// The recorder itself goes on and stops well.
	stopped, err := rec.Stop()
	if err != nil || len(stopped) != 3 {
		t.Fatalf("Stop: %+v, %v", stopped, err)
	}
	if cs := cueTexts(readVTT(t, filepath.Join(rec.cfg.Dir, vtt))); !slices.Equal(cs, []string{"one", "two", "three"}) {
		t.Fatalf("%s: cues %q", vtt, cs)
	}
	if _, err := Describe(filepath.Join(crashed, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Describe of no directory: %v", err)
	}
}

// TestStopAfterClose: a meeting that ended first leaves nothing for Stop
// to undo; Stop twice is fine; Start on a closed meeting or into an
// existing directory fails and leaves nothing behind.
func TestStopAfterClose(t *testing.T) {
	r, m := startMeeting(t)
	rec := startRecorder(t, m, Config{})
	alice := newSender(t, r, m, "alice", trackAudio, 1, true)
	for _, p := range opusRTP(t)[:5] {
		alice.send(p)
	}
	forwarded(t, m, trackAudio, 5)
	m.Close()
	for range 2 {
		tracks, err := rec.Stop()
		if err != nil || len(tracks) != 1 || tracks[0].Packets != 5 {
			t.Fatalf("Stop: %+v, %v", tracks, err)
		}
	}

	dir := filepath.Join(t.TempDir(), "closed")
	if _, err := Start(m, Config{Dir: dir, IP: loopback, Logger: quiet}); !errors.Is(err, media.ErrClosed) {
		t.Fatalf("Start on a closed meeting: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a failed Start left %s: %v", dir, err)
	}
	m2 := r.Open(2, [media.Tracks]netip.AddrPort{})
	defer m2.Close()
	if _, err := Start(m2, Config{Dir: rec.cfg.Dir, IP: loopback, Logger: quiet}); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Start into an existing directory: %v", err)
	}
	for _, cfg := range []Config{{IP: loopback}, {Dir: dir}, {Dir: dir, IP: loopback, MaxBytes: -1}} {
		if _, err := Start(m2, cfg); err == nil || !strings.HasPrefix(err.Error(), "record: ") {
			t.Fatalf("Start(%+v): %v", cfg, err)
		}
	}
}

func TestCueText(t *testing.T) {
	for _, tt := range []struct{ payload, voice, want string }{
		{"alice: hello\r\n", "", "alice: hello"},
		{"\uFEFF", "", ""},
		{"\r\n\r\n", "bob", ""},
		{"a\u2028b\r\n\r\nc", "", "a\nb\nc"},
		{"x\ry\x1b[2J\xff", "", "x\uFFFDy\uFFFD[2J\uFFFD"},
		{"1 < 2 && 3 > 2 -->", "", "1 &lt; 2 &amp;&amp; 3 &gt; 2 --&gt;"},
		{"hi", "carol", "<v carol >hi"},
	} {
		if got := cueText(tt.payload, tt.voice); got != tt.want {
			t.Errorf("cueText(%q, %q) = %q, want %q", tt.payload, tt.voice, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		track, member string
		ssrc          uint32
		file          string
		from          string
	}{
		{"audio", "alice", 0xBEEF, "audio-alice-0000beef.ogg", "alice"},
		{"video", "a-b.c_d", 0xFFFFFFFF, "video-a-b.c_d-ffffffff.ivf", "a-b.c_d"},
		{"screen", Unknown, 0, "screen-@unknown-00000000.ivf", Unknown},
		{"audio", "../x/Y", 1, "audio-.._x__-00000001.ogg", ".._x__"},
	} {
		name := mediaName(tt.track, tt.member, tt.ssrc, rtpfile.FormatOf(tt.track))
		got, _, ok := parseName(name)
		if name != tt.file || !ok || got != (Track{Track: tt.track, File: name, From: tt.from, SSRC: tt.ssrc}) {
			t.Errorf("%s %s %x: %s, parsed %+v %v", tt.track, tt.member, tt.ssrc, name, got, ok)
		}
	}
	for _, name := range []string{"text.vtt", "caption.vtt"} {
		if got, format, ok := parseName(name); !ok || format != rtpfile.None || got.Track+".vtt" != name {
			t.Errorf("%s: %+v %v", name, got, ok)
		}
	}
	for _, name := range []string{"audio.vtt", "notes.txt", "audio-alice-beef.ogg", "audio-alice-0000beef.ivf",
		"text-alice-0000beef.ogg", "audio--0000beef.ogg", "audio-alice-0000beeg.ogg", "x.vtt"} {
		if got, _, ok := parseName(name); ok {
			t.Errorf("%s parsed as %+v", name, got)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCues: a cue ends at the next one's start, cueMax after its own or
// when the file closes, and at least cueMin after its start.
func TestCues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.vtt")
	c, err := createCues(path, &budget{full: make(chan struct{})})
	if err != nil {
		t.Fatal(err)
	}
	must(t, c.add(time.Second, "a"))
	must(t, c.add(2*time.Second, "b"))
	must(t, c.expire(2*time.Second+cueMax-time.Millisecond))
	if at, ok := c.deadline(); !ok || at != 2*time.Second+cueMax {
		t.Fatalf("deadline %v %v", at, ok)
	}
	must(t, c.expire(2*time.Second+cueMax+3*time.Millisecond))
	if _, ok := c.deadline(); ok {
		t.Fatal("a cue still waits after it expired")
	}
	must(t, c.add(time.Hour+8*time.Second, "c"))
	must(t, c.add(time.Hour+8*time.Second, "d"))
	must(t, c.close(time.Hour+9*time.Second+500*time.Microsecond, false))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "WEBVTT\n\n" +
		"00:00:01.000 --> 00:00:02.000\na\n\n" +
		"00:00:02.000 --> 00:00:07.000\nb\n\n" +
		"01:00:08.000 --> 01:00:08.001\nc\n\n" +
		"01:00:08.000 --> 01:00:09.000\nd\n\n"
	if string(b) != want {
		t.Fatalf("%s:\n%s\nwant\n%s", path, b, want)
	}
}
