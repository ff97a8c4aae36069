package actors

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// groupRequest runs the group.* requests. Changes are stored first and
// applied to the actor's membership only once stored; the actor is busy
// meanwhile, so requests after a change see its outcome.
func (c *convActor) groupRequest(ctx actor.Context, r *request) {
	if c.group == "" {
		c.fail(r, protocol.Errorf(protocol.CodeBadRequest, "%s needs a group", r.Type))
		return
	}
	if r.Type == protocol.TypeGroupCreate {
		c.create(ctx, r)
		return
	}
	if !c.member(r) {
		return
	}
	switch r.Type {
	case protocol.TypeGroupAdd:
		c.add(ctx, r)
	case protocol.TypeGroupRemove:
		c.remove(ctx, r)
	case protocol.TypeGroupLeave:
		c.leave(ctx, r)
	case protocol.TypeGroupDelete:
		c.deleteGroup(ctx, r)
	case protocol.TypeGroupRole:
		c.setRole(ctx, r)
	case protocol.TypeGroupMembers:
		c.members(r)
	default:
		c.fail(r, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", r.Type))
	}
}

func (c *convActor) info(role string) protocol.GroupInfo {
	g := c.st.group
	return protocol.GroupInfo{Group: g.Name, Owner: g.Owner, Members: len(c.st.members), Role: role, Created: g.Created}
}

// pushGroup sends a group event to every member's sessions, and to extra
// users (who just left the group), except the connection skip.
func (c *convActor) pushGroup(typ string, ev protocol.GroupEvent, skip uint64, extra ...string) {
	frame, err := protocol.EncodePush(typ, ev)
	if err != nil {
		c.hub.log.Error("encode group push", "type", typ, "err", err)
		return
	}
	c.hub.dir.push(frame, skip, maps.Keys(c.st.members))
	c.hub.dir.push(frame, skip, slices.Values(extra))
}

func (c *convActor) create(ctx actor.Context, r *request) {
	if c.st.exists {
		c.fail(r, protocol.Errorf(protocol.CodeConflict, "group %s exists", c.group))
		return
	}
	owner := r.sess.user
	c.job(ctx, r, func(sctx context.Context) (any, error) {
		g, err := c.hub.store.CreateGroup(sctx, c.group, owner, c.hub.now().UTC())
		if errors.Is(err, storage.ErrConflict) {
			// A user of the same name does not clash; only another group.
			err = protocol.Errorf(protocol.CodeConflict, "group %s exists", c.group)
		}
		return g, err
	}, func(_ actor.Context, data any) any {
		c.st.exists = true
		c.setGroup(data.(storage.Group), []storage.GroupMember{{User: owner, Role: storage.RoleOwner}})
		return c.info(storage.RoleOwner)
	})
}

// manager checks that the caller is the owner or an admin.
func (c *convActor) manager(r *request) bool {
	switch c.st.members[r.sess.user] {
	case storage.RoleOwner, storage.RoleAdmin:
		return true
	}
	c.fail(r, protocol.Errorf(protocol.CodeForbidden, "only the owner and admins of %s can do that", c.group))
	return false
}

func (c *convActor) add(ctx actor.Context, r *request) {
	in := r.in.(*protocol.GroupUsers)
	if !c.manager(r) {
		return
	}
	var users []string
	for _, u := range in.Users {
		if c.st.members[u] == "" {
			users = append(users, u)
		}
	}
	if len(c.st.members)+len(users) > c.hub.chat.MaxMembers {
		c.fail(r, protocol.Errorf(protocol.CodeTooLarge, "group %s would have more than %d members", c.group, c.hub.chat.MaxMembers))
		return
	}
	id, by := c.st.group.ID, r.sess.user
	c.job(ctx, r, func(sctx context.Context) (any, error) {
		// Check every name first, so that a typo adds nobody.
		for _, u := range users {
			if _, err := c.hub.store.GetUser(sctx, u); errors.Is(err, storage.ErrNotFound) {
				return nil, protocol.Errorf(protocol.CodeNotFound, "no user %s", u)
			} else if err != nil {
				return nil, err
			}
		}
		var added []string
		now := c.hub.now().UTC()
		for _, u := range users {
			err := c.hub.store.AddMember(sctx, id, u, storage.RoleMember, now)
			if err != nil && !errors.Is(err, storage.ErrConflict) {
				return added, err
			}
			added = append(added, u)
		}
		return added, nil
	}, func(_ actor.Context, data any) any {
		added, _ := data.([]string)
		for _, u := range added {
			c.st.members[u] = storage.RoleMember
		}
		for _, u := range added {
			c.pushGroup(protocol.PushGroupAdded, protocol.GroupEvent{Group: c.group, User: u, By: by, Role: storage.RoleMember}, r.conn.ID())
		}
		return protocol.GroupUsersReply{Group: c.group, Users: nonNil(added), Members: len(c.st.members)}
	})
}

func (c *convActor) remove(ctx actor.Context, r *request) {
	in := r.in.(*protocol.GroupUsers)
	if !c.manager(r) {
		return
	}
	by := r.sess.user
	for _, u := range in.Users {
		role := c.st.members[u]
		switch {
		case role == "":
			c.fail(r, protocol.Errorf(protocol.CodeNotFound, "%s is not a member of %s", u, c.group))
			return
		case role == storage.RoleOwner:
			c.fail(r, protocol.Errorf(protocol.CodeForbidden, "the owner cannot be removed; delete the group instead"))
			return
		case role == storage.RoleAdmin && c.st.members[by] != storage.RoleOwner:
			c.fail(r, protocol.Errorf(protocol.CodeForbidden, "only the owner can remove an admin"))
			return
		}
	}
	c.removeMembers(ctx, r, in.Users, by)
}

func (c *convActor) leave(ctx actor.Context, r *request) {
	if c.st.members[r.sess.user] == storage.RoleOwner {
		c.fail(r, protocol.Errorf(protocol.CodeForbidden, "the owner cannot leave; delete the group instead"))
		return
	}
	c.removeMembers(ctx, r, []string{r.sess.user}, r.sess.user)
}

// removeMembers stores the removal of users, then stops forwarding to them
// and tells them and the remaining members.
func (c *convActor) removeMembers(ctx actor.Context, r *request, users []string, by string) {
	id := c.st.group.ID
	c.job(ctx, r, func(sctx context.Context) (any, error) {
		var removed []string
		for _, u := range users {
			if err := c.hub.store.RemoveMember(sctx, id, u); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return removed, err
			}
			removed = append(removed, u)
		}
		return removed, nil
	}, func(_ actor.Context, data any) any {
		removed, _ := data.([]string)
		for _, u := range removed {
			delete(c.st.members, u)
		}
		for _, u := range removed {
			c.pushGroup(protocol.PushGroupRemoved, protocol.GroupEvent{Group: c.group, User: u, By: by}, r.conn.ID(), u)
		}
		return protocol.GroupUsersReply{Group: c.group, Users: nonNil(removed), Members: len(c.st.members)}
	})
}

func (c *convActor) deleteGroup(ctx actor.Context, r *request) {
	if c.st.members[r.sess.user] != storage.RoleOwner {
		c.fail(r, protocol.Errorf(protocol.CodeForbidden, "only the owner can delete %s", c.group))
		return
	}
	if c.st.pending > 0 {
		// Messages accepted before the delete are stored first, so that
		// the delete takes them along; the delete waits at the head of
		// the queue.
		c.st.queue = slices.Insert(c.st.queue, 0, r)
		c.st.drain = true
		return
	}
	id := c.st.group.ID
	c.job(ctx, r, func(sctx context.Context) (any, error) {
		return protocol.Empty{}, c.hub.store.DeleteGroup(sctx, id)
	}, func(_ actor.Context, data any) any {
		c.pushGroup(protocol.PushGroupDeleted, protocol.GroupEvent{Group: c.group, By: r.sess.user}, r.conn.ID())
		c.st.exists = false
		c.st.group = storage.Group{}
		clear(c.st.members)
		return data
	})
}

func (c *convActor) setRole(ctx actor.Context, r *request) {
	in := r.in.(*protocol.GroupRole)
	switch {
	case c.st.members[r.sess.user] != storage.RoleOwner:
		c.fail(r, protocol.Errorf(protocol.CodeForbidden, "only the owner can change roles in %s", c.group))
		return
	case c.st.members[in.User] == "":
		c.fail(r, protocol.Errorf(protocol.CodeNotFound, "%s is not a member of %s", in.User, c.group))
		return
	case in.User == r.sess.user:
		c.fail(r, protocol.Errorf(protocol.CodeBadRequest, "the owner's role cannot change"))
		return
	}
	id := c.st.group.ID
	c.job(ctx, r, func(sctx context.Context) (any, error) {
		return protocol.Empty{}, c.hub.store.SetRole(sctx, id, in.User, in.Role)
	}, func(_ actor.Context, data any) any {
		c.st.members[in.User] = in.Role
		c.pushGroup(protocol.PushGroupRole, protocol.GroupEvent{Group: c.group, User: in.User, By: r.sess.user, Role: in.Role}, r.conn.ID())
		return data
	})
}

func (c *convActor) members(r *request) {
	out := protocol.GroupMembersReply{Group: c.group, Members: make([]protocol.GroupMember, 0, len(c.st.members))}
	for u, role := range c.st.members {
		out.Members = append(out.Members, protocol.GroupMember{User: u, Role: role, Online: c.hub.dir.Online(u)})
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].User < out.Members[j].User })
	c.reply(r, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
