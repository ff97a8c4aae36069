package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil/netns"
	"huddle/internal/testutil/proc"
	"huddle/protocol"
)

// TestFFmpegMulticastInterop is DESIGN §4's promise that standard tools
// interoperate: ffmpeg sends Opus over RTP to the relay as a registered
// source, and a second ffmpeg, given nothing but the meeting's SDP, receives
// it from the meeting's multicast group and writes it to an Ogg file that
// ffprobe reads. Everything runs in a network namespace of the test's own,
// whose only interface is lo: ffmpeg joins the group on its default
// interface, and there that is lo.
func TestFFmpegMulticastInterop(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (.ci/run installs it)", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	ns := netns.New(t)
	bin, err := proc.Build(t, t.TempDir(), "huddle/cmd/huddled")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const addr, mediaPort = "127.0.0.1:7700", 7702
	srv := startIn(t, ns, "huddled", bin, "--listen", addr, "--http", "127.0.0.1:7701", "--data", filepath.Join(dir, "data"),
		"--media-ip", "127.0.0.1", "--multicast-if", "lo")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c *client.Client
	var src *net.UDPConn // only reserves the port ffmpeg will send from
	deadline := time.Now().Add(10 * time.Second)
	for c == nil {
		ns.Do(t, func() { c, err = client.Dial(ctx, addr) })
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("huddled does not answer in %s: %v\n%s", ns.Name, err, srv.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	defer c.Close()
	ns.Do(t, func() { src, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) })
	if err != nil {
		t.Fatal(err)
	}
	srcPort := src.LocalAddr().(*net.UDPAddr).Port
	src.Close()

	must := func(typ string, in, out any) {
		t.Helper()
		if err := c.Call(ctx, typ, in, out); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	must(protocol.TypeAuthRegister, protocol.Register{Name: "alice", Email: "alice@example.com", Password: "interop password"}, nil)
	must(protocol.TypeAuthLogin, protocol.Login{Name: "alice", Password: "interop password"}, nil)
	var m protocol.MeetingInfo
	must(protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: "interop"}, &m)
	var sdp protocol.MeetingSDPReply
	must(protocol.TypeMeetingSDP, protocol.MeetingID{Meeting: m.Meeting}, &sdp)
	const ssrc = 424242
	must(protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio,
		Source: fmt.Sprintf("127.0.0.1:%d", srcPort), SSRC: ssrc}, nil)
	sdpFile := filepath.Join(dir, "meeting.sdp")
	if err := os.WriteFile(sdpFile, []byte(sdp.SDP), 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "received.ogg")
	recv := startIn(t, ns, "ffmpeg receiver", "ffmpeg", "-hide_banner", "-nostdin", "-y",
		"-protocol_whitelist", "file,udp,rtp", "-i", sdpFile, "-map", "0:a", "-c", "copy", "-t", "2", out)
	time.Sleep(500 * time.Millisecond) // the receiver joins the group
	send := startIn(t, ns, "ffmpeg sender", "ffmpeg", "-hide_banner", "-nostdin", "-re",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-c:a", "libopus", "-b:a", "48k",
		"-f", "rtp", "-ssrc", fmt.Sprint(ssrc), "-payload_type", "111",
		fmt.Sprintf("rtp://127.0.0.1:%d?localport=%d", mediaPort, srcPort))
	if err := recv.wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg receiver: %v\n%s\nsender:\n%s\nhuddled:\n%s", err, recv, send, srv)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate:format=duration",
		"-of", "json", out).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", out, err)
	}
	var info struct {
		Streams []struct {
			Codec string `json:"codec_name"`
			Rate  string `json:"sample_rate"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(probe, &info); err != nil || len(info.Streams) != 1 || info.Streams[0].Codec != "opus" {
		t.Fatalf("ffprobe says %s (%v)", probe, err)
	}
	var secs float64
	if _, err := fmt.Sscan(info.Format.Duration, &secs); err != nil || secs < 1 {
		t.Fatalf("received %q seconds of audio, want about 2", info.Format.Duration)
	}
}

// nsProc is a process running inside the test's namespace.
type nsProc struct {
	cmd  *exec.Cmd
	logs *proc.Buffer
	done chan error
}

func startIn(t *testing.T, ns *netns.NS, what, bin string, args ...string) *nsProc {
	t.Helper()
	p := &nsProc{cmd: ns.Command(bin, args...), logs: &proc.Buffer{}, done: make(chan error, 1)}
	p.cmd.Env = proc.CleanEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s:\n%s", what, p.logs)
		}
	})
	return p
}

// wait waits for the process to exit.
func (p *nsProc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(d):
		return fmt.Errorf("still running after %v", d)
	}
}

func (p *nsProc) String() string { return strings.TrimSpace(p.logs.String()) }
