package storagetest

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

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
	ok, _ := race(t, starters, nil, func(i int) error {
		s, err := open()
		if err == nil { // a failed open may return a typed nil
			stores[i] = s
		}
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

// RunUpgradeKeepsMessages checks migration 5 (lean messages) on a database
// that applyOld has migrated to version 4 and db reaches: the messages
// stored before it are still there, their conversation goes on without a
// gap, and a message from or to a user that does not exist still fails.
func RunUpgradeKeepsMessages(t *testing.T, db *sql.DB, applyOld func() error, open func() (storage.Store, error)) {
	ctx := t.Context()
	if err := applyOld(); err != nil {
		t.Fatalf("migrate to version 4: %v", err)
	}
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"alice", "bob"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (name, email, password_hash, created) VALUES (?, ?, 'x', ?)`,
			name, name+"@example.com", created); err != nil {
			t.Fatal(err)
		}
	}
	ab := storage.PrivateConversation("alice", "bob")
	for seq, id := range []string{"old-1", "old-2"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO messages (conversation, seq, sender, recipient, client_msg_id, body, created)
			VALUES (?, ?, 'alice', 'bob', ?, ?, ?)`, ab, seq+1, id, "body of "+id, created); err != nil {
			t.Fatal(err)
		}
	}
	s, err := open()
	if err != nil {
		t.Fatalf("open (migrates to the current version): %v", err)
	}
	defer closeStore(t, s)
	h := &harness{Store: s}
	if _, err := s.AppendMessages(ctx, []storage.Message{msg("alice", "bob", "new-1")}); err != nil {
		t.Fatalf("AppendMessages after the upgrade: %v", err)
	}
	h.seqs(t, ab, "old-1", "old-2", "new-1")
	dup, err := s.AppendMessages(ctx, []storage.Message{msg("alice", "bob", "old-2")})
	if err != nil || !dup[0].Duplicate || dup[0].Seq != 2 {
		t.Errorf("retry of a message stored before the upgrade = %+v, %v; want duplicate seq 2", dup, err)
	}
	for _, bad := range []storage.Message{msg("nobody", "alice", "x"), msg("alice", "nobody", "x")} {
		_, err := s.AppendMessages(ctx, []storage.Message{bad})
		wantErr(t, fmt.Sprintf("AppendMessages(%s → %s) after the upgrade", bad.Sender, bad.Recipient), err, storage.ErrNotFound)
	}
}
