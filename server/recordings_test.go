package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
	"huddle/server"
	"huddle/storage"
)

// sendAudio sends n Opus packets of ssrc from p and waits until sub, a
// subscriber of the same track, has them all: the relay sends the
// recorder's copy in the same batch. Each payload starts with a TOC byte
// (RFC 6716: configuration 31, one 20 ms frame), as the Ogg writer wants.
func sendAudio(t *testing.T, p, sub *udpPeer, relay netip.AddrPort, ssrc uint32, first uint16, n int) {
	t.Helper()
	for i := range n {
		seq := first + uint16(i)
		want := fmt.Sprintf("\xf8opus %d", seq)
		p.send(relay, protocol.PayloadOpus, ssrc, seq, want)
		if got := sub.recv(2 * time.Second); got != want {
			t.Fatalf("subscriber got %q, want %q", got, want)
		}
	}
	time.Sleep(100 * time.Millisecond) // the recorder's socket is read by its own goroutine
}

func recordingOf(t *testing.T, c *clientT, typ string, meeting int64) protocol.RecordingInfo {
	t.Helper()
	var r protocol.RecordingInfo
	call(t, c, typ, protocol.MeetingID{Meeting: meeting}, &r)
	return r
}

func listRecordings(t *testing.T, c *clientT) []int64 {
	t.Helper()
	var out protocol.RecordingListReply
	call(t, c, protocol.TypeRecordingList, protocol.RecordingList{}, &out)
	var ids []int64
	for _, r := range out.Recordings {
		ids = append(ids, r.Recording)
	}
	return ids
}

func TestRecording(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		alice, bob, m, jr := bobJoinsAlice(t, e, "recorded")
		carol, _ := e.newUser("carol")
		relay := netip.MustParseAddrPort(jr.Relay[protocol.TrackAudio])
		bobOut, aliceIn := newPeer(t), newPeer(t)
		call(t, bob, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: m.Meeting, Track: protocol.TrackAudio, Source: bobOut.addr(), SSRC: 0x457}, nil)
		call(t, alice, protocol.TypeMediaSubscribe, protocol.MediaSubscribe{Meeting: m.Meeting, Track: protocol.TrackAudio, Address: aliceIn.addr()}, nil)

		// Only the host records; once at a time; stopping needs a recording.
		callErr(t, bob, protocol.TypeRecordStart, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeForbidden)
		callErr(t, carol, protocol.TypeRecordStart, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeForbidden)
		callErr(t, alice, protocol.TypeRecordStop, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeNotFound)
		callErr(t, alice, protocol.TypeRecordStart, protocol.MeetingID{Meeting: 1 << 40}, protocol.CodeNotFound)
		rec := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
		if rec.Recording <= 0 || rec.Meeting != m.Meeting || rec.State != protocol.RecordingOn || len(rec.Tracks) != 0 {
			t.Fatalf("record.start answered %+v", rec)
		}
		var started protocol.RecordingInfo
		expectPush(t, bob, protocol.PushRecordStarted, &started)
		if started.Recording != rec.Recording || started.By != "alice" {
			t.Fatalf("record.started push %+v", started)
		}
		callErr(t, alice, protocol.TypeRecordStart, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeConflict)
		// Whoever joins now is told.
		if jr := join(t, bob, m.Meeting); jr.Recording != rec.Recording {
			t.Fatalf("a join during the recording answered recording %d, want %d", jr.Recording, rec.Recording)
		}
		// A running recording cannot be downloaded yet.
		callErr(t, alice, protocol.TypeRecordingGet, protocol.RecordingID{Recording: rec.Recording}, protocol.CodeConflict)

		sendAudio(t, bobOut, aliceIn, relay, 0x457, 1, 20)
		call(t, alice, protocol.TypeMeetingSay, protocol.MeetingSay{Meeting: m.Meeting, Text: "welcome to the record"}, nil)
		time.Sleep(100 * time.Millisecond)

		stopped := recordingOf(t, alice, protocol.TypeRecordStop, m.Meeting)
		var pushed protocol.RecordingInfo
		expectPush(t, bob, protocol.PushRecordStopped, &pushed)
		if pushed.Recording != rec.Recording || pushed.State != protocol.RecordingStopped || len(pushed.Tracks) != len(stopped.Tracks) ||
			pushed.Reason != protocol.RecordStoppedByHost || !pushed.Stopped.Equal(stopped.Stopped) {
			t.Fatalf("record.stopped push %+v, stop answered %+v", pushed, stopped)
		}
		var files []string
		var total int64
		for _, tr := range stopped.Tracks {
			files = append(files, tr.File)
			total += tr.Size
		}
		if want := []string{"text.vtt", "audio-bob-00000457.ogg"}; !slices.Equal(files, want) {
			t.Fatalf("recorded files %v, want %v (%+v)", files, want, stopped.Tracks)
		}
		if a := stopped.Tracks[1]; a.Track != protocol.TrackAudio || a.From != "bob" || a.SSRC != 0x457 || a.Packets != 20 || a.Size == 0 {
			t.Fatalf("audio track %+v", a)
		}
		if stopped.State != protocol.RecordingStopped || stopped.Size != total || stopped.Stopped.Before(stopped.Started) {
			t.Fatalf("record.stop answered %+v", stopped)
		}
		callErr(t, alice, protocol.TypeRecordStop, protocol.MeetingID{Meeting: m.Meeting}, protocol.CodeNotFound)

		// Who sees it: the host and the members who joined, not others.
		for name, c := range map[string]*clientT{"alice": alice, "bob": bob} {
			if got := listRecordings(t, c); !slices.Equal(got, []int64{rec.Recording}) {
				t.Fatalf("%s's recordings %v, want [%d]", name, got, rec.Recording)
			}
		}
		if got := listRecordings(t, carol); len(got) != 0 {
			t.Fatalf("carol sees recordings %v", got)
		}
		callErr(t, carol, protocol.TypeRecordingGet, protocol.RecordingID{Recording: rec.Recording}, protocol.CodeNotFound)
		callErr(t, carol, protocol.TypeRecordingGet, protocol.RecordingID{Recording: rec.Recording + 1000}, protocol.CodeNotFound)

		// Bob downloads it: each file whole, with its sha256 checked.
		ctx := t.Context()
		g, err := bob.RecordingGet(ctx, rec.Recording)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		paths, err := bob.SaveRecording(ctx, g, dir, nil)
		if err != nil || len(paths) != 2 {
			t.Fatalf("SaveRecording: %v, %v", paths, err)
		}
		vtt, err := os.ReadFile(filepath.Join(dir, "text.vtt"))
		if err != nil || !strings.HasPrefix(string(vtt), "WEBVTT") || !strings.Contains(string(vtt), "alice: welcome to the record") {
			t.Fatalf("text.vtt: %q, %v", vtt, err)
		}
		if ogg, err := os.ReadFile(filepath.Join(dir, "audio-bob-00000457.ogg")); err != nil || !strings.HasPrefix(string(ogg), "OggS") {
			t.Fatalf("the Ogg file starts %q (%v)", ogg[:min(len(ogg), 8)], err)
		}

		// The data channel serves only the record's names to its token.
		get := func(url, token string) int {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, c := range []struct {
			url, token string
			want       int
		}{
			{g.URL + "text.vtt", g.Token, http.StatusOK},
			{g.URL + "other.vtt", g.Token, http.StatusNotFound},
			{g.URL + "..%2f..%2fhuddle.db", g.Token, http.StatusNotFound},
			{g.URL + "text.vtt", "not-a-token", http.StatusUnauthorized},
			{strings.Replace(g.URL, fmt.Sprintf("/%d/", rec.Recording), fmt.Sprintf("/%d/", rec.Recording+1), 1) + "text.vtt", g.Token, http.StatusForbidden},
		} {
			if got := get(c.url, c.token); got != c.want {
				t.Errorf("GET %s: %d, want %d", c.url, got, c.want)
			}
		}

		// Who was in it keeps it, kicked since or not; who joins the
		// meeting afterwards does not get it, token or no token.
		call(t, alice, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: m.Meeting, User: "bob"}, nil)
		call(t, bob, protocol.TypeRecordingGet, protocol.RecordingID{Recording: rec.Recording}, nil)
		call(t, alice, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: m.Meeting, Users: []string{"carol"}}, nil)
		join(t, carol, m.Meeting)
		if got := listRecordings(t, carol); len(got) != 0 {
			t.Fatalf("carol, who joined after it, sees recordings %v", got)
		}
		callErr(t, carol, protocol.TypeRecordingGet, protocol.RecordingID{Recording: rec.Recording}, protocol.CodeNotFound)

		// Ending the meeting stops its recording first; carol, joined
		// when it starts, is in this one.
		second := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
		call(t, alice, protocol.TypeMeetingEnd, protocol.MeetingID{Meeting: m.Meeting}, nil)
		expectPush(t, alice, protocol.PushRecordStopped, &pushed) // the first recording's
		expectPush(t, alice, protocol.PushRecordStopped, &pushed)
		if pushed.Recording != second.Recording || pushed.State != protocol.RecordingStopped || len(pushed.Tracks) != 0 {
			t.Fatalf("record.stopped at the end %+v", pushed)
		}
		if pushed.Reason != protocol.RecordStoppedEnded {
			t.Fatalf("record.stopped at the end says reason %q", pushed.Reason)
		}
		if got := listRecordings(t, alice); !slices.Equal(got, []int64{second.Recording, rec.Recording}) {
			t.Fatalf("alice's recordings %v", got)
		}
		if got := listRecordings(t, carol); !slices.Equal(got, []int64{second.Recording}) {
			t.Fatalf("carol's recordings %v, want [%d]", got, second.Recording)
		}
	})
}

// TestRecordingLimit: a recording stops by itself at record_max_bytes, and
// a server that stops finishes the recording in progress.
func TestRecordingLimit(t *testing.T) {
	e := &env{t: t, cfg: testutil.TestConfig(t, "sqlite")}
	e.cfg.Meetings.RecordMaxBytes = 2000
	e.srv = testutil.StartServer(t, e.cfg)
	alice, bob, m, relay, bobOut, aliceIn := bobSpeaksToAlice(t, e, "limited")
	rec := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
	sendAudio(t, bobOut, aliceIn, relay, 9, 1, 100)
	var stopped protocol.RecordingInfo
	expectPush(t, bob, protocol.PushRecordStopped, &stopped)
	if stopped.Recording != rec.Recording || stopped.By != "" || stopped.Reason != protocol.RecordStoppedLimit ||
		stopped.Size == 0 || stopped.Size > e.cfg.Meetings.RecordMaxBytes {
		t.Fatalf("record.stopped at the limit: %+v (limit %d)", stopped, e.cfg.Meetings.RecordMaxBytes)
	}

	// A recording in progress when the server stops is finished, not lost.
	again := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
	sendAudio(t, bobOut, aliceIn, relay, 9, 200, 3)
	testutil.StopServer(t, e.srv)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Stopped by the shutdown itself, its file listed (not left for the
	// next start to find).
	store, err := server.OpenStore(ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetRecording(ctx, again.Recording)
	store.Close()
	if err != nil || got.Stopped.IsZero() || len(got.Tracks) != 1 || got.Tracks[0].Packets != 3 {
		t.Fatalf("recording %d after the shutdown: %+v, %v", again.Recording, got, err)
	}
	e.srv = testutil.StartServer(t, e.cfg)
	alice, _ = e.login("alice")
	rs, err := alice.Recordings(ctx, protocol.RecordingList{})
	if err != nil || len(rs) != 2 || rs[0].Recording != again.Recording || rs[0].State != protocol.RecordingStopped {
		t.Fatalf("recordings after the restart: %+v, %v", rs, err)
	}
	// and the meeting can be recorded again.
	third := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
	if got := recordingOf(t, alice, protocol.TypeRecordStop, m.Meeting); got.Recording != third.Recording {
		t.Fatalf("record stop stopped %d, want %d", got.Recording, third.Recording)
	}

	// A running record without a recorder (a start whose undo failed) does
	// not block the meeting: the next start finishes it first.
	store, err = server.OpenStore(ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := store.CreateRecording(ctx, storage.Recording{Meeting: m.Meeting, Started: time.Now(), Members: []string{"alice"}})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	fourth := recordingOf(t, alice, protocol.TypeRecordStart, m.Meeting)
	rs, err = alice.Recordings(ctx, protocol.RecordingList{})
	if err != nil || len(rs) != 5 || rs[0].Recording != fourth.Recording || rs[1].Recording != stale.ID || rs[1].State != protocol.RecordingStopped {
		t.Fatalf("recordings after a stale one: %+v, %v", rs, err)
	}
}
