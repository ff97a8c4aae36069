package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"huddle/client"
)

// TestFileSums: a file's sum is learned once and found again while the
// file is unchanged; a change (also one while it is sent), a damaged sums
// file or forgetting makes it unknown again; the list stays bounded.
func TestFileSums(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no file identity: sums are not remembered here")
	}
	a := &app{home: t.TempDir()}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.bin")
	write := func(s string) string {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	// send does what sendFile does with sums: the remembered one, or the
	// one the upload computed (here: computed), then remembered.
	send := func(p string) (string, bool) {
		t.Helper()
		sum, id := a.knownSum(p)
		if sum != "" {
			return sum, true
		}
		sum, _, err := client.HashFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		a.learnSum(p, id, sum)
		return sum, false
	}
	check := func(want string, wantKnown bool) {
		t.Helper()
		if sum, known := send(path); sum != want || known != wantKnown {
			t.Fatalf("sum %s, known %v; want %s, known %v", sum, known, want, wantKnown)
		}
	}
	first := write("first content")
	check(first, false)
	check(first, true)
	// Same size, rewritten in place: the change time moved.
	second := write("other content")
	check(second, false)
	check(second, true)
	a.forgetSum(path)
	check(second, false)
	if err := os.WriteFile(filepath.Join(a.home, sumsFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(second, false)
	check(second, true)
	// Changed while it was sent: what was computed is not remembered.
	_, id := a.knownSum(path)
	third := write("third content")
	a.learnSum(path, id, second)
	check(third, false)
	check(third, true)

	dir := t.TempDir()
	for i := range maxSums + 5 {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, []byte{byte(i)}, 0o600); err != nil {
			t.Fatal(err)
		}
		send(p)
	}
	if n := len(a.loadSums()); n != maxSums {
		t.Fatalf("%d sums kept, want %d", n, maxSums)
	}
	if st, err := os.Stat(filepath.Join(a.home, sumsFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("sums file: %v, %v", st, err)
	}
}
