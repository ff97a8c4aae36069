package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"huddle/storage"
)

// newGroup creates the group name owned by owner.
func (h *harness) newGroup(t *testing.T, name, owner string) storage.Group {
	t.Helper()
	g, err := h.CreateGroup(t.Context(), name, owner, epoch)
	if err != nil {
		t.Fatalf("CreateGroup(%q, %q): %v", name, owner, err)
	}
	return g
}

// members fails unless the group's members are want, in "user:role" form.
func (h *harness) members(t *testing.T, group int64, want ...string) {
	t.Helper()
	ms, err := h.Members(t.Context(), group)
	if err != nil {
		t.Fatalf("Members(%d): %v", group, err)
	}
	got := make([]string, len(ms))
	for i, m := range ms {
		got[i] = m.User + ":" + m.Role
	}
	if !slices.Equal(got, want) {
		t.Errorf("Members(%d) = %v, want %v", group, got, want)
	}
}

// userGroups fails unless user's groups are want, in "name:members:role" form.
func (h *harness) userGroups(t *testing.T, user string, want ...string) {
	t.Helper()
	gs, err := h.UserGroups(t.Context(), user)
	if err != nil {
		t.Fatalf("UserGroups(%s): %v", user, err)
	}
	got := make([]string, len(gs))
	for i, g := range gs {
		got[i] = fmt.Sprintf("%s:%d:%s", g.Name, g.Members, g.Role)
	}
	if !slices.Equal(got, want) {
		t.Errorf("UserGroups(%s) = %v, want %v", user, got, want)
	}
}

func testGroupCreate(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	g := h.newGroup(t, "team", "alice")
	if g.ID == 0 || g.Name != "team" || g.Owner != "alice" || g.Members != 1 {
		t.Errorf("CreateGroup = %+v", g)
	}
	sameTime(t, "CreateGroup.Created", g.Created, epoch)
	got, err := h.GetGroup(ctx, "team")
	if err != nil || got.ID != g.ID || got.Name != "team" || got.Owner != "alice" || got.Members != 1 {
		t.Errorf("GetGroup = %+v, %v; want %+v", got, err, g)
	}
	sameTime(t, "GetGroup.Created", got.Created, epoch)
	h.members(t, g.ID, "alice:owner")
	ms, _ := h.Members(ctx, g.ID)
	sameTime(t, "Joined", ms[0].Joined, epoch)

	_, err = h.CreateGroup(ctx, "team", "bob", epoch)
	wantErr(t, "CreateGroup(taken name)", err, storage.ErrConflict)
	_, err = h.CreateGroup(ctx, "other", "nobody", epoch)
	wantErr(t, "CreateGroup(unknown owner)", err, storage.ErrNotFound)
	_, err = h.GetGroup(ctx, "other")
	wantErr(t, "GetGroup(after failed create)", err, storage.ErrNotFound)
	_, err = h.GetGroup(ctx, "Team")
	wantErr(t, "GetGroup(other case)", err, storage.ErrNotFound)
	h.newGroup(t, "Team", "bob") // names are byte-wise, like users'
	h.members(t, 999999)
}

func testGroupMembers(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol", "Dave"} {
		h.newUser(t, u)
	}
	team := h.newGroup(t, "team", "alice")
	band := h.newGroup(t, "band", "bob")
	add := func(group int64, user, role string, want error) {
		t.Helper()
		wantErr(t, "AddMember("+user+")", h.AddMember(ctx, group, user, role, at(time.Hour)), want)
	}
	add(team.ID, "bob", storage.RoleMember, nil)
	add(team.ID, "Dave", storage.RoleAdmin, nil)
	add(team.ID, "bob", storage.RoleAdmin, storage.ErrConflict)
	add(team.ID, "alice", storage.RoleMember, storage.ErrConflict)
	add(team.ID, "nobody", storage.RoleMember, storage.ErrNotFound)
	add(999999, "carol", storage.RoleMember, storage.ErrNotFound)
	add(band.ID, "alice", storage.RoleMember, nil)
	h.members(t, team.ID, "Dave:admin", "alice:owner", "bob:member")
	ms, _ := h.Members(ctx, team.ID)
	sameTime(t, "Joined", ms[2].Joined, at(time.Hour))
	if g, _ := h.GetGroup(ctx, "team"); g.Members != 3 {
		t.Errorf("team has %d members, want 3", g.Members)
	}
	h.userGroups(t, "alice", "band:2:member", "team:3:owner")
	h.userGroups(t, "carol")
	h.userGroups(t, "nobody")

	wantErr(t, "SetRole", h.SetRole(ctx, team.ID, "bob", storage.RoleAdmin), nil)
	wantErr(t, "SetRole(same role)", h.SetRole(ctx, team.ID, "bob", storage.RoleAdmin), nil)
	wantErr(t, "SetRole(not a member)", h.SetRole(ctx, team.ID, "carol", storage.RoleAdmin), storage.ErrNotFound)
	wantErr(t, "SetRole(no group)", h.SetRole(ctx, 999999, "bob", storage.RoleAdmin), storage.ErrNotFound)
	h.members(t, team.ID, "Dave:admin", "alice:owner", "bob:admin")

	wantErr(t, "RemoveMember", h.RemoveMember(ctx, team.ID, "bob"), nil)
	wantErr(t, "RemoveMember(again)", h.RemoveMember(ctx, team.ID, "bob"), storage.ErrNotFound)
	wantErr(t, "RemoveMember(never)", h.RemoveMember(ctx, team.ID, "carol"), storage.ErrNotFound)
	wantErr(t, "RemoveMember(no group)", h.RemoveMember(ctx, 999999, "bob"), storage.ErrNotFound)
	h.members(t, team.ID, "Dave:admin", "alice:owner")
	h.userGroups(t, "alice", "band:2:member", "team:2:owner")
	h.userGroups(t, "bob", "band:2:owner")

	// A member added again starts as what they are added as.
	add(team.ID, "bob", storage.RoleMember, nil)
	h.members(t, team.ID, "Dave:admin", "alice:owner", "bob:member")
	h.userGroups(t, "Dave", "team:3:admin")
}

// Group messages are unread for members from their joining on: the owner
// from the start, a new member from the newest message at joining; a
// removed member has no marker left.
func testGroupReadMarkers(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	g := h.newGroup(t, "team", "alice")
	gc := storage.GroupConversation(g.ID)
	wantErr(t, "AddMember(bob)", h.AddMember(ctx, g.ID, "bob", storage.RoleMember, epoch), nil)
	h.appendOK(t, msg("bob", gc, "1"), msg("bob", gc, "2"))
	h.unread(t, "alice", gc+":2:2")
	h.unread(t, "bob")

	wantErr(t, "AddMember(carol)", h.AddMember(ctx, g.ID, "carol", storage.RoleMember, epoch), nil)
	h.unread(t, "carol")
	h.appendOK(t, msg("alice", gc, "3"))
	h.unread(t, "carol", gc+":1:3")
	h.unread(t, "bob", gc+":1:3")
	h.unread(t, "alice", gc+":2:3")
	if got, moved, err := h.MarkRead(ctx, "carol", gc, 3); err != nil || got != 3 || !moved {
		t.Errorf("MarkRead(carol) = %d, %v, %v", got, moved, err)
	}
	h.unread(t, "carol")

	wantErr(t, "RemoveMember(bob)", h.RemoveMember(ctx, g.ID, "bob"), nil)
	h.unread(t, "bob")
	_, _, err := h.MarkRead(ctx, "bob", gc, 3)
	wantErr(t, "MarkRead by a removed member", err, storage.ErrNotFound)
}

// Deleting a group takes its members, messages and markers along; the name
// can be taken again and the new group's conversation is a fresh one.
func testGroupDelete(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	g := h.newGroup(t, "team", "alice")
	other := h.newGroup(t, "other", "alice")
	gc := storage.GroupConversation(g.ID)
	wantErr(t, "AddMember", h.AddMember(ctx, g.ID, "bob", storage.RoleMember, epoch), nil)
	h.appendOK(t, msg("bob", gc, "1"), msg("alice", gc, "2"), msg("bob", storage.GroupConversation(other.ID), "3"))

	wantErr(t, "DeleteGroup", h.DeleteGroup(ctx, g.ID), nil)
	wantErr(t, "DeleteGroup(again)", h.DeleteGroup(ctx, g.ID), storage.ErrNotFound)
	_, err := h.GetGroup(ctx, "team")
	wantErr(t, "GetGroup(deleted)", err, storage.ErrNotFound)
	h.members(t, g.ID)
	h.userGroups(t, "bob")
	h.userGroups(t, "alice", "other:1:owner")
	h.seqs(t, gc)
	h.unread(t, "alice", storage.GroupConversation(other.ID)+":1:1")
	h.unread(t, "bob")
	wantErr(t, "AddMember(deleted group)", h.AddMember(ctx, g.ID, "bob", storage.RoleMember, epoch), storage.ErrNotFound)

	// The newest group is the one deleted: its id is still not handed out again.
	wantErr(t, "DeleteGroup(other)", h.DeleteGroup(ctx, other.ID), nil)
	again := h.newGroup(t, "team", "bob")
	if again.ID == g.ID || again.ID == other.ID {
		t.Errorf("the new group reuses id %d", again.ID)
	}
	h.seqs(t, storage.GroupConversation(again.ID))
	out := h.appendOK(t, msg("alice", storage.GroupConversation(again.ID), "1"))
	if out[0].Seq != 1 || out[0].Duplicate {
		t.Errorf("first message of the new group = %+v, want seq 1, new", out[0])
	}
	h.members(t, again.ID, "bob:owner")
	h.unread(t, "bob", storage.GroupConversation(again.ID)+":1:1")
}
