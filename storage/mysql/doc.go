// Package mysql is the MySQL/MariaDB backend of storage.Store, for servers
// that share or replicate their database. It owns the connection settings
// (UTC times with microseconds, utf8mb4 with binary collation so names compare
// as SQLite compares them, found-rows counting), creating the named database
// when it is missing, and the embedded InnoDB schema in migrations/, applied
// at Open under a named lock. The queries themselves are shared with the
// SQLite backend in storage/internal/sqlstore; callers use storage.Store and
// never this package's types beyond Open.
package mysql
