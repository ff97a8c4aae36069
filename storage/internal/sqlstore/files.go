package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"huddle/storage"
)

// fileColumns are a files row, f, as branches of a listing pass it on;
// fileRecord is what reads return of it, with its group's name from g.
const (
	fileColumns = `f.id, f.sha256, f.name, f.type, f.size, f.sender, f.receiver, f.group_id, f.created`
	fileRecord  = `f.id, f.sha256, f.name, f.type, f.size, f.sender, COALESCE(f.receiver, ''),
		COALESCE(f.group_id, 0), COALESCE(g.name, ''), f.created`
)

// scanFile reads a row of fileRecord.
func scanFile(row rowScanner, f *storage.File) error {
	return row.Scan(&f.ID, &f.SHA256, &f.Name, &f.Type, &f.Size, &f.Sender, &f.Receiver, &f.GroupID, &f.Group, &f.Created)
}

// CreateFile inserts f; storage.ErrConflict when the id is taken,
// storage.ErrNotFound when the sender, receiver or group does not exist.
// The schema refuses a file with both a receiver and a group, or neither.
func (s *Store) CreateFile(ctx context.Context, f storage.File) error {
	var receiver, group any // NULL unless set
	if f.Receiver != "" {
		receiver = f.Receiver
	}
	if f.GroupID != 0 {
		group = f.GroupID
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO files (id, sha256, name, type, size, sender, receiver, group_id, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.SHA256, f.Name, f.Type, f.Size, f.Sender, receiver, group, f.Created)
	return s.wrap(err, "create file %q", f.ID)
}

// GetFile returns the file with id; storage.ErrNotFound when there is none.
func (s *Store) GetFile(ctx context.Context, id string) (storage.File, error) {
	var f storage.File
	err := scanFile(s.db.QueryRowContext(ctx,
		`SELECT `+fileRecord+` FROM files f LEFT JOIN chat_groups g ON g.id = f.group_id WHERE f.id = ?`, id), &f)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return f, s.wrap(err, "get file %q", id)
}

// A listing merges three branches, each the newest limit files of one index
// range: those user sent (sender, created, id), those user received and did
// not send (receiver, created, id), and those sent by others to user's groups
// (group_members by user, then group_id, created, id per group; across
// several groups the database sorts what the ranges hold). The branches are
// disjoint, so UNION ALL needs no deduplication, and the merge sorts at most
// 3×limit rows. A page after a file continues below its (created, id): the
// range ends at its created and the ties are cut by id.
var (
	listFilesNewest = listFilesQuery("")
	listFilesBefore = listFilesQuery(` AND f.created <= ? AND (f.created < ? OR f.id < ?)`)
)

// listFilesQuery returns the listing with the constant condition after
// added to each branch. Its arguments are, per branch, the user (twice for
// the last two), after's arguments and the limit; then the limit.
func listFilesQuery(after string) string {
	branch := func(from, where, alias string) string {
		return `SELECT * FROM (SELECT ` + fileColumns + ` FROM ` + from + ` WHERE ` + where + after +
			` ORDER BY f.created DESC, f.id DESC LIMIT ?) ` + alias
	}
	return `SELECT ` + fileRecord + ` FROM (` +
		branch(`files f`, `f.sender = ?`, `sent`) + ` UNION ALL ` +
		branch(`files f`, `f.receiver = ? AND f.sender <> ?`, `received`) + ` UNION ALL ` +
		branch(`group_members m JOIN files f ON f.group_id = m.group_id`, `m.user = ? AND f.sender <> ?`, `shared`) +
		`) f LEFT JOIN chat_groups g ON g.id = f.group_id ORDER BY f.created DESC, f.id DESC LIMIT ?`
}

// ListFiles returns the limit files user sent, received or can see in a
// group they are a member of, newest first, after the file before (from the
// newest when it is empty); storage.ErrNotFound when before names no file.
func (s *Store) ListFiles(ctx context.Context, user, before string, limit int) ([]storage.File, error) {
	if limit < 1 {
		return nil, fmt.Errorf("list files of %q: limit %d, want at least 1", user, limit)
	}
	query := listFilesNewest
	args := []any{user, limit, user, user, limit, user, user, limit, limit}
	if before != "" {
		var created time.Time
		var id string
		err := s.db.QueryRowContext(ctx, `SELECT created, id FROM files WHERE id = ?`, before).Scan(&created, &id)
		if errors.Is(err, sql.ErrNoRows) {
			err = storage.ErrNotFound
		}
		if err != nil {
			return nil, s.wrap(err, "list files of %q before %q", user, before)
		}
		query = listFilesBefore
		args = []any{
			user, created, created, id, limit,
			user, user, created, created, id, limit,
			user, user, created, created, id, limit,
			limit,
		}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(err, "list files of %q", user)
	}
	defer rows.Close()
	out := make([]storage.File, 0, min(limit, 64))
	for rows.Next() {
		var f storage.File
		if err := scanFile(rows, &f); err != nil {
			return nil, s.wrap(err, "list files of %q", user)
		}
		out = append(out, f)
	}
	return out, s.wrap(rows.Err(), "list files of %q", user)
}

// UsedBytes returns the total size of the files user has sent, 0 for none.
func (s *Store) UsedBytes(ctx context.Context, user string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM files WHERE sender = ?`, user).Scan(&n)
	return n, s.wrap(err, "bytes used by %q", user)
}

// IsMember reports whether user is a member of the group with id, by one
// lookup of group_members' primary key.
func (s *Store) IsMember(ctx context.Context, group int64, user string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx,
		`SELECT 1 FROM group_members WHERE group_id = ? AND user = ?`, group, user).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.wrap(err, "is %q a member of group %d", user, group)
}
