package client

import (
	"context"

	"huddle/protocol"
)

// FriendAdd asks user to be a friend (or accepts their pending request).
func (c *Client) FriendAdd(ctx context.Context, user string) (protocol.FriendState, error) {
	return c.friendState(ctx, protocol.TypeFriendAdd, user)
}

// FriendAccept accepts user's pending friend request.
func (c *Client) FriendAccept(ctx context.Context, user string) (protocol.FriendState, error) {
	return c.friendState(ctx, protocol.TypeFriendAccept, user)
}

func (c *Client) friendState(ctx context.Context, typ, user string) (protocol.FriendState, error) {
	var out protocol.FriendState
	err := c.Call(ctx, typ, protocol.FriendTarget{User: user}, &out)
	return out, err
}

// FriendRemove ends a friendship or withdraws or refuses a request.
func (c *Client) FriendRemove(ctx context.Context, user string) error {
	return c.Call(ctx, protocol.TypeFriendRemove, protocol.FriendTarget{User: user}, nil)
}

// FriendList returns the caller's friends and requests, accepted first.
func (c *Client) FriendList(ctx context.Context) ([]protocol.Friend, error) {
	var out protocol.FriendListReply
	err := c.Call(ctx, protocol.TypeFriendList, protocol.FriendList{}, &out)
	return out.Friends, err
}
