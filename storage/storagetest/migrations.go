package storagetest

import (
	"slices"
	"testing"

	"huddle/storage"
)

// RunMigrations checks that a backend's Open migrates idempotently and
// survives servers starting together: several opens of one fresh database at
// the same instant all succeed, one more afterwards too, and versions (which
// reads the backend's schema_migrations) lists each version once throughout.
// open opens that one database; the suite closes what it returns.
func RunMigrations(t *testing.T, open func() (storage.Store, error), versions func() ([]int, error)) {
	const starters = 4
	stores := make([]storage.Store, starters)
	ok, _ := race(t, starters, nil, func(i int) (err error) {
		stores[i], err = open()
		return err
	})
	for _, s := range stores {
		if s != nil {
			closeStore(t, s)
		}
	}
	if ok != starters {
		t.FailNow() // race reported the errors
	}
	first, err := versions()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || !slices.IsSorted(first) || len(slices.Compact(slices.Clone(first))) != len(first) {
		t.Fatalf("schema_migrations after %d concurrent opens: %v, want each version once", starters, first)
	}
	s, err := open()
	if err != nil {
		t.Fatalf("open again: %v", err)
	}
	closeStore(t, s)
	if again, err := versions(); err != nil || !slices.Equal(again, first) {
		t.Errorf("schema_migrations after reopening: %v, %v; want %v", again, err, first)
	}
}
