package client

import (
	"context"

	"huddle/protocol"
)

// GroupCreate creates a group owned by the caller.
func (c *Client) GroupCreate(ctx context.Context, group string) (protocol.GroupInfo, error) {
	var out protocol.GroupInfo
	err := c.Call(ctx, protocol.TypeGroupCreate, protocol.GroupName{Group: group}, &out)
	return out, err
}

// GroupAdd adds users to a group (owner and admins only).
func (c *Client) GroupAdd(ctx context.Context, group string, users ...string) (protocol.GroupUsersReply, error) {
	return c.groupUsers(ctx, protocol.TypeGroupAdd, group, users)
}

// GroupRemove removes users from a group (owner and admins only).
func (c *Client) GroupRemove(ctx context.Context, group string, users ...string) (protocol.GroupUsersReply, error) {
	return c.groupUsers(ctx, protocol.TypeGroupRemove, group, users)
}

func (c *Client) groupUsers(ctx context.Context, typ, group string, users []string) (protocol.GroupUsersReply, error) {
	var out protocol.GroupUsersReply
	err := c.Call(ctx, typ, protocol.GroupUsers{Group: group, Users: users}, &out)
	return out, err
}

// GroupLeave takes the caller out of a group.
func (c *Client) GroupLeave(ctx context.Context, group string) error {
	return c.Call(ctx, protocol.TypeGroupLeave, protocol.GroupName{Group: group}, nil)
}

// GroupDelete deletes a group with its history (owner only).
func (c *Client) GroupDelete(ctx context.Context, group string) error {
	return c.Call(ctx, protocol.TypeGroupDelete, protocol.GroupName{Group: group}, nil)
}

// GroupRole makes a member an admin or a plain member again (owner only).
func (c *Client) GroupRole(ctx context.Context, group, user, role string) error {
	return c.Call(ctx, protocol.TypeGroupRole, protocol.GroupRole{Group: group, User: user, Role: role}, nil)
}

// GroupMembers lists a group's members by name.
func (c *Client) GroupMembers(ctx context.Context, group string) ([]protocol.GroupMember, error) {
	var out protocol.GroupMembersReply
	err := c.Call(ctx, protocol.TypeGroupMembers, protocol.GroupName{Group: group}, &out)
	return out.Members, err
}

// GroupList lists the caller's groups by name.
func (c *Client) GroupList(ctx context.Context) ([]protocol.GroupInfo, error) {
	var out protocol.GroupListReply
	err := c.Call(ctx, protocol.TypeGroupList, protocol.GroupList{}, &out)
	return out.Groups, err
}
