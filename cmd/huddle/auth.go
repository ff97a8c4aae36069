package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"huddle/client"
	"huddle/protocol"
)

func authCommands() []command {
	return []command{
		{"register", "NAME --email EMAIL", "create an account (password from stdin or prompt)", cmdRegister},
		{"login", "NAME", "log in and save the session in --home", cmdLogin},
		{"logout", "", "end the session and delete it", cmdLogout},
		{"whoami", "", "show the logged-in user", cmdWhoami},
		{"profile", "[--email EMAIL]", "show your profile, or change your email", cmdProfile},
		{"passwd", "", "change your password (old and new: two stdin lines)", cmdPasswd},
	}
}

func cmdRegister(ctx context.Context, a *app, cl *cmdLine) error {
	email := cl.fs.String("email", "", "email address (required)")
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	if *email == "" {
		return cl.usageErrorf("--email is required")
	}
	pw, err := a.password(ctx, "Password: ", true)
	if err != nil {
		return err
	}
	return a.withConn(ctx, func(ctx context.Context, c *client.Client) error {
		out, err := c.Register(ctx, args[0], *email, pw)
		if err != nil {
			return err
		}
		return a.print(out, "registered %s", out.User)
	})
}

func cmdLogin(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	pw, err := a.password(ctx, "Password: ", false)
	if err != nil {
		return err
	}
	return a.withConn(ctx, func(ctx context.Context, c *client.Client) error {
		sess, err := c.Login(ctx, args[0], pw)
		if err != nil {
			return err
		}
		if err := a.saveSession(session{Server: a.server, User: sess.User, Token: sess.Token}); err != nil {
			// A session nobody holds would live on the server until it
			// expires: end it.
			if lerr := c.Logout(ctx); lerr != nil {
				return fmt.Errorf("%w (and ending the session on the server failed: %v)", err, lerr)
			}
			return fmt.Errorf("%w; the session was ended on the server", err)
		}
		out := struct {
			User           string                 `json:"user"`
			Server         string                 `json:"server"`
			Expires        time.Time              `json:"expires"`
			FriendRequests []string               `json:"friend_requests"`
			Unread         []protocol.UnreadCount `json:"unread"`
		}{sess.User, a.server, sess.Expires, nonNil(sess.FriendRequests), nonNil(sess.Unread)}
		text := "logged in as " + sess.User
		if len(sess.FriendRequests) > 0 {
			text += "\nfriend requests from: " + strings.Join(sess.FriendRequests, ", ")
		}
		if len(sess.Unread) > 0 {
			unread := make([]string, len(sess.Unread))
			for i, u := range sess.Unread {
				unread[i] = fmt.Sprintf("%s (%d)", chatLabel(u.User, u.Group), u.Count)
			}
			text += "\nunread messages: " + strings.Join(unread, ", ")
		}
		return a.print(out, "%s", text)
	})
}

func cmdLogout(ctx context.Context, a *app, cl *cmdLine) error {
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	if _, err := a.loadSession(); err != nil {
		return err
	}
	err := a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		return c.Logout(ctx)
	})
	if err != nil && !errors.Is(err, errSessionEnded) {
		return err
	}
	// A session the server no longer accepts is as good as logged out.
	if err := a.removeSession(); err != nil {
		return err
	}
	return a.print(struct {
		LoggedOut bool `json:"logged_out"`
	}{true}, "logged out")
}

func cmdWhoami(ctx context.Context, a *app, cl *cmdLine) error {
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		sess := c.Session()
		out := struct {
			User    string    `json:"user"`
			Server  string    `json:"server"`
			Expires time.Time `json:"expires"`
		}{sess.User, c.Addr(), sess.Expires}
		return a.print(out, "%s", sess.User)
	})
}

func cmdProfile(ctx context.Context, a *app, cl *cmdLine) error {
	email := cl.fs.String("email", "", "change the email address")
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		var p protocol.Profile
		var err error
		if *email != "" {
			p, err = c.UpdateEmail(ctx, *email)
		} else {
			p, err = c.Profile(ctx)
		}
		if err != nil {
			return err
		}
		return a.print(p, "user:    %s\nemail:   %s\ncreated: %s", p.User, p.Email, p.Created.Local().Format(time.DateTime))
	})
}

func cmdPasswd(ctx context.Context, a *app, cl *cmdLine) error {
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	// Read both passwords before connecting: a prompt must not race the
	// server's auth timeout.
	oldPW, err := a.password(ctx, "Current password: ", false)
	if err != nil {
		return err
	}
	newPW, err := a.password(ctx, "New password: ", true)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		out, err := c.Passwd(ctx, oldPW, newPW)
		if err != nil {
			return err
		}
		return a.print(out, "password changed; %d other session(s) signed out", out.Revoked)
	})
}

// nonNil makes an empty list print as [] rather than null in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
