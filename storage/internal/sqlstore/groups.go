package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"huddle/storage"
)

// A group's member_count changes in the transaction that adds or removes
// the member row and the member's read marker. Every such transaction writes
// the group row first, so concurrent changes to one group queue on that row
// instead of deadlocking on the member rows.

// CreateGroup creates the group with its owner as first member and the
// owner's read marker; storage.ErrConflict when the name is taken,
// storage.ErrNotFound when the owner does not exist.
func (s *Store) CreateGroup(ctx context.Context, name, owner string, now time.Time) (storage.Group, error) {
	g := storage.Group{Name: name, Owner: owner, Members: 1, Created: now.UTC().Truncate(time.Microsecond)}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO chat_groups (name, owner, member_count, created) VALUES (?, ?, 1, ?)`, name, owner, now)
		if err != nil {
			return err
		}
		if g.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user, role, joined) VALUES (?, ?, ?, ?)`,
			g.ID, owner, storage.RoleOwner, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO read_markers (user, conversation, seq) VALUES (?, ?, 0)`,
			owner, storage.GroupConversation(g.ID))
		return err
	})
	if err != nil {
		return storage.Group{}, s.wrap(err, "create group %q", name)
	}
	return g, nil
}

// GetGroup returns the group named name; storage.ErrNotFound when there is none.
func (s *Store) GetGroup(ctx context.Context, name string) (storage.Group, error) {
	var g storage.Group
	err := s.db.QueryRowContext(ctx,
		`SELECT id, name, owner, member_count, created FROM chat_groups WHERE name = ?`, name).
		Scan(&g.ID, &g.Name, &g.Owner, &g.Members, &g.Created)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return g, s.wrap(err, "get group %q", name)
}

// DeleteGroup deletes the group, its members and files (by cascade), and its
// conversation's read markers and messages; storage.ErrNotFound when there
// is no such group.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	conv := storage.GroupConversation(id)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM chat_groups WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM read_markers WHERE conversation = ?`, conv); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation = ?`, conv)
		return err
	})
	return s.wrap(err, "delete group %d", id)
}

// AddMember adds user with role and a read marker at the group's newest
// seq; storage.ErrNotFound when the group or user does not exist,
// storage.ErrConflict when user is a member already.
func (s *Store) AddMember(ctx context.Context, group int64, user, role string, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.countMember(ctx, tx, group, +1); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user, role, joined) VALUES (?, ?, ?, ?)`,
			group, user, role, now); err != nil {
			return err
		}
		conv := storage.GroupConversation(group)
		_, err := tx.ExecContext(ctx, `INSERT INTO read_markers (user, conversation, seq)
			SELECT ?, ?, COALESCE(MAX(seq), 0) FROM messages WHERE conversation = ?`, user, conv, conv)
		return err
	})
	return s.wrap(err, "add %q to group %d", user, group)
}

// RemoveMember removes user and their read marker; storage.ErrNotFound when
// user is not a member.
func (s *Store) RemoveMember(ctx context.Context, group int64, user string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.countMember(ctx, tx, group, -1); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user = ?`, group, user))
		if err != nil {
			return err
		}
		if n == 0 {
			return storage.ErrNotFound // rolls the count back
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM read_markers WHERE user = ? AND conversation = ?`,
			user, storage.GroupConversation(group))
		return err
	})
	return s.wrap(err, "remove %q from group %d", user, group)
}

// countMember changes the group's member_count by delta;
// storage.ErrNotFound when there is no such group.
func (s *Store) countMember(ctx context.Context, tx *sql.Tx, group int64, delta int) error {
	n, err := affected(tx.ExecContext(ctx,
		`UPDATE chat_groups SET member_count = member_count + ? WHERE id = ?`, delta, group))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return err
}

// SetRole changes a member's role; storage.ErrNotFound when user is not a member.
func (s *Store) SetRole(ctx context.Context, group int64, user, role string) error {
	n, err := affected(s.db.ExecContext(ctx,
		`UPDATE group_members SET role = ? WHERE group_id = ? AND user = ?`, role, group, user))
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return s.wrap(err, "set role of %q in group %d", user, group)
}

// Members lists a group's members ordered by name; none for an unknown group.
func (s *Store) Members(ctx context.Context, group int64) ([]storage.GroupMember, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT user, role, joined FROM group_members WHERE group_id = ? ORDER BY user`, group)
	if err != nil {
		return nil, s.wrap(err, "members of group %d", group)
	}
	defer rows.Close()
	out := []storage.GroupMember{}
	for rows.Next() {
		var m storage.GroupMember
		if err := rows.Scan(&m.User, &m.Role, &m.Joined); err != nil {
			return nil, s.wrap(err, "members of group %d", group)
		}
		out = append(out, m)
	}
	return out, s.wrap(rows.Err(), "members of group %d", group)
}

// UserGroups lists user's groups ordered by name; none for an unknown user.
func (s *Store) UserGroups(ctx context.Context, user string) ([]storage.Group, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT g.id, g.name, g.owner, g.member_count, g.created, m.role
		FROM group_members m JOIN chat_groups g ON g.id = m.group_id
		WHERE m.user = ? ORDER BY g.name`, user)
	if err != nil {
		return nil, s.wrap(err, "groups of %q", user)
	}
	defer rows.Close()
	out := []storage.Group{}
	for rows.Next() {
		var g storage.Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Owner, &g.Members, &g.Created, &g.Role); err != nil {
			return nil, s.wrap(err, "groups of %q", user)
		}
		out = append(out, g)
	}
	return out, s.wrap(rows.Err(), "groups of %q", user)
}
