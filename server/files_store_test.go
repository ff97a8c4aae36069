package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"huddle/protocol"
)

// blobs returns the files of the content-addressed store under the data
// directory (unfinished uploads aside), each as "ab/abcdef…", and checks
// that each is named by the SHA-256 of what it holds.
func blobs(t *testing.T, data string) []string {
	t.Helper()
	root := filepath.Join(data, "files")
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path == filepath.Join(root, "tmp"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		if want := filepath.Join(hex.EncodeToString(s[:1]), hex.EncodeToString(s[:])); rel != want {
			t.Errorf("blob %s holds content of sha256 %x; want it at %s", rel, s, want)
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unfinished returns the names of the unfinished uploads' temporary files.
func unfinished(t *testing.T, data string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(data, "files", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

// wantNothingStored checks that the data directory holds no blob and no
// unfinished upload.
func wantNothingStored(t *testing.T, what, data string) {
	t.Helper()
	if b, u := blobs(t, data), unfinished(t, data); len(b) != 0 || len(u) != 0 {
		t.Fatalf("%s: the store holds blobs %v and unfinished uploads %v; want none", what, b, u)
	}
}

// TestFileContentStore: bytes are stored under their SHA-256, never under
// a name a user chose; the same content sent twice (to a user, then to a
// group, under another name) is two files with one blob, and each reads
// back whole; a completed upload leaves no temporary file.
func TestFileContentStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a, _ := e.newUser("rosa")
		b, _ := e.newUser("sven")
		call(t, a, protocol.TypeGroupCreate, protocol.GroupName{Group: "ops"}, nil)
		call(t, a, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "ops", Users: []string{"sven"}}, nil)

		data := randomBytes(600_000)
		names := []string{"quarterly-report.pdf", "copy-of-the-report.pdf"}
		first := sendFile(t, a, protocol.Conversation{User: "sven"}, names[0], data)
		second := sendFile(t, a, protocol.Conversation{Group: "ops"}, names[1], data)
		if first.File == second.File {
			t.Fatalf("two shares of the same content are one file %s", first.File)
		}
		other := randomBytes(1000)
		sendFile(t, a, protocol.Conversation{User: "sven"}, names[0], other)

		want := []string{sum(data)[:2] + "/" + sum(data), sum(other)[:2] + "/" + sum(other)}
		slices.Sort(want)
		if got := blobs(t, e.cfg.Data); !slices.Equal(got, want) {
			t.Fatalf("blobs %v, want %v: one per content", got, want)
		}
		if u := unfinished(t, e.cfg.Data); len(u) != 0 {
			t.Fatalf("unfinished uploads left after completion: %v", u)
		}
		err := filepath.WalkDir(e.cfg.Data, func(path string, d fs.DirEntry, err error) error {
			for _, n := range names {
				if strings.Contains(path, strings.TrimSuffix(n, ".pdf")) {
					t.Errorf("%s on disk is named after the file name %q", path, n)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range []protocol.FileInfo{first, second} {
			d := download(t, b, info.File)
			resp, body := get(t, d.URL, d.Token)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) || d.Name != info.Name {
				t.Fatalf("download of %s (%s): %s, %d bytes; want the %d sent", info.File, d.Name, resp.Status, len(body), len(data))
			}
		}
	})
}
