// Package sqlstore implements storage.Store over database/sql once, for every
// SQL backend: the queries, the transactions and the friend state machine.
// It owns no connection and no schema; storage/sqlite and storage/mysql open
// the database, migrate it to the schema these queries expect, and tell this
// package what their driver's errors mean (a Classifier). Only those backends
// import it, so the queries must stay in the SQL both databases accept.
package sqlstore
