// Package migrate applies a backend's embedded, versioned schema files to a
// database/sql database. It owns the schema_migrations bookkeeping and the
// order in which files run; it owns no schema of its own and no dialect: the
// backend passes its files, its bootstrap statement for schema_migrations and,
// where DDL cannot run inside a transaction, a lock that keeps two starting
// servers from migrating at once. Only the SQL backends import it.
package migrate
