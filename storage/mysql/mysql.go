package mysql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"time"

	"github.com/go-sql-driver/mysql"

	"huddle/storage/internal/migrate"
	"huddle/storage/internal/sqlstore"
)

// Options tune the connection pool; a zero field keeps database/sql's default.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// Store is storage.Store on one MySQL or MariaDB database.
type Store struct {
	*sqlstore.Store
}

// MySQL error numbers the store acts on.
const (
	errDupEntry     = 1062 // ER_DUP_ENTRY
	errBadDB        = 1049 // ER_BAD_DB_ERROR
	errLockDeadlock = 1213 // ER_LOCK_DEADLOCK
	errNoReferenced = 1452 // ER_NO_REFERENCED_ROW_2
)

//go:embed migrations/*.sql
var migrations embed.FS

var dialect = migrate.Dialect{
	Bootstrap: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INT         NOT NULL PRIMARY KEY,
		applied DATETIME(6) NOT NULL
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	// DDL commits implicitly, so a named lock keeps two starting servers
	// from applying the same version.
	Lock: migrationLock,
}

// dbName is what Open accepts as a database name: it is the one identifier
// that has to be spliced into SQL (CREATE DATABASE takes no parameters).
var dbName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// Open connects to the database named by dsn (a go-sql-driver DSN), creates
// it when it is missing, and migrates it to the current schema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql: parse dsn: %w", err)
	}
	if !dbName.MatchString(cfg.DBName) {
		return nil, fmt.Errorf("mysql: database name %q must match %s", cfg.DBName, dbName)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_bin"
	// Count matched rows, not changed ones: an UPDATE to the same value must
	// not look like a missing row.
	cfg.ClientFoundRows = true
	// Queries stay parameterized in our code, but the driver escapes the
	// arguments itself instead of preparing, executing and closing a server
	// statement per call: one round trip instead of three, which is most of
	// the cost of a small query. It is safe with the utf8mb4 connection
	// charset, and the driver honours NO_BACKSLASH_ESCAPES.
	cfg.InterpolateParams = true
	// Store what SQLite stores: microseconds, truncated, not rounded.
	if err := cfg.Apply(mysql.TimeTruncate(time.Microsecond)); err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db, err := openDB(cfg)
	if err != nil {
		return nil, err
	}
	if opts.MaxOpenConns > 0 {
		db.SetMaxOpenConns(opts.MaxOpenConns)
	}
	if opts.MaxIdleConns > 0 {
		db.SetMaxIdleConns(opts.MaxIdleConns)
	}
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	db.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	err = db.PingContext(ctx)
	if isNumber(err, errBadDB) {
		err = createDatabase(ctx, cfg)
	}
	if err == nil {
		err = applyMigrations(ctx, db)
	}
	if err != nil {
		_ = db.Close() // err is the one to report
		return nil, fmt.Errorf("mysql %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	return &Store{sqlstore.New(db, sqlstore.Dialect{
		Classify:     classify,
		KeepMarkers:  "ON DUPLICATE KEY UPDATE seq = seq",
		RowInIndexed: true,
		ForUpdate:    "FOR UPDATE",
		AppendTx:     &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	})}, nil
}

func openDB(cfg *mysql.Config) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return sql.OpenDB(connector), nil
}

// createDatabase creates cfg.DBName, which Open has checked against dbName.
func createDatabase(ctx context.Context, cfg *mysql.Config) error {
	server := cfg.Clone()
	server.DBName = ""
	db, err := openDB(server)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx,
		"CREATE DATABASE IF NOT EXISTS `"+cfg.DBName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

func applyMigrations(ctx context.Context, db *sql.DB) error {
	schema, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return migrate.Apply(ctx, db, schema, dialect)
}

// migrationLock takes a server-wide named lock, per database, on conn. It
// polls a second at a time so that ctx can end the wait.
func migrationLock(ctx context.Context, conn *sql.Conn) (func() error, error) {
	for {
		var got sql.NullInt64
		err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(CONCAT('huddle_migrate_', MD5(DATABASE())), 1)`).Scan(&got)
		if err != nil {
			return nil, err
		}
		if got.Int64 == 1 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(CONCAT('huddle_migrate_', MD5(DATABASE())))`)
		return err
	}, nil
}

func classify(err error) sqlstore.Kind {
	var e *mysql.MySQLError
	if !errors.As(err, &e) {
		return sqlstore.Other
	}
	switch e.Number {
	case errDupEntry:
		return sqlstore.Duplicate
	case errNoReferenced:
		return sqlstore.MissingRef
	case errLockDeadlock:
		return sqlstore.Retry
	}
	return sqlstore.Other
}

func isNumber(err error, number uint16) bool {
	var e *mysql.MySQLError
	return errors.As(err, &e) && e.Number == number
}
