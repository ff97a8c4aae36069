package record

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"huddle/media/rtpfile"
	"huddle/protocol"
)

// Describe lists the files of a recording that a crash interrupted (or any
// recording's directory), after making each well-formed as Stop would
// have: what follows the last whole Ogg page, IVF frame or WebVTT cue is
// cut off, the Ogg stream's end is marked, the IVF frame count written.
// Track, From and SSRC come from the file names; Packets, Rejected and
// Offset are 0, since only the running recorder knew them. Files with
// other names are not the recorder's and are left out. A file that could
// not be repaired or read is named in the error; one that could be read is
// listed all the same, as it is.
func Describe(dir string) ([]Track, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	out := []Track{}
	var errs []error
	for _, e := range entries {
		t, format, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if format == rtpfile.None {
			_, err = repairCues(path)
		} else {
			_, err = rtpfile.Repair(path, format)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("record: %w", err))
		}
		if t.Size, t.SHA256, err = digest(path); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	sortTracks(out)
	return out, errors.Join(errs...)
}

// parseName reads what a file's name says (mediaName, textName).
func parseName(name string) (Track, rtpfile.Format, bool) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	if ext == ".vtt" {
		ok := rtpfile.FormatOf(base) == rtpfile.None && protocol.TrackIndex(base) >= 0
		return Track{Track: base, File: name}, rtpfile.None, ok
	}
	track, rest, _ := strings.Cut(base, "-")
	i := strings.LastIndexByte(rest, '-')
	format := rtpfile.FormatOf(track)
	if format == rtpfile.None || format.Ext() != ext || i < 1 || len(rest)-i-1 != 8 {
		return Track{}, format, false
	}
	ssrc, err := strconv.ParseUint(rest[i+1:], 16, 32)
	if err != nil {
		return Track{}, format, false
	}
	return Track{Track: track, File: name, From: rest[:i], SSRC: uint32(ssrc)}, format, true
}

// digest returns a file's size and SHA-256 in hex.
func digest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// sortTracks orders files by track, in the order of protocol.Tracks, then
// by name.
func sortTracks(ts []Track) {
	slices.SortFunc(ts, func(a, b Track) int {
		return cmp.Or(cmp.Compare(protocol.TrackIndex(a.Track), protocol.TrackIndex(b.Track)), strings.Compare(a.File, b.File))
	})
}
