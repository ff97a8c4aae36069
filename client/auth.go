package client

import (
	"context"

	"huddle/protocol"
)

// Register creates an account. It does not log in.
func (c *Client) Register(ctx context.Context, name, email, password string) (protocol.RegisterReply, error) {
	var out protocol.RegisterReply
	err := c.Call(ctx, protocol.TypeAuthRegister, protocol.Register{Name: name, Email: email, Password: password}, &out)
	return out, err
}

// Login authenticates with a password. The Client keeps the session's token
// and user, so that Reconnect can resume it.
func (c *Client) Login(ctx context.Context, name, password string) (protocol.Session, error) {
	var out protocol.Session
	if err := c.Call(ctx, protocol.TypeAuthLogin, protocol.Login{Name: name, Password: password}, &out); err != nil {
		return out, err
	}
	c.setSession(out)
	return out, nil
}

// Resume authenticates the connection with a token from an earlier Login,
// and keeps the session like Login does. The returned Session carries token.
func (c *Client) Resume(ctx context.Context, token string) (protocol.Session, error) {
	var out protocol.Session
	if err := c.Call(ctx, protocol.TypeAuthResume, protocol.Resume{Token: token}, &out); err != nil {
		return out, err
	}
	out.Token = token
	c.setSession(out)
	return out, nil
}

// Logout revokes the session and forgets its token.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.Call(ctx, protocol.TypeAuthLogout, protocol.Logout{}, nil); err != nil {
		return err
	}
	c.setSession(protocol.Session{})
	return nil
}

// Passwd changes the password; the server revokes the user's other sessions.
func (c *Client) Passwd(ctx context.Context, oldPassword, newPassword string) (protocol.PasswdReply, error) {
	var out protocol.PasswdReply
	err := c.Call(ctx, protocol.TypeAuthPasswd, protocol.Passwd{OldPassword: oldPassword, NewPassword: newPassword}, &out)
	return out, err
}

// Ping checks that the connection is alive and returns the server's clock.
func (c *Client) Ping(ctx context.Context) (protocol.Pong, error) {
	var out protocol.Pong
	err := c.Call(ctx, protocol.TypePing, protocol.Ping{}, &out)
	return out, err
}
