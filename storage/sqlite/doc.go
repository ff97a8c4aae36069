// Package sqlite is the SQLite backend of storage.Store, for single-server
// installations and tests. It owns the connection string (WAL, synchronous
// FULL so an acknowledged write survives a power cut, foreign keys, immediate
// write transactions, times as integer microseconds) and the embedded schema
// in migrations/, applied at Open. The queries themselves are shared with the
// MySQL backend in storage/internal/sqlstore; callers use storage.Store and
// never this package's types beyond Open.
package sqlite
