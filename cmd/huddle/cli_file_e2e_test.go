package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func randomFile(t *testing.T, dir, name string, n int, seed byte) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed, byte(n)}).Read(b)
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// okIn runs a command in dir that must succeed and returns its output.
func (e *e2e) okIn(dir, home string, args ...string) (string, string) {
	e.t.Helper()
	code, out, errs := e.in(dir, home, "", args...)
	if code != 0 {
		e.t.Fatalf("huddle %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out, errs
}

// uploadsDir is where huddled keeps unfinished uploads, each named by its
// file id.
func (e *e2e) uploadsDir() string {
	i := slices.Index(e.args, "--data")
	return filepath.Join(e.args[i+1], "files", "tmp")
}

func wantFile(t *testing.T, path string, data []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: %d bytes, %v; want the %d bytes sent", path, len(got), err, len(data))
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s.part left behind: %v", path, err)
	}
}

func TestCLIFileEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob", "carol")
	alice, bob, carol := homes[0], homes[1], homes[2]
	e.ok(alice, "", "group", "create", "devs")
	e.ok(alice, "", "group", "add", "devs", "bob")
	src, down := t.TempDir(), t.TempDir()
	report := randomFile(t, src, "report.bin", 1<<20+3, 1)
	notes := randomFile(t, src, "notes.txt", 1000, 2)
	randomFile(t, src, "empty", 0, 3)

	// To a user and to a group: bob, listening, hears of both.
	l := e.listen(bob, "--count", "2", "--timeout", "30s")
	sent := jsonLines(t, e.ok(alice, "", "--json", "file", "send", "bob", filepath.Join(src, "report.bin")))
	if len(sent) != 1 || sent[0]["size"] != float64(len(report)) || sent[0]["sha256"] != sha(report) {
		t.Fatalf("file send --json = %v", sent)
	}
	reportID, _ := sent[0]["file"].(string)
	out, _ := e.okIn(src, alice, "file", "send", "--group", "devs", "notes.txt")
	if !strings.HasPrefix(out, "sent notes.txt (1000 B) to [devs] as file ") {
		t.Fatalf("file send --group = %q", out)
	}
	notesID := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	p := l.pushes(t)
	if len(p) != 2 || p[0]["type"] != "file.new" || p[1]["type"] != "file.new" {
		t.Fatalf("bob's pushes = %v", p)
	}
	if d := pushData(t, p[0]); d["file"] != reportID || d["name"] != "report.bin" || d["from"] != "alice" || d["to"] != "bob" {
		t.Fatalf("file.new = %v", d)
	}
	if d := pushData(t, p[1]); d["file"] != notesID || d["group"] != "devs" {
		t.Fatalf("group file.new = %v", d)
	}
	emptyID := jsonLines(t, e.ok(alice, "", "--json", "file", "send", "bob", filepath.Join(src, "empty")))[0]["file"]

	// file list: newest first, with the guaranteed fields.
	items := jsonLines(t, e.ok(bob, "", "--json", "file", "list"))
	if len(items) != 3 || items[0]["file"] != emptyID || items[1]["file"] != notesID || items[2]["file"] != reportID {
		t.Fatalf("file list = %v", items)
	}
	for _, it := range items {
		for _, k := range []string{"file", "name", "from", "to", "sha256"} {
			if s, _ := it[k].(string); s == "" {
				t.Fatalf("file list item %v lacks %q", it, k)
			}
		}
		if _, ok := it["size"].(float64); !ok {
			t.Fatalf("file list item %v lacks size", it)
		}
	}
	if items := jsonLines(t, e.ok(bob, "", "--json", "file", "list", "--limit", "1", "--before", notesID)); len(items) != 1 || items[0]["file"] != reportID {
		t.Fatalf("file list --before = %v", items)
	}
	if out := e.ok(bob, "", "file", "list"); !strings.Contains(out, "report.bin") || !strings.Contains(out, "alice → [devs]") || !strings.Contains(out, "1.0 MiB") {
		t.Fatalf("file list = %q", out)
	}
	if out := e.ok(carol, "", "file", "list"); out != "no files\n" {
		t.Fatalf("carol's file list = %q", out)
	}

	// file get: to the file's name here, never over an existing file
	// unless -o names it.
	got := jsonLines(t, first(e.okIn(down, bob, "--json", "file", "get", reportID)))
	if len(got) != 1 || got[0]["path"] != "report.bin" || got[0]["sha256"] != sha(report) {
		t.Fatalf("file get --json = %v", got)
	}
	wantFile(t, filepath.Join(down, "report.bin"), report)
	if code, _, errs := e.in(down, bob, "", "file", "get", reportID); code != 2 || !strings.Contains(errs, "report.bin exists") {
		t.Fatalf("file get over an existing file: exit %d, %q", code, errs)
	}
	out, _ = e.okIn(down, bob, "file", "get", notesID, "-o", "report.bin")
	if !strings.HasPrefix(out, "saved notes.txt (1000 B) to report.bin, sha256 "+sha(notes)) {
		t.Fatalf("file get -o = %q", out)
	}
	wantFile(t, filepath.Join(down, "report.bin"), notes)
	e.okIn(down, alice, "file", "get", emptyID.(string), "-o", "empty.out")
	wantFile(t, filepath.Join(down, "empty.out"), nil)
	if code := errorCode(t, e.fails(1, carol, "", "--json", "file", "get", reportID)); code != "forbidden" {
		t.Fatalf("carol's file get: %s", code)
	}
	if code := errorCode(t, e.fails(1, alice, "", "--json", "file", "send", "nobody", filepath.Join(src, "notes.txt"))); code != "not_found" {
		t.Fatalf("file send to nobody: %s", code)
	}

	// A partial download is resumed.
	if err := os.WriteFile(filepath.Join(down, "resumed.part"), report[:400_000], 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs := e.okIn(down, bob, "file", "get", reportID, "-o", "resumed")
	if !strings.Contains(errs, "resuming the download of report.bin at 390.6 KiB of 1.0 MiB") {
		t.Fatalf("file get with a .part: stderr %q", errs)
	}
	wantFile(t, filepath.Join(down, "resumed"), report)
}

// TestCLIFileSendResumes kills file send in the middle of an upload; the
// second run goes on where the first stopped.
func TestCLIFileSendResumes(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob")
	alice, bob := homes[0], homes[1]
	src := t.TempDir()
	var data []byte
	var id string
	for try := byte(0); id == "" && try < 3; try++ {
		data = randomFile(t, src, "big.bin", 20<<20, try)
		id = killMidUpload(t, e, alice, filepath.Join(src, "big.bin"))
	}
	if id == "" {
		t.Fatal("file send finished three times before it could be killed")
	}
	out, errs := e.okIn(src, alice, "file", "send", "bob", "big.bin")
	if !strings.Contains(errs, "resuming the upload of big.bin at ") || !strings.HasSuffix(out, " as file "+id+"\n") {
		t.Fatalf("second file send: stdout %q, stderr %q; want upload %s resumed", out, errs, id)
	}
	if entries, _ := os.ReadDir(e.uploadsDir()); len(entries) != 0 {
		t.Fatalf("unfinished uploads left: %v", entries)
	}
	down := t.TempDir()
	e.okIn(down, bob, "file", "get", id)
	wantFile(t, filepath.Join(down, "big.bin"), data)
}

// killMidUpload starts file send of path and kills it with SIGKILL once
// the server has some of its bytes, and returns the upload's id, or ""
// when the upload finished first.
func killMidUpload(t *testing.T, e *e2e, home, path string) string {
	t.Helper()
	cmd := e.command(home, "", "file", "send", "bob", path)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Logf("file send ended before it was killed: %v %s", err, errb.String())
			return ""
		default:
		}
		entries, _ := os.ReadDir(e.uploadsDir())
		for _, en := range entries {
			if fi, err := en.Info(); err == nil && fi.Size() > 0 {
				_ = cmd.Process.Kill()
				<-exited
				return en.Name()
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	t.Fatal("no upload bytes reached the server within 20s")
	return ""
}

func first(a, _ string) string { return a }
