package sqlite

import (
	"context"
	"database/sql"
	"io/fs"

	"huddle/storage/internal/migrate"
)

// MigrateThrough applies the embedded migrations up to version last to db,
// as an older build would have: for upgrade tests.
func MigrateThrough(ctx context.Context, db *sql.DB, last int) error {
	schema, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	old, err := migrate.Through(schema, last)
	if err != nil {
		return err
	}
	return migrate.Apply(ctx, db, old, dialect)
}
