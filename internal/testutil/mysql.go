package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLDSN creates a fresh, empty database named huddle_test_<random hex> on
// the test server and returns a DSN naming it; a cleanup drops it. The server
// is the one in HUDDLE_TEST_MYSQL_DSN (default root@tcp(127.0.0.1:3306)/).
// When it cannot be reached the test is skipped, loudly, or fails when CI is
// set, so that CI never passes without having run the MySQL tests.
func MySQLDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("HUDDLE_TEST_MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/"
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		tb.Fatalf("HUDDLE_TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	name := "huddle_test_" + hex.EncodeToString(b[:])
	err = onServer(cfg, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("MySQL not reachable at %s (%v); CI is set, so the MySQL tests fail rather than skip", cfg.Addr, err)
		}
		msg := fmt.Sprintf("*** MySQL not reachable at %s (%v): skipping MySQL tests ***", cfg.Addr, err)
		fmt.Fprintln(os.Stderr, msg)
		tb.Skip(msg)
	}
	tb.Cleanup(func() {
		if err := onServer(cfg, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// onServer runs one statement on a short-lived connection to the server of
// cfg. The statements are built from a random hex name, never from input.
func onServer(cfg *mysql.Config, stmt string) error {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
