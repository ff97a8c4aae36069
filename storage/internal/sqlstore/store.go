package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"huddle/storage"
)

// Kind is what a driver error means to the store.
type Kind int

const (
	Other      Kind = iota // anything else: returned wrapped, as it is
	Duplicate              // a primary or unique key is taken: storage.ErrConflict
	MissingRef             // a foreign key names a missing row: storage.ErrNotFound
	Retry                  // deadlock or serialization failure: run the transaction again
)

// Classifier tells the Kind of an error returned by the backend's driver,
// wrapped or not.
type Classifier func(error) Kind

// Dialect is what the shared queries need to know about a backend.
type Dialect struct {
	// Classify tells what the driver's errors mean.
	Classify Classifier
	// KeepMarkers ends an INSERT INTO read_markers so that a row whose key
	// exists already is left as it is, and only then: SQLite's ON CONFLICT
	// DO NOTHING, MySQL's ON DUPLICATE KEY UPDATE (its INSERT IGNORE would
	// also swallow foreign key and CHECK failures).
	KeepMarkers string
	// RowInIndexed says that the planner looks up `(a, b) IN ((?, ?), ...)`
	// in an index on (a, b), as MySQL and MariaDB do. SQLite scans for it, so
	// there the store joins a VALUES list instead, which MySQL 8 only accepts
	// spelled VALUES ROW(...).
	RowInIndexed bool
	// ForUpdate ends a SELECT that reads rows the transaction is about to
	// write after: MySQL's FOR UPDATE, which reads the newest committed rows
	// and makes concurrent writers of the same rows queue, where a plain
	// read sees the transaction's snapshot and the writers collide at
	// INSERT. Empty for SQLite, whose write transactions never overlap.
	ForUpdate string
	// AppendTx are the options of AppendMessages' transactions. MySQL's
	// are READ COMMITTED: at REPEATABLE READ, the locking read of a new
	// conversation's newest seq takes a gap lock, and two writers whose new
	// conversations share a gap deadlock on their INSERTs. Without gap
	// locks, writers of one new conversation still cannot both store a seq:
	// the primary key refuses the second, whose careful retry reads again.
	AppendTx *sql.TxOptions
}

// Store is storage.Store over one database/sql pool.
type Store struct {
	db       *sql.DB
	classify Classifier
	dialect  Dialect
	seqs     seqCache   // newest seqs of conversations written lately
	users    knownUsers // names AppendMessages has seen in users
	inserts  insertStmts
}

var _ storage.Store = (*Store)(nil)

// New returns a store over db, whose schema the backend has migrated; the
// store owns db from now on and closes it in Close.
func New(db *sql.DB, d Dialect) *Store {
	return &Store{db: db, classify: d.Classify, dialect: d}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	s.inserts.close()
	return s.db.Close()
}

// wrap gives err the operation it failed in and, for the driver errors
// callers can act on, the matching sentinel. nil stays nil.
func (s *Store) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	op := fmt.Sprintf(format, args...)
	switch s.classify(err) {
	case Duplicate:
		return fmt.Errorf("%s: %w (%v)", op, storage.ErrConflict, err)
	case MissingRef:
		return fmt.Errorf("%s: %w (%v)", op, storage.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// errRace asks inTx for another attempt: the transaction found that a
// concurrent one changed what it had read.
var errRace = errors.New("changed concurrently")

// maxAttempts bounds the runs of one transaction. Races only happen between
// two writers of the same rows at the same instant (the two users of one
// friendship, two servers appending to one conversation), so the second run
// nearly always settles it; the bound only stops a pathological loop.
const maxAttempts = 4

// inTx runs fn in a write transaction, again when the database reports a
// deadlock or fn reports a race, at most maxAttempts times.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inTxWith(ctx, nil, fn)
}

// inTxWith is inTx with the transaction's options. After a deadlock it
// waits a moment, longer each time and at random, so that the transactions
// that collided do not collide again at once.
func (s *Store) inTxWith(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := range maxAttempts {
		err = s.runTx(ctx, opts, fn)
		if !errors.Is(err, errRace) && s.classify(err) != Retry {
			return err
		}
		if s.classify(err) == Retry && attempt < maxAttempts-1 {
			select {
			case <-time.After(time.Duration(1+rand.IntN(4<<attempt)) * time.Millisecond):
			case <-ctx.Done():
				return err
			}
		}
	}
	return err
}

func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one that matters
		return err
	}
	return tx.Commit()
}

// affected returns how many rows an INSERT, UPDATE or DELETE touched. The
// MySQL backend counts matched rows, not changed ones, so an UPDATE to the
// same value still counts.
func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
