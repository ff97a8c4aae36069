package record

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCueText: whatever a member sends on a text track, its cue is valid
// UTF-8 and cannot end the cue early (a blank line), open a new timing
// line ("-->"), or carry markup or a control character, so that one
// sender's bytes cannot break or forge the WebVTT file.
func FuzzCueText(f *testing.F) {
	for _, s := range []string{"alice: hello\r\n", "\uFEFF", "a\r\n\r\nb", "00:00:01.000 --> 00:00:02.000", "<b>&amp;</b>", "\x00\x1b[31m", "\xff\xfe", "x\u2028y\u2029z", " \t \n"} {
		f.Add(s, "")
		f.Add(s, "bob")
	}
	f.Add("0", "ab--") // a name ending in "--" once made "<v ab--->"
	f.Fuzz(func(t *testing.T, payload, voice string) {
		if strings.Trim(voice, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			voice = "" // voices are member names: [a-z0-9_.-]
		}
		got := cueText(payload, voice)
		if got == "" {
			return // nothing to show: no cue
		}
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("cueText(%q) = %q: not UTF-8", payload, got)
		case strings.Contains(got, "\n\n") || strings.HasPrefix(got, "\n") || strings.HasSuffix(got, "\n"):
			t.Fatalf("cueText(%q) = %q: a blank line ends the cue", payload, got)
		case strings.Contains(got, "-->"):
			t.Fatalf("cueText(%q) = %q: a timing arrow", payload, got)
		}
		body := strings.TrimPrefix(got, "<v "+voice+" >")
		if strings.ContainsAny(body, "<>") {
			t.Fatalf("cueText(%q) = %q: markup", payload, got)
		}
		for _, r := range body {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				t.Fatalf("cueText(%q) = %q: control character %U", payload, got, r)
			}
		}
		for line := range strings.SplitSeq(body, "\n") {
			if strings.TrimSpace(line) == "" {
				t.Fatalf("cueText(%q) = %q: a line of only space", payload, got)
			}
		}
	})
}
