package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"huddle/client"
	"huddle/protocol"
)

// session is what login saves in $HUDDLE_HOME/session.json.
type session struct {
	Server string `json:"server"`
	User   string `json:"user"`
	Token  string `json:"token"`
}

const sessionFile = "session.json"

// errSessionEnded means the server refused the saved token or revoked the
// session; sessionEnded has removed the session file by then.
var errSessionEnded = &cliError{code: protocol.CodeUnauthorized, msg: "session expired; log in again (huddle login NAME)"}

func notLoggedIn(why string) error {
	return &cliError{code: protocol.CodeUnauthorized, msg: "not logged in (" + why + "): run huddle login"}
}

func (a *app) sessionPath() (string, error) {
	if a.home == "" {
		return "", &cliError{code: protocol.CodeBadRequest, msg: "no home directory: set HUDDLE_HOME or --home"}
	}
	return filepath.Join(a.home, sessionFile), nil
}

func (a *app) loadSession() (session, error) {
	var s session
	path, err := a.sessionPath()
	if err != nil {
		return s, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, notLoggedIn("no session in " + a.home)
	}
	if err != nil {
		return s, fmt.Errorf("read session: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" || s.Server == "" {
		return s, notLoggedIn("damaged session file " + path)
	}
	return s, nil
}

// saveSession writes the session atomically, readable by the owner only:
// the token is as good as the password until it expires.
func (a *app) saveSession(s session) error {
	path, err := a.sessionPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.home, 0o700); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(a.home, ".session-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o600)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("save session: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

func (a *app) removeSession() error {
	path, err := a.sessionPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove session: %w", err)
	}
	return nil
}

// sessionEnded removes the saved session after the server refused or
// revoked token, so that the next command says "not logged in" at once,
// and returns errSessionEnded. A file holding another token (a login since
// this command started) is kept.
func (a *app) sessionEnded(token string) error {
	if s, err := a.loadSession(); err == nil && s.Token == token {
		if err := a.removeSession(); err != nil {
			a.warn("remove stale session", err)
		}
	}
	return errSessionEnded
}

func (a *app) dial(ctx context.Context, addr string, opts ...client.Option) (*client.Client, error) {
	return client.Dial(ctx, addr, append([]client.Option{client.WithClientName("huddle-cli/" + version)}, opts...)...)
}

// resume connects to the saved session's server and authenticates with its
// token. An explicit --server or HUDDLE_SERVER must match the session's.
func (a *app) resume(ctx context.Context, opts ...client.Option) (*client.Client, error) {
	s, err := a.loadSession()
	if err != nil {
		return nil, err
	}
	if a.serverSet && a.server != s.Server {
		return nil, notLoggedIn("the session in " + a.home + " is for " + s.Server + ", not " + a.server)
	}
	c, err := a.dial(ctx, s.Server, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := c.Resume(ctx, s.Token); err != nil {
		c.Close()
		if protocol.CodeOf(err) == protocol.CodeUnauthorized {
			return nil, a.sessionEnded(s.Token)
		}
		return nil, err
	}
	return c, nil
}

// withConn runs fn on a new, unauthenticated connection.
func (a *app) withConn(ctx context.Context, fn func(ctx context.Context, c *client.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c, err := a.dial(ctx, a.server)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// withSession runs fn on a connection resumed from the saved session.
func (a *app) withSession(ctx context.Context, fn func(ctx context.Context, c *client.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c, err := a.resume(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// withTransfer is withSession for commands that move file bytes: only
// connecting is bounded by requestTimeout, since a big file takes the time
// it takes. A dead server is still noticed: by heartbeats on the control
// connection and by the client's stall timeout on the data channel.
func (a *app) withTransfer(ctx context.Context, fn func(ctx context.Context, c *client.Client) error) error {
	dctx, cancel := context.WithTimeout(ctx, requestTimeout)
	c, err := a.resume(dctx)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}
