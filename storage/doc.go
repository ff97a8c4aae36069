// Package storage defines Huddle's persistence contract: the Store interface,
// its per-area interfaces, the record types and the sentinel errors every
// backend returns. It owns no SQL: the backends live in storage/mysql and
// storage/sqlite, and storage/storagetest is the conformance suite both pass.
// Callers depend on this package only, never on a backend.
package storage
