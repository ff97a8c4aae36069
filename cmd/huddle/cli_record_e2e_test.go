package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCLIRecordEndToEnd: the host records a meeting while a member
// publishes audio and video and says something; record stop names the
// files; a member lists and downloads them (the frames that were sent, and
// files ffprobe opens), then plays the recording into another meeting,
// where meeting subscribe receives it.
func TestCLIRecordEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob", "carol")
	alice, bob, carol := homes[0], homes[1], homes[2]
	id := e.meetingID(e.ok(alice, "", "--json", "meeting", "create", "recorded"))
	e.ok(alice, "", "meeting", "invite", id, "bob")
	e.ok(bob, "", "meeting", "accept", id)

	dir := t.TempDir()
	audio, video := testMedia(t, dir)

	e.fails(1, bob, "", "record", "start", id) // only the host
	e.fails(2, alice, "", "record", "start", "first")
	rec := jsonLines(t, e.ok(alice, "", "--json", "record", "start", id))[0]
	recID := strconv.FormatInt(int64(rec["recording"].(float64)), 10)
	if rec["state"] != "recording" {
		t.Fatalf("record start --json: %v", rec)
	}
	e.ok(bob, "", "meeting", "publish", id, "--audio", filepath.Join(dir, "in.ogg"), "--video", filepath.Join(dir, "in.ivf"))
	e.ok(alice, "", "meeting", "say", id, "that was the demo")
	time.Sleep(200 * time.Millisecond) // the last packets on their way
	if out := e.ok(alice, "", "record", "stop", id); !strings.Contains(out, "stopped recording "+recID) || !strings.Contains(out, "3 files") {
		t.Fatalf("record stop: %q", out)
	}

	// recording list: recording, meeting, tracks (DESIGN §5), for members only.
	items := jsonLines(t, e.ok(bob, "", "--json", "recording", "list"))
	if len(items) != 1 || items[0]["recording"] != rec["recording"] || items[0]["meeting"] != rec["meeting"] {
		t.Fatalf("recording list --json: %v", items)
	}
	tracks, _ := items[0]["tracks"].([]any)
	var names []string
	for _, tr := range tracks {
		names = append(names, tr.(map[string]any)["file"].(string))
	}
	if len(names) != 3 || names[0] != "text.vtt" || !strings.HasPrefix(names[1], "audio-bob-") || !strings.HasPrefix(names[2], "video-bob-") {
		t.Fatalf("recorded files %v", names)
	}
	if out := e.ok(carol, "", "recording", "list"); !strings.Contains(out, "no recordings") {
		t.Fatalf("carol's recording list: %q", out)
	}
	e.fails(2, bob, "", "recording", "list", "--limit", "0")
	if older := e.ok(bob, "", "recording", "list", "--before", recID); !strings.Contains(older, "no recordings") {
		t.Fatalf("recording list --before %s: %q", recID, older)
	}
	e.fails(1, carol, "", "recording", "get", recID)

	// recording get: the files, byte for byte what was recorded.
	got := filepath.Join(t.TempDir(), "rec")
	e.ok(bob, "", "recording", "get", recID, "-o", got)
	if frames := readOgg(t, filepath.Join(got, names[1])); len(frames) != len(audio) || !bytes.Equal(frames[7], audio[7]) {
		t.Fatalf("recorded audio: %d packets, want %d", len(frames), len(audio))
	}
	if frames, _ := readIVF(t, filepath.Join(got, names[2])); len(frames) != len(video) || !bytes.Equal(frames[3], video[3]) {
		t.Fatalf("recorded video: %d frames, want %d", len(frames), len(video))
	}
	if vtt, err := os.ReadFile(filepath.Join(got, "text.vtt")); err != nil || !strings.Contains(string(vtt), "alice: that was the demo") {
		t.Fatalf("text.vtt: %q, %v", vtt, err)
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		if info := ffprobe(t, filepath.Join(got, names[1])); !strings.Contains(info, "codec_name=opus") {
			t.Fatalf("ffprobe of the recorded audio:\n%s", info)
		}
		if info := ffprobe(t, filepath.Join(got, names[2])); !strings.Contains(info, "codec_name=vp8") {
			t.Fatalf("ffprobe of the recorded video:\n%s", info)
		}
	}

	// recording play into a second meeting, received by a subscriber there.
	id2 := e.meetingID(e.ok(bob, "", "--json", "meeting", "create", "replay"))
	e.ok(bob, "", "meeting", "invite", id2, "alice")
	e.ok(alice, "", "meeting", "accept", id2)
	out := filepath.Join(t.TempDir(), "replayed")
	sub := e.background(alice, "huddle: receiving meeting", "meeting", "subscribe", id2, "--out", out)
	e.fails(2, bob, "", "recording", "play", recID)
	e.ok(bob, "", "recording", "play", recID, "--meeting", id2)
	time.Sleep(200 * time.Millisecond)
	e.ok(bob, "", "meeting", "end", id2)
	if code := sub.wait(t); code != 0 {
		t.Fatalf("subscribe: exit %d\n%s", code, sub.stderr.String())
	}
	if frames := readOgg(t, filepath.Join(out, "audio.ogg")); len(frames) != len(audio) {
		t.Fatalf("replayed audio: %d packets, want %d", len(frames), len(audio))
	}
	if frames, _ := readIVF(t, filepath.Join(out, "video.ivf")); len(frames) != len(video) {
		t.Fatalf("replayed video: %d frames, want %d", len(frames), len(video))
	}
}
