package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialect is what differs between databases in how migrations run.
type Dialect struct {
	// Bootstrap creates schema_migrations(version INT PRIMARY KEY, applied
	// <time>) when it is missing.
	Bootstrap string
	// Transactional says that DDL runs inside a transaction (SQLite): each
	// file and its schema_migrations row then commit together, and the write
	// transaction itself keeps two migrators apart.
	Transactional bool
	// Lock, when set, takes a lock tied to conn and returns its release; it
	// serializes migrators where DDL commits implicitly (MySQL's GET_LOCK).
	Lock func(ctx context.Context, conn *sql.Conn) (release func() error, err error)
}

// file is one versioned schema file.
type file struct {
	Version    int
	Name       string
	Statements []string
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// load reads the schema files at the root of fsys, ordered by version. Every
// file there must be named NNNN_name.sql and versions must be unique: a
// misnamed file is an error, not something to skip silently.
func load(fsys fs.FS) ([]file, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	files := make([]file, 0, len(entries))
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %q: want a file named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1]) // four digits always parse
		text, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		stmts, err := split(string(text))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		files = append(files, file{Version: v, Name: e.Name(), Statements: stmts})
	}
	slices.SortFunc(files, func(a, b file) int { return a.Version - b.Version })
	for i := 1; i < len(files); i++ {
		if files[i].Version == files[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", files[i-1].Name, files[i].Name, files[i].Version)
		}
	}
	return files, nil
}

// split cuts a schema file into statements. A statement ends with a semicolon
// at the end of a line; lines starting with "--" are comments. That is enough
// for DDL and keeps multi-statement execution, which the MySQL driver
// disables for good reason, out of the picture.
func split(text string) ([]string, error) {
	var stmts []string
	var cur strings.Builder
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, ";"); ok {
			cur.WriteString(body)
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteString(trimmed)
		cur.WriteByte('\n')
	}
	if cur.Len() > 0 {
		return nil, errors.New("last statement has no terminating semicolon")
	}
	return stmts, nil
}

// execQueryer is what both *sql.Conn and *sql.Tx offer.
type execQueryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Apply runs, in version order, every file of fsys whose version is not yet
// in schema_migrations. Running it again, or from two processes at once, does
// nothing more: each version is checked under the dialect's serialization
// just before it is applied.
func Apply(ctx context.Context, db *sql.DB, fsys fs.FS, d Dialect) error {
	files, err := load(fsys)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if d.Lock != nil {
		release, err := d.Lock(ctx, conn)
		if err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer release()
	}
	if _, err := conn.ExecContext(ctx, d.Bootstrap); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, f := range files {
		if err := apply(ctx, conn, f, d.Transactional); err != nil {
			return fmt.Errorf("migrate %s: %w", f.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, conn *sql.Conn, f file, transactional bool) error {
	if !transactional {
		return applyOn(ctx, conn, f)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := applyOn(ctx, tx, f); err != nil {
		_ = tx.Rollback() // the error that matters is err
		return err
	}
	return tx.Commit()
}

func applyOn(ctx context.Context, db execQueryer, f file) error {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, f.Version).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	for i, stmt := range f.Statements {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, f.Version, time.Now().UTC())
	return err
}

// Applied returns the versions recorded in schema_migrations, in order.
func Applied(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}

// ApplyThrough applies the schema files in the "migrations" folder of fsys
// up to version last: what an older build left, for upgrade tests.
func ApplyThrough(ctx context.Context, db *sql.DB, fsys fs.FS, d Dialect, last int) error {
	schema, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return err
	}
	if _, err := load(schema); err != nil {
		return err
	}
	return Apply(ctx, db, through{schema, last}, d)
}

type through struct {
	fs.FS
	last int
}

func (t through) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(t.FS, name)
	if err != nil || name != "." {
		return entries, err
	}
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool {
		m := fileName.FindStringSubmatch(e.Name())
		v, _ := strconv.Atoi(m[1]) // load checked every name
		return v > t.last
	}), nil
}
