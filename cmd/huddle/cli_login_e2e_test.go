package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A login whose session cannot be saved (HUDDLE_HOME is a file) ends that
// session on the server: passwd later signs out no other session.
func TestCLILoginCannotSave(t *testing.T) {
	e := startE2E(t)
	home := t.TempDir()
	e.ok(home, e2ePassword+"\n", "register", "carl", "--email", "carl@example.com")
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := e.huddle(notDir, e2ePassword+"\n", "login", "carl")
	if code != 1 || !strings.Contains(stderr, "save session") || !strings.Contains(stderr, "the session was ended on the server") {
		t.Fatalf("login into a file: exit %d, stderr %q", code, stderr)
	}
	e.ok(home, e2ePassword+"\n", "login", "carl")
	if out := e.ok(home, e2ePassword+"\nnew password 1\n", "passwd"); !strings.Contains(out, "0 other session(s)") {
		t.Fatalf("passwd after the unsaved login printed %q", out)
	}
}
