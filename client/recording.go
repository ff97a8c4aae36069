package client

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"huddle/protocol"
)

// RecordStart starts recording a live meeting (host only); the joined
// members get a record.started push.
func (c *Client) RecordStart(ctx context.Context, meeting int64) (protocol.RecordingInfo, error) {
	var out protocol.RecordingInfo
	err := c.Call(ctx, protocol.TypeRecordStart, protocol.MeetingID{Meeting: meeting}, &out)
	return out, err
}

// RecordStop stops a meeting's recording (host only) and returns it with its
// files, which are durable by then.
func (c *Client) RecordStop(ctx context.Context, meeting int64) (protocol.RecordingInfo, error) {
	var out protocol.RecordingInfo
	err := c.Call(ctx, protocol.TypeRecordStop, protocol.MeetingID{Meeting: meeting}, &out)
	return out, err
}

// Recordings returns a page of the recordings of the meetings the caller
// hosted or took part in, newest first.
func (c *Client) Recordings(ctx context.Context, q protocol.RecordingList) ([]protocol.RecordingInfo, error) {
	var out protocol.RecordingListReply
	err := c.Call(ctx, protocol.TypeRecordingList, q, &out)
	return out.Recordings, err
}

// RecordingGet authorizes the download of a stopped recording's files.
func (c *Client) RecordingGet(ctx context.Context, id int64) (protocol.RecordingGetReply, error) {
	var out protocol.RecordingGetReply
	err := c.Call(ctx, protocol.TypeRecordingGet, protocol.RecordingID{Recording: id}, &out)
	return out, err
}

// SaveRecording fetches every file of the recording g authorizes into dir
// under its name in the recording, as SaveDownload does for a file: resumed
// from a .part, SHA-256 checked, synced, then renamed. It returns the paths
// written, in the recording's order. progress, when not nil, is called with
// each file's name and its progress.
func (c *Client) SaveRecording(ctx context.Context, g protocol.RecordingGetReply, dir string,
	progress func(file string, done, total int64)) ([]string, error) {
	// renew asks for a new token when g's expires; the files after it use
	// the new one too.
	renew := func(file string) func(context.Context) (string, string, error) {
		return func(ctx context.Context) (string, string, error) {
			g2, err := c.RecordingGet(ctx, g.Recording)
			if err != nil {
				return "", "", err
			}
			g.URL, g.Token = g2.URL, g2.Token
			return g.URL + file, g.Token, nil
		}
	}
	paths := make([]string, 0, len(g.Tracks))
	for _, t := range g.Tracks {
		if t.File == "" || t.File != filepath.Base(t.File) || t.File == "." || t.File == ".." {
			// A name the server should never give: it would write elsewhere.
			return paths, protocol.Errorf(protocol.CodeInternal, "recording %d names a file %q", g.Recording, t.File)
		}
		d := protocol.FileDownloadReply{
			FileInfo: protocol.FileInfo{File: "recording-" + strconv.FormatInt(g.Recording, 10) + "/" + t.File,
				Name: t.File, Size: t.Size, SHA256: t.SHA256},
			URL: g.URL + t.File, Token: g.Token, Expires: g.Expires,
		}
		var p func(done, total int64)
		if progress != nil {
			p = func(done, total int64) { progress(t.File, done, total) }
		}
		path := filepath.Join(dir, t.File)
		if err := c.save(ctx, d, renew(t.File), path, p); err != nil {
			return paths, fmt.Errorf("%s: %w", t.File, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
