package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"huddle/client"
	"huddle/protocol"
)

func recordCommands() []command {
	return []command{
		{"record start", "ID", "start recording a meeting (host); its members are told", cmdRecordStart},
		{"record stop", "ID", "stop recording a meeting (host); prints the files it made", cmdRecordStop},
		{"recording list", "[--limit N] [--before ID]", "list the recordings of meetings you hosted or were in while they recorded, newest first", cmdRecordingList},
		{"recording get", "ID [-o DIR]", "download a recording's files into DIR (default recording-ID), checking each one's sha256", cmdRecordingGet},
		{"recording play", "ID --meeting MID", "play a recording's audio, video and screen into a live meeting you joined", cmdRecordingPlay},
	}
}

func cmdRecordStart(ctx context.Context, a *app, cl *cmdLine) error {
	return recordCommand(ctx, a, cl, (*client.Client).RecordStart, func(r protocol.RecordingInfo) string {
		return fmt.Sprintf("recording meeting %d (recording %d)", r.Meeting, r.Recording)
	})
}

func cmdRecordStop(ctx context.Context, a *app, cl *cmdLine) error {
	return recordCommand(ctx, a, cl, (*client.Client).RecordStop, func(r protocol.RecordingInfo) string {
		switch len(r.Tracks) {
		case 0:
			return fmt.Sprintf("stopped recording %d of meeting %d: nothing was sent while it ran", r.Recording, r.Meeting)
		case 1:
			return fmt.Sprintf("stopped recording %d of meeting %d: 1 file, %s (huddle recording get %d)", r.Recording, r.Meeting, size(r.Size), r.Recording)
		}
		return fmt.Sprintf("stopped recording %d of meeting %d: %d files, %s (huddle recording get %d)",
			r.Recording, r.Meeting, len(r.Tracks), size(r.Size), r.Recording)
	})
}

func recordCommand(ctx context.Context, a *app, cl *cmdLine, call func(*client.Client, context.Context, int64) (protocol.RecordingInfo, error),
	text func(protocol.RecordingInfo) string) error {
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		r, err := call(c, ctx, id)
		if err != nil {
			return err
		}
		return a.print(r, "%s", text(r))
	})
}

func cmdRecordingList(ctx context.Context, a *app, cl *cmdLine) error {
	limit := cl.fs.Int("limit", protocol.DefaultRecordingList, fmt.Sprintf("list at most N recordings (1-%d)", protocol.MaxRecordingList))
	before := cl.fs.Int64("before", 0, "list the recordings older than recording ID")
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	if *limit < 1 || *limit > protocol.MaxRecordingList {
		return cl.usageErrorf("--limit must be 1-%d", protocol.MaxRecordingList)
	}
	if *before < 0 {
		return cl.usageErrorf("--before must be a recording ID")
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		rs, err := c.Recordings(ctx, protocol.RecordingList{Before: *before, Limit: *limit})
		if err != nil {
			return err
		}
		return printList(a, rs, "no recordings", recordingRow)
	})
}

func recordingRow(r protocol.RecordingInfo) []string {
	var files []string
	for _, t := range r.Tracks {
		files = append(files, t.File)
	}
	switch {
	case r.State == protocol.RecordingOn:
		files = append(files, "(files listed when it stops)")
	case len(files) == 0:
		files = append(files, "(no media)")
	}
	return []string{strconv.FormatInt(r.Recording, 10), "meeting " + strconv.FormatInt(r.Meeting, 10),
		r.Started.Local().Format("2006-01-02 15:04:05"), r.State, size(r.Size), strings.Join(files, " ")}
}

// parseRecording parses a command line whose one argument is a recording
// ID: a positive number.
func (cl *cmdLine) parseRecording() (int64, error) {
	args, err := cl.parse(1, 1)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, cl.usageErrorf("recording ID must be a positive number, not %q", args[0])
	}
	return id, nil
}

func cmdRecordingGet(ctx context.Context, a *app, cl *cmdLine) error {
	out := cl.fs.String("o", "", "save the files into DIR, created if missing (default: recording-ID in the current directory)")
	id, err := cl.parseRecording()
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = "recording-" + strconv.FormatInt(id, 10)
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		g, err := c.RecordingGet(ctx, id)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return cl.usageErrorf("-o %s: %v", dir, err)
		}
		paths, err := a.saveRecording(ctx, c, g, dir)
		if err != nil {
			return err
		}
		out := struct {
			Dir   string   `json:"dir"`
			Paths []string `json:"paths"`
			protocol.RecordingInfo
		}{dir, paths, g.RecordingInfo}
		if a.json || len(g.Tracks) == 0 {
			return a.print(out, "saved recording %d of meeting %d to %s: no files", g.Recording, g.Meeting, dir)
		}
		fmt.Fprintf(a.stdout, "saved recording %d of meeting %d to %s:\n", g.Recording, g.Meeting, dir)
		// Each media file starts at its offset from the recording's start,
		// where the .vtt cues are timed from: what a player needs to line
		// them up.
		return printList(a, g.Tracks, "", func(t protocol.RecordingTrack) []string {
			from := t.From
			if from == "" {
				from = "-"
			}
			return []string{"  " + t.File, t.Track, from, "starts at " + (time.Duration(t.OffsetMS) * time.Millisecond).String(), size(t.Size)}
		})
	})
}

// saveRecording downloads g's files into dir with a progress bar per file.
func (a *app) saveRecording(ctx context.Context, c *client.Client, g protocol.RecordingGetReply, dir string) ([]string, error) {
	var p *progress
	current := ""
	paths, err := c.SaveRecording(ctx, g, dir, func(file string, done, total int64) {
		if file != current {
			if p != nil {
				p.finish()
			}
			p, current = a.newProgress("download", file), file
		}
		p.update(done, total)
	})
	if p != nil {
		p.finish()
	}
	return paths, err
}

func cmdRecordingPlay(ctx context.Context, a *app, cl *cmdLine) error {
	meeting := cl.fs.String("meeting", "", "the live meeting to play it into (you must be invited or its host)")
	id, err := cl.parseRecording()
	if err != nil {
		return err
	}
	if *meeting == "" {
		return cl.usageErrorf("--meeting MID is required")
	}
	mid, err := cl.meetingID(*meeting)
	if err != nil {
		return err
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		g, err := c.RecordingGet(ctx, id)
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "huddle-recording-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		paths, err := a.saveRecording(ctx, c, g, dir)
		if err != nil {
			return err
		}
		var pubs []*publication
		defer func() { closePublications(pubs) }()
		for i, t := range g.Tracks {
			kind, ok := playKind(t.Track)
			if !ok {
				continue // text and captions: kept in the .vtt files, not sent again
			}
			p, err := newPublication(t.Track, paths[i], kind, false)
			if err != nil {
				a.warn("skip "+t.File, err)
				continue
			}
			p.delay = time.Duration(t.OffsetMS) * time.Millisecond
			p.stats.File = t.File
			pubs = append(pubs, p)
		}
		if len(pubs) == 0 {
			return protocol.Errorf(protocol.CodeNotFound, "recording %d has no audio, video or screen to play", id)
		}
		return a.publish(ctx, c, mid, pubs)
	})
}

// playKind is how a recorded track is sent again.
func playKind(track string) (mediaKind, bool) {
	switch track {
	case protocol.TrackAudio:
		return opusKind, true
	case protocol.TrackVideo, protocol.TrackScreen:
		return vp8Kind, true
	}
	return mediaKind{}, false
}
