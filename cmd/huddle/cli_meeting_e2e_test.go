package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bgProc is a huddle command running in the background.
type bgProc struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	ready  chan struct{} // closed at the first stderr line starting with the prefix given
	done   chan error
}

// background starts a command; with readyPrefix it waits for that line on
// stderr.
func (e *e2e) background(home, readyPrefix string, args ...string) *bgProc {
	e.t.Helper()
	p := &bgProc{cmd: e.command(home, "", args...), ready: make(chan struct{}), done: make(chan error, 1)}
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		ready := readyPrefix == ""
		if ready {
			close(p.ready)
		}
		for sc.Scan() {
			_, _ = p.stderr.Write([]byte(sc.Text() + "\n"))
			if !ready && strings.HasPrefix(sc.Text(), readyPrefix) {
				ready = true
				close(p.ready)
			}
		}
		p.done <- p.cmd.Wait()
	}()
	e.t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	select {
	case <-p.ready:
	case err := <-p.done:
		e.t.Fatalf("huddle %s exited early: %v\n%s", strings.Join(args, " "), err, p.stderr.String())
	case <-time.After(15 * time.Second):
		e.t.Fatalf("huddle %s not ready after 15s", strings.Join(args, " "))
	}
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *bgProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("still running after 30s")
	}
	return -1
}

func (e *e2e) meetingID(out string) string {
	e.t.Helper()
	m := jsonLines(e.t, out)
	id, ok := m[0]["meeting"].(float64)
	if !ok || id <= 0 {
		e.t.Fatalf("no meeting id in %q", out)
	}
	return strconv.FormatInt(int64(id), 10)
}

// members returns user → status from meeting members --json, checking
// that every item has user, role and status.
func (e *e2e) members(home, id string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, m := range jsonLines(e.t, e.ok(home, "", "--json", "meeting", "members", id)) {
		user, _ := m["user"].(string)
		status, _ := m["status"].(string)
		if role, _ := m["role"].(string); user == "" || status == "" || role == "" {
			e.t.Fatalf("member item %v", m)
		}
		out[user] = status
	}
	return out
}

func TestCLIMeetingEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob", "carol", "dave")
	alice, bob, carol, dave := homes[0], homes[1], homes[2], homes[3]

	created := e.ok(alice, "", "--json", "meeting", "create", "standup")
	id := e.meetingID(created)
	if m := jsonLines(t, created)[0]; m["host"] != "alice" || m["name"] != "standup" {
		t.Fatalf("create --json = %v", m)
	}
	l := e.listen(bob, "--count", "1", "--timeout", "30s")
	e.ok(alice, "", "meeting", "invite", id, "bob", "carol")
	if p := l.pushes(t); len(p) != 1 || p[0]["type"] != "meeting.invite" {
		t.Fatalf("bob's pushes = %v", p)
	}
	// An invitation made while carol was offline is in her list.
	if items := jsonLines(t, e.ok(carol, "", "--json", "meeting", "list")); len(items) != 1 || e.meetingID(e.ok(carol, "", "--json", "meeting", "list")) != id || items[0]["status"] != "invited" {
		t.Fatalf("carol's list = %v", items)
	}

	j := jsonLines(t, e.ok(bob, "", "--json", "meeting", "accept", id))[0]
	relay, _ := j["relay"].(map[string]any)
	multicast, _ := j["multicast"].(map[string]any)
	if len(relay) != 5 || len(multicast) != 5 {
		t.Fatalf("accept --json = %v", j)
	}
	for track, addr := range multicast {
		if !strings.HasPrefix(addr.(string), "239.255.") || !strings.HasPrefix(relay[track].(string), "127.0.0.1:") {
			t.Fatalf("accept --json = %v", j)
		}
	}
	e.ok(carol, "", "meeting", "decline", id)
	if errs := e.fails(1, dave, "", "--json", "meeting", "join", id); !strings.Contains(errs, `"code":"forbidden"`) {
		t.Fatalf("dave's join: %s", errs)
	}
	for _, args := range [][]string{{"invite", id, "dave"}, {"kick", id, "carol"}, {"end", id}} {
		if errs := e.fails(1, bob, "", append([]string{"--json", "meeting"}, args...)...); !strings.Contains(errs, `"code":"forbidden"`) {
			t.Fatalf("bob's meeting %v: %s", args, errs)
		}
	}
	if got := e.members(alice, id); got["alice"] != "joined" || got["bob"] != "joined" || got["carol"] != "declined" || len(got) != 3 {
		t.Fatalf("members = %v", got)
	}

	l = e.listen(alice, "--timeout", "30s")
	if m := jsonLines(t, e.ok(bob, "", "--json", "meeting", "say", id, "hello", "all"))[0]; m["seq"] != 1.0 {
		t.Fatalf("say --json = %v", m)
	}
	if d := l.first(t, "meeting.text"); d["text"] != "hello all" {
		t.Fatalf("alice's meeting.text = %v", d)
	}
	_ = l.cmd.Process.Kill()
	e.ok(alice, "", "meeting", "caption", id, "[laughter]")
	if sdp := e.ok(bob, "", "meeting", "sdp", id); !strings.HasPrefix(sdp, "v=0") || !strings.Contains(sdp, "opus/48000") {
		t.Fatalf("sdp = %q", sdp)
	}

	e.ok(bob, "", "meeting", "leave", id)
	if got := e.members(alice, id); got["bob"] != "left" {
		t.Fatalf("members after leave = %v", got)
	}
	e.ok(bob, "", "meeting", "join", id) // back again
	e.ok(alice, "", "meeting", "kick", id, "bob")
	if got := e.members(alice, id); got["bob"] != "kicked" {
		t.Fatalf("members after kick = %v", got)
	}
	e.fails(1, bob, "", "meeting", "join", id)
	e.ok(alice, "", "meeting", "end", id)
	if out := e.ok(carol, "", "meeting", "list"); out != "no live meetings\n" {
		t.Fatalf("carol's list after the end = %q", out)
	}
	e.fails(1, alice, "", "meeting", "join", id)
	e.fails(2, alice, "", "meeting", "join", "nope")
}

func TestCLICallEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob", "carol")
	alice, bob, carol := homes[0], homes[1], homes[2]
	for _, friend := range []struct{ home, name string }{{bob, "bob"}, {carol, "carol"}} {
		e.ok(alice, "", "friend", "add", friend.name)
		e.ok(friend.home, "", "friend", "accept", "alice")
	}
	// ring calls bob from alice and returns the call and its meeting, from
	// the call.ring push bob hears (among presence pushes).
	ring := func() (*bgProc, string) {
		t.Helper()
		l := e.listen(bob, "--timeout", "30s")
		defer func() { _ = l.cmd.Process.Kill() }()
		call := e.background(alice, "", "--json", "call", "bob")
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, p := range jsonLines(t, l.stdout.String()) {
				if p["type"] == "call.ring" {
					return call, strconv.FormatInt(int64(p["data"].(map[string]any)["meeting"].(float64)), 10)
				}
			}
		}
		t.Fatalf("bob heard no call.ring: %s", l.stdout.String())
		return nil, ""
	}

	call, id := ring()
	e.ok(bob, "", "call", "accept", id)
	if code := call.wait(t); code != 0 {
		t.Fatalf("call: exit %d\n%s", code, call.stderr.String())
	}
	if m := jsonLines(t, call.stdout.String()); len(m) != 1 || m[0]["answered"] != true || m[0]["callee"] != "bob" {
		t.Fatalf("call --json = %v", m)
	}

	call, id = ring()
	e.ok(bob, "", "call", "decline", id)
	if code := call.wait(t); code != 1 {
		t.Fatalf("declined call: exit %d", code)
	}
	if m := jsonLines(t, call.stdout.String()); len(m) != 1 || m[0]["answered"] != false || m[0]["reason"] != "declined" {
		t.Fatalf("declined call --json = %v", m)
	}

	start := time.Now()
	code, out, errs := e.huddle(alice, "", "--json", "call", "carol") // carol is not there: the 3s ring timeout
	if m := jsonLines(t, out); code != 1 || len(m) != 1 || m[0]["reason"] != "timeout" || !strings.Contains(errs, "carol did not answer") {
		t.Fatalf("unanswered call: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("unanswered call ended after %v", d)
	}
}

// aliceMeetsBob has alice create meeting name and bob accept her
// invitation; it returns their homes and the meeting's id.
func (e *e2e) aliceMeetsBob(name string) (alice, bob, id string) {
	e.t.Helper()
	homes := e.users("alice", "bob")
	alice, bob = homes[0], homes[1]
	id = e.meetingID(e.ok(alice, "", "--json", "meeting", "create", name))
	e.ok(alice, "", "meeting", "invite", id, "bob")
	e.ok(bob, "", "meeting", "accept", id)
	return alice, bob, id
}

// subscribeRow parses one row of subscribe's table: packets and bytes.
func subscribeRow(t *testing.T, out, track string) (packets, bytes float64) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == track {
			p, err1 := strconv.ParseFloat(f[1], 64)
			b, err2 := strconv.ParseFloat(f[3], 64)
			if err1 == nil && err2 == nil {
				return p, b
			}
		}
	}
	t.Fatalf("no %s row in %q", track, out)
	return 0, 0
}

// TestCLIMediaEndToEnd: meeting publish through the real relay to meeting
// subscribe, which writes files with the frames sent; subscribe stops when
// the host ends the meeting.
func TestCLIMediaEndToEnd(t *testing.T) {
	e := startE2E(t)
	alice, bob, id := e.aliceMeetsBob("media")

	dir := t.TempDir()
	audio, video := testMedia(t, dir)
	out := filepath.Join(dir, "out")

	sub := e.background(bob, "huddle: receiving meeting", "meeting", "subscribe", id, "--out", out)
	pub := jsonLines(t, e.ok(alice, "", "--json", "meeting", "publish", id, "--audio", filepath.Join(dir, "in.ogg"), "--video", filepath.Join(dir, "in.ivf")))
	time.Sleep(200 * time.Millisecond) // the last packets on their way
	e.ok(alice, "", "meeting", "end", id)
	if code := sub.wait(t); code != 0 {
		t.Fatalf("subscribe: exit %d\n%s", code, sub.stderr.String())
	}
	for i, track := range []string{"audio", "video"} {
		p, b := subscribeRow(t, sub.stdout.String(), track)
		if pub[i]["track"] != track || pub[i]["packets"] != p || pub[i]["bytes"] != b {
			t.Fatalf("published %v, received %s: %v packets, %v bytes\n%s", pub[i], track, p, b, sub.stdout.String())
		}
	}
	if got := readOgg(t, filepath.Join(out, "audio.ogg")); len(got) != len(audio) {
		t.Fatalf("audio.ogg: %d packets, want %d", len(got), len(audio))
	}
	if got, _ := readIVF(t, filepath.Join(out, "video.ivf")); len(got) != len(video) {
		t.Fatalf("video.ivf: %d frames, want %d", len(got), len(video))
	}
}

// testMedia writes 1 s of audio (dir/in.ogg) and of video (dir/in.ivf)
// and returns their frames.
func testMedia(t *testing.T, dir string) (audio, video [][]byte) {
	t.Helper()
	for i := range 50 {
		audio = append(audio, opusFrame(i, 60))
	}
	for i := range 30 {
		video = append(video, vp8Frame(i, 500+i*50, i%10 == 0))
	}
	writeOgg(t, filepath.Join(dir, "in.ogg"), audio)
	writeIVF(t, filepath.Join(dir, "in.ivf"), video)
	return audio, video
}

// needFFmpeg skips without ffmpeg and ffprobe, except under CI, where
// the interop tests must run.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing and CI is set (.ci/run installs it)", tool)
			}
			t.Skipf("SKIP: %s is missing, so the ffmpeg interop test cannot run", tool)
		}
	}
}

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

func ffprobe(t *testing.T, path string) string {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=codec_name,nb_read_packets", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, b)
	}
	return string(b)
}

// TestCLIFFmpegInterop: ffmpeg sends Opus to the relay as a source that
// meeting source registered, huddle meeting subscribe receives it, and
// ffprobe opens the audio.ogg it writes. ffmpeg-made files (many Opus
// packets per Ogg page, real VP8) also go through publish.
func TestCLIFFmpegInterop(t *testing.T) {
	needFFmpeg(t)
	e := startE2E(t)
	alice, bob, id := e.aliceMeetsBob("interop")
	dir := t.TempDir()
	wav := filepath.Join(dir, "in.wav")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=3", wav)

	port := freeUDPPort(t)
	src := jsonLines(t, e.ok(alice, "", "--json", "meeting", "source", id, "--track", "audio", "--from", "127.0.0.1:"+port, "--ssrc", "305419896"))[0]
	relay, _ := src["relay"].(string)
	out := filepath.Join(dir, "out")
	sub := e.background(bob, "huddle: receiving meeting", "meeting", "subscribe", id, "--out", out, "--duration", "30s")
	ffmpeg(t, "-re", "-i", wav, "-c:a", "libopus", "-f", "rtp", "-ssrc", "305419896", "-payload_type", "111", "rtp://"+relay+"?localport="+port)
	time.Sleep(200 * time.Millisecond)
	_ = sub.cmd.Process.Signal(syscall.SIGINT) // an interrupt is a normal end
	if code := sub.wait(t); code != 0 {
		t.Fatalf("subscribe: exit %d\n%s", code, sub.stderr.String())
	}
	packets, _ := subscribeRow(t, sub.stdout.String(), "audio")
	if packets < 140 { // 3 s of 20 ms packets: 150
		t.Fatalf("received %v audio packets of ffmpeg's 150\n%s", packets, sub.stdout.String())
	}
	if info := ffprobe(t, filepath.Join(out, "audio.ogg")); !strings.Contains(info, "codec_name=opus") || !strings.Contains(info, "nb_read_packets="+strconv.Itoa(int(packets))) {
		t.Fatalf("ffprobe audio.ogg:\n%s", info)
	}

	// ffmpeg's own files through publish and subscribe, with --json.
	ogg, ivf := filepath.Join(dir, "ff.ogg"), filepath.Join(dir, "ff.ivf")
	ffmpeg(t, "-i", wav, "-t", "2", "-c:a", "libopus", ogg)
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=2", "-c:v", "libvpx", "-b:v", "200k", ivf)
	out2 := filepath.Join(dir, "out2")
	sub = e.background(bob, "", "--json", "meeting", "subscribe", id, "--out", out2, "--duration", "30s")
	time.Sleep(time.Second) // with --json, subscribe says nothing when it is ready
	pub := jsonLines(t, e.ok(alice, "", "--json", "meeting", "publish", id, "--audio", ogg, "--screen", ivf))
	time.Sleep(200 * time.Millisecond)
	_ = sub.cmd.Process.Signal(syscall.SIGINT)
	if code := sub.wait(t); code != 0 {
		t.Fatalf("subscribe --json: exit %d\n%s", code, sub.stderr.String())
	}
	items := map[string]map[string]any{}
	for _, m := range jsonLines(t, sub.stdout.String()) {
		if _, ok := m["packets"].(float64); !ok {
			t.Fatalf("subscribe --json item %v", m)
		}
		if _, ok := m["bytes"].(float64); !ok {
			t.Fatalf("subscribe --json item %v", m)
		}
		items[m["track"].(string)] = m
	}
	if len(items) != 5 || items["audio"]["packets"] != pub[0]["packets"] || items["screen"]["packets"] != pub[1]["packets"] {
		t.Fatalf("published %v, subscribe --json printed %v", pub, items)
	}
	// The files hold what ffmpeg wrote: the same codec and packet count.
	for in, out := range map[string]string{ogg: filepath.Join(out2, "audio.ogg"), ivf: filepath.Join(out2, "screen.ivf")} {
		if want, got := ffprobe(t, in), ffprobe(t, out); got != want {
			t.Fatalf("ffprobe %s:\n%s\nffprobe %s:\n%s", in, want, out, got)
		}
	}
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// TestCLIPublishLoop: publish --loop starts the file again at its end and
// goes on until interrupted, which is a normal end; what it sent reaches
// subscribe, whose audio.ogg holds every pass.
func TestCLIPublishLoop(t *testing.T) {
	e := startE2E(t)
	alice, bob, id := e.aliceMeetsBob("loop")
	dir := t.TempDir()
	audio, _ := testMedia(t, dir) // 1 s
	out := filepath.Join(dir, "out")

	sub := e.background(bob, "huddle: receiving meeting", "meeting", "subscribe", id, "--out", out)
	pub := e.background(alice, "huddle: publishing to meeting", "meeting", "publish", id, "--audio", filepath.Join(dir, "in.ogg"), "--loop")
	// Once audio arrives, let it run 2.5 s: more than two passes of the file.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("subscribe wrote no audio.ogg:\n%s", sub.stderr.String())
		}
		if st, err := os.Stat(filepath.Join(out, "audio.ogg")); err == nil && st.Size() > 0 {
			break
		}
	}
	time.Sleep(2500 * time.Millisecond)
	_ = pub.cmd.Process.Signal(syscall.SIGINT)
	if code := pub.wait(t); code != 0 {
		t.Fatalf("publish --loop: exit %d after an interrupt\n%s", code, pub.stderr.String())
	}
	sent, sentBytes := subscribeRow(t, pub.stdout.String(), "audio")
	if sent <= float64(2*len(audio)) {
		t.Fatalf("publish --loop sent %v packets in over 2 s of a %d-packet, 1 s file", sent, len(audio))
	}
	time.Sleep(200 * time.Millisecond) // the last packets on their way
	e.ok(alice, "", "meeting", "end", id)
	if code := sub.wait(t); code != 0 {
		t.Fatalf("subscribe: exit %d\n%s", code, sub.stderr.String())
	}
	if got, gotBytes := subscribeRow(t, sub.stdout.String(), "audio"); got != sent || gotBytes != sentBytes {
		t.Fatalf("published %v packets (%v bytes), subscribe got %v (%v)", sent, sentBytes, got, gotBytes)
	}
	if got := readOgg(t, filepath.Join(out, "audio.ogg")); len(got) != int(sent) {
		t.Fatalf("audio.ogg: %d packets, want %v", len(got), sent)
	}
}
