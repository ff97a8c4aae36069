package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"huddle/internal/testutil"
	"huddle/server"
)

// With no store set, Start creates the data directory (private) and keeps
// the SQLite database in it.
func TestStartCreatesDataDir(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Store = ""
	cfg.Data = filepath.Join(t.TempDir(), "a", "data")
	testutil.StartServer(t, cfg)
	fi, err := os.Stat(cfg.Data)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v, %v; want a directory with mode 0700", fi, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, "huddle.db")); err != nil {
		t.Fatalf("database not in the data directory: %v", err)
	}
}

// A data directory that is a file, or cannot be made, fails Start before
// anything else starts, with an error that names it.
func TestStartBadDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{file, filepath.Join(file, "sub")} {
		cfg := testutil.TestConfig(t, "sqlite")
		cfg.Data = data
		srv, err := server.Start(context.Background(), cfg, testutil.Logger(t))
		if err == nil {
			testutil.StopServer(t, srv)
			t.Fatalf("Start with data %s succeeded", data)
		}
		if !strings.Contains(err.Error(), "data directory") || !strings.Contains(err.Error(), data) {
			t.Errorf("data %s: %v; want an error naming the data directory", data, err)
		}
	}
}
