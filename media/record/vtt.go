package record

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"huddle/media/rtpfile"
)

// A cue ends when the next cue of its track starts, cueMax after its own
// start, or when the recording stops, whichever comes first, and never
// less than cueMin after its start (WebVTT wants the end after the start).
// It is written at that moment, so a crash loses at most the cue of each
// text track that was still waiting for its end.
const (
	cueMax = 5 * time.Second
	cueMin = time.Millisecond
)

const vttHeader = "WEBVTT\n\n"

// cues is a text track's WebVTT file: a cue per T.140 packet, from its
// arrival on the recording's timeline. Its errors end it (the track marks
// the source done), so it keeps none.
type cues struct {
	path    string
	f       *os.File
	budget  rtpfile.Budget
	next    cue // the cue waiting for its end
	waiting bool
}

type cue struct {
	start time.Duration
	text  string
}

func createCues(path string, budget rtpfile.Budget) (*cues, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, err
	}
	err = rtpfile.ErrFull
	if budget.Take(int64(len(vttHeader))) {
		_, err = f.WriteString(vttHeader)
	}
	if err != nil {
		return nil, errors.Join(err, f.Close(), os.Remove(path))
	}
	return &cues{path: path, f: f, budget: budget}, nil
}

// add ends the waiting cue at at and writes it; text waits in its place.
func (c *cues) add(at time.Duration, text string) error {
	if c.waiting {
		if err := c.write(c.next, at); err != nil {
			return err
		}
	}
	c.next, c.waiting = cue{start: at, text: text}, true
	return nil
}

// deadline is when the waiting cue ends unless another comes first.
func (c *cues) deadline() (time.Duration, bool) {
	return c.next.start + cueMax, c.waiting
}

// expire writes the waiting cue if its time is up at at.
func (c *cues) expire(at time.Duration) error {
	if end, ok := c.deadline(); !ok || at < end {
		return nil
	}
	c.waiting = false
	return c.write(c.next, at)
}

func (c *cues) write(q cue, end time.Duration) error {
	end = max(min(end, q.start+cueMax), q.start+cueMin)
	b := fmt.Appendf(nil, "%s --> %s\n%s\n\n", vttTime(q.start), vttTime(end), q.text)
	if !c.budget.Take(int64(len(b))) {
		return rtpfile.ErrFull
	}
	if _, err := c.f.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", c.path, err)
	}
	return nil
}

// close writes the waiting cue, ending at end, unless the file was done
// already; then it syncs and closes the file.
func (c *cues) close(end time.Duration, done bool) error {
	var err error
	if c.waiting && !done {
		if err = c.write(c.next, end); errors.Is(err, rtpfile.ErrFull) {
			err = nil // the budget logged it
		}
	}
	if err == nil {
		err = c.f.Sync()
	}
	if err = errors.Join(err, c.f.Close()); err != nil {
		return fmt.Errorf("finish %s: %w", c.path, err)
	}
	return nil
}

// vttTime is a WebVTT timestamp, hh:mm:ss.ttt (more hour digits past 99).
func vttTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

var cueEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// cueText is a T.140 payload as WebVTT cue text: tidied as the CLI shows
// it (rtpfile.T140Text), invalid UTF-8 and control characters (a lone CR
// would end a line) replaced, &, < and > escaped (no tags, no "-->"), and
// blank lines dropped, since one ends the cue. voice, if not empty, names
// the member who sent it (<v alice>). "" when nothing is left.
func cueText(payload, voice string) string {
	var lines []string
	for line := range strings.SplitSeq(strings.ToValidUTF8(rtpfile.T140Text(payload), "\uFFFD"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		line = strings.Map(func(r rune) rune {
			if r == '\t' || !unicode.IsControl(r) {
				return r
			}
			return '\uFFFD'
		}, line)
		lines = append(lines, cueEscape.Replace(line))
	}
	if len(lines) == 0 {
		return ""
	}
	text := strings.Join(lines, "\n")
	if voice != "" {
		// A name may end in "--" (user names are [a-z0-9_.-]): a space
		// before the tag's ">" (stripped from the annotation) keeps
		// "-->" out of the cue.
		text = "<v " + cueEscape.Replace(voice) + " >" + text
	}
	return text
}

// repairCues cuts a WebVTT file that a crash interrupted after its last
// whole cue: each cue went out in one write and ends with the file's only
// kind of blank line. It returns the file's size.
func repairCues(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(b, []byte(vttHeader)) {
		return int64(len(b)), fmt.Errorf("%s: %w", path, rtpfile.ErrNotContainer)
	}
	end := bytes.LastIndex(b, []byte("\n\n")) + 2
	if end == len(b) {
		return int64(end), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return int64(len(b)), err
	}
	err = f.Truncate(int64(end))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return int64(len(b)), fmt.Errorf("repair %s: %w", path, err)
	}
	return int64(end), nil
}
