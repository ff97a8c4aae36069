package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSafeName(t *testing.T) {
	const id = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	for in, want := range map[string]string{
		"report.pdf":          "report.pdf",
		"../../etc/passwd":    "passwd",
		`..\..\boot.ini`:      "boot.ini",
		"/abs/path":           "path",
		".bashrc":             "bashrc",
		"..":                  id,
		". . .":               id,
		"dir/":                id,
		"a\x00b\x1b[2Jc":      "a_b_[2Jc",
		`what?<>:"|*.txt`:     "what_______.txt",
		"trailing. . ":        "trailing",
		"CON":                 "_CON",
		"nul.txt":             "_nul.txt",
		"com1.tar.gz":         "_com1.tar.gz",
		"console.txt":         "console.txt",
		"résumé – final.docx": "résumé – final.docx",
	} {
		if got := safeName(in, id); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSavePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if p, err := savePath("", "../x.txt", "id"); err != nil || p != "x.txt" {
		t.Fatalf("default path = %q, %v", p, err)
	}
	if err := os.WriteFile("x.txt", []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := savePath("", "x.txt", "id"); err == nil || !strings.Contains(err.Error(), "-o x.txt") {
		t.Fatalf("existing default path: %v", err)
	}
	if p, err := savePath("x.txt", "other", "id"); err != nil || p != "x.txt" {
		t.Fatalf("-o naming an existing file = %q, %v", p, err)
	}
	if _, err := savePath(filepath.Join("none", "x.txt"), "other", "id"); err == nil || !strings.Contains(err.Error(), "no directory none") {
		t.Fatalf("-o in a directory that does not exist: %v", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if p, err := savePath(sub, "../../y.txt", "id"); err != nil || p != filepath.Join(sub, "y.txt") {
		t.Fatalf("-o DIR = %q, %v", p, err)
	}
	if _, err := savePath(dir, "x.txt", "id"); err == nil {
		t.Fatal("-o DIR replaced a file there that -o did not name")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3<<20 + 1<<19: "3.5 MiB", 2 << 30: "2.0 GiB"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine("big.iso", 30<<20, 40<<20, 10<<20, 2*time.Second)
	if want := "big.iso  75%  30.0 MiB / 40.0 MiB  10.0 MiB/s"; got != want {
		t.Fatalf("progressLine = %q, want %q", got, want)
	}
	if got := progressLine("empty", 0, 0, 0, 0); got != "empty 100%  0 B / 0 B" {
		t.Fatalf("progressLine of an empty file = %q", got)
	}
}

func TestFileUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"file", "send", "bob"}, "missing argument"},
		{[]string{"file", "send", "--group", "devs"}, "missing argument"},
		{[]string{"file", "send", "bob", "--group", "devs", file}, "not both"},
		{[]string{"file", "send", "bob", file, "extra"}, `unexpected argument "extra"`},
		{[]string{"file", "send", "bob", filepath.Join(t.TempDir(), "missing")}, "cannot read"},
		{[]string{"file", "send", "bob", t.TempDir()}, "not a regular file"},
		{[]string{"file", "list", "--limit", "0"}, "--limit must be 1-200"},
		{[]string{"file", "list", "--before", "nope"}, "not a file id"},
		{[]string{"file", "list", "x"}, "unexpected argument"},
		{[]string{"file", "get"}, "missing argument"},
		{[]string{"file", "get", "../etc"}, "not a file id"},
		{[]string{"file", "get", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "-o"}, "flag needs an argument"},
		{[]string{"file", "get", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "-o", "-"}, "(standard output) is not supported"},
	}
	for _, tt := range tests {
		isolate(t)
		code, stdout, stderr := huddle(t, "", tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

// A transfer that an earlier run finished without hearing the end of it is
// told as complete, not as resumed at 100%.
func TestProgressNotes(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		want        string
	}{
		{0, 10, ""},
		{4 << 10, 8 << 10, "huddle: resuming the upload of a.bin at 4.0 KiB of 8.0 KiB\n"},
		{8 << 10, 8 << 10, "huddle: the server already had all of a.bin (8.0 KiB) from an earlier run: this is the share that run made\n"},
	} {
		var errs bytes.Buffer
		a := &app{stderr: &errs}
		a.newProgress("upload", "a.bin").update(c.done, c.total)
		if errs.String() != c.want {
			t.Errorf("update(%d, %d) noted %q, want %q", c.done, c.total, errs.String(), c.want)
		}
	}
	// An upload resumed, then started over (the file changed since the
	// earlier run), says so once.
	var errs bytes.Buffer
	p := (&app{stderr: &errs}).newProgress("upload", "a.bin")
	for _, done := range []int64{4 << 10, 6 << 10, 0, 2 << 10, 0} {
		p.update(done, 8<<10)
	}
	want := "huddle: resuming the upload of a.bin at 4.0 KiB of 8.0 KiB\nhuddle: a.bin changed since the earlier run: sending all of it again\n"
	if errs.String() != want {
		t.Errorf("resumed then started over: noted %q, want %q", errs.String(), want)
	}
}
