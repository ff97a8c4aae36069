package mysql_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/storage"
)

// A store transaction that InnoDB rolls back as the victim of a deadlock is
// run again, and the call succeeds. The test makes the deadlock itself, with
// a raw transaction on the same database: it locks one of alice's sessions;
// UpdatePassword locks alice's row in users, then waits for that session;
// the raw transaction asks for alice's row, which closes the cycle. The raw
// transaction has inserted rows before, so it is the heavier one and InnoDB
// rolls back the store's transaction instead.
func TestDeadlockVictimIsRetried(t *testing.T) {
	dsn := testutil.MySQLDSN(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s := open(t, dsn)
	defer s.Close()
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	now := time.Now()
	if err := s.CreateUser(ctx, storage.User{Name: "alice", Email: "old@example.com", PasswordHash: "old", Created: now}); err != nil {
		t.Fatal(err)
	}
	tokens := [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}
	for _, token := range tokens {
		if err := s.CreateSession(ctx, storage.Session{TokenHash: token, User: "alice", Created: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	before := innodbDeadlocks(t, raw)

	// Deferred in this order so that a failing test rolls the raw
	// transaction back first, which lets UpdatePassword finish.
	var wg sync.WaitGroup
	defer wg.Wait()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// InnoDB rolls back the transaction that has written fewer rows:
	// UpdatePassword will have written one or two. Without these rows the
	// victim is this transaction.
	for i := range 50 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, email, password_hash, created) VALUES (?, '', '', NOW(6))`,
			fmt.Sprintf("ballast%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var locked []byte
	if err := tx.QueryRowContext(ctx, `SELECT token_hash FROM sessions WHERE token_hash = ? FOR UPDATE`, tokens[1]).Scan(&locked); err != nil {
		t.Fatal(err)
	}

	var revoked int
	var updateErr error
	wg.Go(func() { revoked, updateErr = s.UpdatePassword(ctx, "alice", "new", nil) })
	waitForRowLock(ctx, t, raw, "alice")

	// UpdatePassword holds alice's row now, and waits for the locked
	// session or will at its next statement: whichever of the two asks
	// last closes the cycle. This UPDATE can only go through once InnoDB
	// has rolled the store's transaction back.
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ? WHERE name = ?`, "raw@example.com", "alice"); err != nil {
		t.Fatalf("the raw transaction, not the store's, was the victim: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	if updateErr != nil {
		t.Fatalf("UpdatePassword: %v", updateErr)
	}
	if revoked != len(tokens) {
		t.Errorf("UpdatePassword revoked %d sessions, want %d", revoked, len(tokens))
	}
	u, err := s.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "new" || u.Email != "raw@example.com" {
		t.Errorf("alice has password %q and email %q, want the store's %q and the raw transaction's %q",
			u.PasswordHash, u.Email, "new", "raw@example.com")
	}
	for _, token := range tokens {
		if _, err := s.GetSession(ctx, token, now); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetSession(%x) after UpdatePassword: %v, want ErrNotFound", token[:1], err)
		}
	}
	if after := innodbDeadlocks(t, raw); before >= 0 && after <= before {
		t.Errorf("Innodb_deadlocks went from %d to %d: no deadlock happened", before, after)
	}
}

// innodbDeadlocks reads MariaDB's count of the deadlocks InnoDB has broken
// since the server started, -1 where there is none (MySQL 8 has no such
// status; the UPDATE that went through still proves the deadlock). Other
// tests on the server may add to it: that UPDATE is also what ties one of
// them to this test.
func innodbDeadlocks(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var name string
	var n int64
	err := db.QueryRowContext(t.Context(), `SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'`).Scan(&name, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return -1
	}
	if err != nil {
		t.Fatalf("Innodb_deadlocks: %v", err)
	}
	return n
}

// waitForRowLock returns once another transaction holds a lock on the row
// of user in users. It probes with SKIP LOCKED, which sees the locks as they
// are; information_schema.innodb_trx would not do: InnoDB refreshes it only
// when nobody has read it for 0.1 s, so a fast poll reads the same stale
// copy forever.
func waitForRowLock(ctx context.Context, t *testing.T, db *sql.DB, user string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var name string
		err := db.QueryRowContext(ctx, `SELECT name FROM users WHERE name = ? FOR UPDATE SKIP LOCKED`, user).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return
		}
		if err != nil {
			t.Fatalf("probe the lock on %q: %v", user, err)
		}
	}
	t.Fatalf("nobody locked %q", user)
}
