package mysql

import (
	"context"
	"database/sql"

	"huddle/storage/internal/migrate"
)

// MigrateThrough migrates db up to version last, as an older build would
// have: for upgrade tests.
func MigrateThrough(ctx context.Context, db *sql.DB, last int) error {
	return migrate.ApplyThrough(ctx, db, migrations, dialect, last)
}
