package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"

	"huddle/internal/testutil/wait"
	"huddle/protocol"
)

// TestCrashDuringRecording: huddled killed with SIGKILL while it records
// a meeting leaves a recording that the restart finishes from the files on
// disk: listed as stopped, each file well-formed up to its last whole page
// and downloadable with the sha256 its record gives; the meeting, live
// again, can be recorded anew.
func TestCrashDuringRecording(t *testing.T) {
	bin, dir, args := sqliteCrashSetup(t)
	ctx := t.Context()

	first := startHuddled(t, bin, args...)
	if _, err := crashClient(t, first.addr).Register(ctx, "alice", "alice@example.com", crashPassword); err != nil {
		t.Fatal(err)
	}
	alice := crashLogin(t, ctx, first.addr, "alice")
	m, err := alice.MeetingCreate(ctx, "crashing")
	if err != nil {
		t.Fatal(err)
	}
	jr, err := alice.MeetingJoin(ctx, m.Meeting)
	if err != nil {
		t.Fatal(err)
	}
	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := alice.MediaRegister(ctx, m.Meeting, protocol.TrackAudio, src.LocalAddr().(*net.UDPAddr).AddrPort(), 77); err != nil {
		t.Fatal(err)
	}
	rec, err := alice.RecordStart(ctx, m.Meeting)
	if err != nil {
		t.Fatal(err)
	}
	relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])
	audio := filepath.Join(dir, "recordings", "1", "audio-alice-0000004d.ogg")
	for seq := uint16(1); seq <= 50; seq++ {
		// A TOC byte (one 20 ms frame of configuration 31) and some bytes.
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: protocol.PayloadOpus, SSRC: 77,
			SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: append([]byte{0xf8}, make([]byte, 80)...)}
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.WriteToUDPAddrPort(b, relay); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	wait.For(t, 15*time.Second, "the recorded audio on disk", func() bool {
		fi, err := os.Stat(audio)
		return err == nil && fi.Size() > 2000
	})
	killed := time.Now()
	first.Kill()

	second := startHuddled(t, bin, args...)
	alice = crashLogin(t, ctx, second.addr, "alice")
	rs, err := alice.Recordings(ctx, protocol.RecordingList{})
	if err != nil || len(rs) != 1 || rs[0].Recording != rec.Recording || rs[0].State != protocol.RecordingStopped {
		t.Fatalf("recordings after the crash: %+v, %v", rs, err)
	}
	// It stopped at the crash (its files' last write), not at the restart.
	if rs[0].Stopped.Before(rec.Started) || rs[0].Stopped.After(killed) {
		t.Fatalf("stopped at %v; started %v, killed %v", rs[0].Stopped, rec.Started, killed)
	}
	if len(rs[0].Tracks) != 1 || rs[0].Tracks[0].File != filepath.Base(audio) || rs[0].Size != rs[0].Tracks[0].Size {
		t.Fatalf("tracks after the crash: %+v", rs[0])
	}
	g, err := alice.RecordingGet(ctx, rec.Recording)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	paths, err := alice.SaveRecording(ctx, g, out, nil)
	if err != nil || len(paths) != 1 {
		t.Fatalf("download after the crash: %v, %v", paths, err)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != rs[0].Tracks[0].SHA256 || int64(len(b)) != rs[0].Tracks[0].Size {
		t.Fatalf("downloaded %d bytes, the record says %d with sha256 %s", len(b), rs[0].Tracks[0].Size, rs[0].Tracks[0].SHA256)
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		if out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", paths[0]).CombinedOutput(); err != nil || string(out) != "opus\n" {
			t.Fatalf("ffprobe of the interrupted recording: %q, %v", out, err)
		}
	}
	if _, err := alice.RecordStart(ctx, m.Meeting); err != nil {
		t.Fatalf("record start after the crash: %v", err)
	}
	if err := second.Stop(15 * time.Second); err != nil {
		t.Errorf("huddled did not stop cleanly on SIGTERM: %v", err)
	}
}
