package storage

import (
	"context"
	"time"
)

// File is the record of a shared file. Its bytes live in the server's
// content-addressed store under Data/files, named by SHA256; the record is
// written only after they are there.
type File struct {
	ID       string // random, protocol.FileIDLen characters
	SHA256   string // lower-case hex
	Name     string // display name only, never a path
	Type     string // media type
	Size     int64
	Sender   string
	Receiver string // the receiving user; empty for a group's file
	GroupID  int64  // the receiving group; 0 for a user's file
	Group    string // the group's name, filled in by reads
	Created  time.Time
}

// Files stores file records.
type Files interface {
	// CreateFile inserts f. ErrConflict when the id is taken, ErrNotFound
	// when the sender, receiver or group does not exist.
	CreateFile(ctx context.Context, f File) error
	// GetFile returns the file with id; ErrNotFound when there is none (or
	// its group was deleted, which deletes its files' records).
	GetFile(ctx context.Context, id string) (File, error)
	// ListFiles returns the files user sent, received, or that were sent to
	// a group user is a member of now, newest first (by Created, then id):
	// the limit files after the file before in that order, or from the
	// newest when before is empty. ErrNotFound when before names no file.
	ListFiles(ctx context.Context, user, before string, limit int) ([]File, error)
	// UsedBytes returns the total size of the files user has sent.
	UsedBytes(ctx context.Context, user string) (int64, error)
	// IsMember reports whether user is a member of the group with id now.
	IsMember(ctx context.Context, group int64, user string) (bool, error)
}
