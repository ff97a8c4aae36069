package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"huddle/storage"
	"huddle/storage/internal/migrate"
	"huddle/storage/sqlite"
	"huddle/storage/storagetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, path string) storage.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) (storage.Store, func(t *testing.T) storage.Store) {
		// A directory that does not exist yet: Open creates it.
		path := filepath.Join(t.TempDir(), "data", "huddle.db")
		return open(t, path), func(t *testing.T) storage.Store { return open(t, path) }
	})
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huddle.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storagetest.RunMigrations(t,
		func() (storage.Store, error) { return sqlite.Open(t.Context(), path, sqlite.Options{}) },
		func() ([]int, error) { return migrate.Applied(t.Context(), raw) })
}

func TestOpenRejectsQuestionMark(t *testing.T) {
	if s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a?b.db"), sqlite.Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a path with '?'")
	}
}

func BenchmarkAppendMessages(b *testing.B) {
	storagetest.BenchAppendMessages(b, func(b *testing.B) storage.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "huddle.db"), sqlite.Options{MaxOpenConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func TestUpgradeKeepsMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huddle.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storagetest.RunUpgradeKeepsMessages(t, raw,
		func() error { return sqlite.MigrateThrough(t.Context(), raw, 4) },
		func() (storage.Store, error) { return sqlite.Open(t.Context(), path, sqlite.Options{}) })
}
