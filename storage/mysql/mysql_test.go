package mysql_test

import (
	"database/sql"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"go.uber.org/goleak"

	"huddle/internal/testutil"
	"huddle/storage"
	"huddle/storage/internal/migrate"
	"huddle/storage/mysql"
	"huddle/storage/storagetest"
)

func TestMain(m *testing.M) {
	// internal/testutil imports the server, and with it gnet's goroutine
	// pool, which starts at init: only goroutines the tests start count.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

func open(t *testing.T, dsn string) storage.Store {
	t.Helper()
	s, err := mysql.Open(t.Context(), dsn, mysql.Options{MaxOpenConns: 8, MaxIdleConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testutil.MySQLDSN(t) // skips here, once, when there is no server
	storagetest.Run(t, func(t *testing.T) (storage.Store, func(t *testing.T) storage.Store) {
		dsn := testutil.MySQLDSN(t)
		return open(t, dsn), func(t *testing.T) storage.Store { return open(t, dsn) }
	})
}

func TestMigrations(t *testing.T) {
	dsn := testutil.MySQLDSN(t)
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storagetest.RunMigrations(t,
		func() (storage.Store, error) { return mysql.Open(t.Context(), dsn, mysql.Options{}) },
		func() ([]int, error) { return migrate.Applied(t.Context(), raw) })
}

// Open creates the database it names when the server lacks it.
func TestOpenCreatesDatabase(t *testing.T) {
	dsn := testutil.MySQLDSN(t)
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The name comes from testutil: hex, never input.
	if _, err := raw.ExecContext(t.Context(), "DROP DATABASE `"+cfg.DBName+"`"); err != nil {
		t.Fatal(err)
	}
	s := open(t, dsn)
	defer s.Close()
	if err := s.CreateUser(t.Context(), storage.User{Name: "alice", Created: time.Now()}); err != nil {
		t.Fatalf("CreateUser in the re-created database: %v", err)
	}
}

func TestOpenRejectsDatabaseNames(t *testing.T) {
	for _, dsn := range []string{"root@tcp(127.0.0.1:3306)/", "root@tcp(127.0.0.1:3306)/huddle-1", "root@tcp(127.0.0.1:3306)/a`b"} {
		if s, err := mysql.Open(t.Context(), dsn, mysql.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

func BenchmarkAppendMessages(b *testing.B) {
	storagetest.BenchAppendMessages(b, func(b *testing.B) storage.Store {
		s, err := mysql.Open(b.Context(), testutil.MySQLDSN(b), mysql.Options{MaxOpenConns: 8, MaxIdleConns: 8})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func TestUpgradeKeepsMessages(t *testing.T) {
	dsn := testutil.MySQLDSN(t)
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storagetest.RunUpgradeKeepsMessages(t, raw,
		func() error { return mysql.MigrateThrough(t.Context(), raw, 4) },
		func() (storage.Store, error) { return mysql.Open(t.Context(), dsn, mysql.Options{}) })
}
