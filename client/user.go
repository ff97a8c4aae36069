package client

import (
	"context"

	"huddle/protocol"
)

// Profile returns the caller's own account information.
func (c *Client) Profile(ctx context.Context) (protocol.Profile, error) {
	var out protocol.Profile
	err := c.Call(ctx, protocol.TypeUserGet, protocol.UserGet{}, &out)
	return out, err
}

// UpdateEmail changes the caller's email and returns the updated profile.
func (c *Client) UpdateEmail(ctx context.Context, email string) (protocol.Profile, error) {
	var out protocol.Profile
	err := c.Call(ctx, protocol.TypeUserUpdate, protocol.UserUpdate{Email: email}, &out)
	return out, err
}
