package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"huddle/storage/internal/migrate"
	"huddle/storage/internal/sqlstore"
)

// DefaultBusyTimeout is how long a connection waits for another's write lock
// when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// Options tune the connection pool.
type Options struct {
	// BusyTimeout is how long a write waits for the database lock before it
	// fails; zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxOpenConns caps the pool (one writer at a time, readers in parallel
	// under WAL); zero means no cap.
	MaxOpenConns int
}

// Store is storage.Store on one SQLite file.
type Store struct {
	*sqlstore.Store
}

//go:embed migrations/*.sql
var migrations embed.FS

var dialect = migrate.Dialect{
	Bootstrap: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER  NOT NULL PRIMARY KEY,
		applied DATETIME NOT NULL
	)`,
	// SQLite's DDL is transactional and BEGIN IMMEDIATE takes the write lock,
	// so two processes opening one file cannot both apply a version.
	Transactional: true,
}

// Open opens (creating it and its directory if needed) the database file at
// path and migrates it to the current schema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: path %q must be non-empty and without '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	q := url.Values{}
	// The driver runs busy_timeout first, so the others never fail on a lock.
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// The statement journal of a multi-row INSERT stays in memory, not in a
	// temporary file written on every batch of messages.
	q.Add("_pragma", "temp_store(MEMORY)")
	// Write transactions take the lock at BEGIN: a deferred one that reads
	// first would fail with SQLITE_BUSY on upgrade instead of waiting.
	q.Set("_txlock", "immediate")
	// Integer microseconds sort and compare as times, unlike the driver's
	// default text form; DATETIME columns read back as UTC time.Time.
	q.Set("_time_integer_format", "unix_micro")
	q.Set("_inttotime", "1")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if opts.MaxOpenConns > 0 {
		db.SetMaxOpenConns(opts.MaxOpenConns)
		// Keep them: each new connection re-runs the pragmas.
		db.SetMaxIdleConns(opts.MaxOpenConns)
	}
	schema, err := fs.Sub(migrations, "migrations")
	if err == nil {
		err = migrateRetrying(ctx, db, schema, busy)
	}
	if err != nil {
		_ = db.Close() // the migration error is the one to report
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &Store{sqlstore.New(db, sqlstore.Dialect{
		Classify:    classify,
		KeepMarkers: "ON CONFLICT DO NOTHING",
	})}, nil
}

// migrateRetrying migrates, again while SQLite answers SQLITE_BUSY, for up
// to busy. Servers opening a new file at the same time each switch it to WAL
// as their first connection opens; that needs an exclusive lock, and SQLite
// refuses one of two shared holders at once instead of letting both wait
// (the upgrade would deadlock), whatever busy_timeout says.
func migrateRetrying(ctx context.Context, db *sql.DB, schema fs.FS, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for {
		err := migrate.Apply(ctx, db, schema, dialect)
		var e *sqlite.Error
		if !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func classify(err error) sqlstore.Kind {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.Other
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sqlstore.Duplicate
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.MissingRef
	}
	return sqlstore.Other
}
