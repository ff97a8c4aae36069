package server_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil"
	"huddle/protocol"
)

func TestAccountsEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.dial()
		e.register(c, "alice")
		callErr(t, c, protocol.TypeAuthRegister, protocol.Register{Name: "alice", Email: "x@example.com", Password: password}, protocol.CodeConflict)
		callErr(t, c, protocol.TypeAuthRegister, protocol.Register{Name: "bob", Email: "not-an-email", Password: password}, protocol.CodeBadRequest)
		callErr(t, c, protocol.TypeAuthRegister, protocol.Register{Name: "bob", Email: "bob@example.com", Password: "short"}, protocol.CodeBadRequest)
		callErr(t, c, protocol.TypeAuthRegister, protocol.Register{Name: "B!", Email: "bob@example.com", Password: password}, protocol.CodeBadRequest)

		// Unknown user and wrong password are indistinguishable.
		wrong := callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "alice", Password: "wrong password"}, protocol.CodeUnauthorized)
		unknown := callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "nobody", Password: "wrong password"}, protocol.CodeUnauthorized)
		if wrong.Message != unknown.Message {
			t.Fatalf("login errors differ: %q vs %q", wrong.Message, unknown.Message)
		}
		callErr(t, c, protocol.TypeUserGet, nil, protocol.CodeUnauthorized)

		a, sess := e.login("alice")
		if !sess.Expires.After(time.Now().Add(24 * time.Hour)) {
			t.Fatalf("session expires too soon: %v", sess.Expires)
		}
		var prof protocol.Profile
		call(t, a, protocol.TypeUserGet, nil, &prof)
		if prof.User != "alice" || prof.Email != "alice@example.com" || prof.Created.IsZero() {
			t.Fatalf("profile %+v", prof)
		}
		call(t, a, protocol.TypeUserUpdate, protocol.UserUpdate{Email: "alice@new.example.org"}, &prof)
		if prof.Email != "alice@new.example.org" {
			t.Fatalf("updated profile %+v", prof)
		}
		callErr(t, a, protocol.TypeUserUpdate, protocol.UserUpdate{Email: "bad"}, protocol.CodeBadRequest)
		callErr(t, a, protocol.TypeAuthLogin, protocol.Login{Name: "alice", Password: password}, protocol.CodeConflict)

		// Resume on a new connection with the token, as after a reconnect.
		r := e.dial()
		var resumed protocol.Session
		call(t, r, protocol.TypeAuthResume, protocol.Resume{Token: sess.Token}, &resumed)
		if resumed.User != "alice" || resumed.Token != "" {
			t.Fatalf("resume reply %+v", resumed)
		}
		call(t, r, protocol.TypeUserGet, nil, &prof)
		if prof.Email != "alice@new.example.org" {
			t.Fatalf("profile after resume %+v", prof)
		}

		// Logout kills the token everywhere it is presented afterwards.
		call(t, r, protocol.TypeAuthLogout, nil, nil)
		callErr(t, r, protocol.TypeUserGet, nil, protocol.CodeUnauthorized)
		callErr(t, e.dial(), protocol.TypeAuthResume, protocol.Resume{Token: sess.Token}, protocol.CodeUnauthorized)
		callErr(t, e.dial(), protocol.TypeAuthResume, protocol.Resume{Token: "forged-token-forged-token-forged-token-xx"}, protocol.CodeUnauthorized)
	})
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a1, s1 := e.newUser("carol")
		a2, s2 := e.login("carol")
		callErr(t, a1, protocol.TypeAuthPasswd, protocol.Passwd{OldPassword: "not it at all", NewPassword: "new password 1"}, protocol.CodeUnauthorized)
		var out protocol.PasswdReply
		call(t, a1, protocol.TypeAuthPasswd, protocol.Passwd{OldPassword: password, NewPassword: "new password 1"}, &out)
		if out.Revoked != 1 {
			t.Fatalf("revoked = %d, want 1", out.Revoked)
		}
		var rev protocol.SessionRevoked
		expectPush(t, a2, protocol.PushSessionRevoked, &rev)
		select {
		case <-a2.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("revoked connection was not closed")
		}
		callErr(t, e.dial(), protocol.TypeAuthResume, protocol.Resume{Token: s2.Token}, protocol.CodeUnauthorized)
		call(t, e.dial(), protocol.TypeAuthResume, protocol.Resume{Token: s1.Token}, nil)
		call(t, a1, protocol.TypeUserGet, nil, nil)
		callErr(t, e.dial(), protocol.TypeAuthLogin, protocol.Login{Name: "carol", Password: password}, protocol.CodeUnauthorized)
		call(t, e.dial(), protocol.TypeAuthLogin, protocol.Login{Name: "carol", Password: "new password 1"}, nil)
	})
}

func TestLoginThrottling(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			cfg.Auth.FailPerAccount = 3
			cfg.Auth.FailPerAccountTotal = 5
			cfg.Auth.FailPerIP = 6
			e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
			from := func(ip string) *client.Client { return e.dial(client.WithLocalIP(netip.MustParseAddr(ip))) }
			c := e.dial()
			e.register(c, "dave")
			e.register(c, "erin")
			for range 3 {
				callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "dave", Password: "guess guess"}, protocol.CodeUnauthorized)
			}
			// The account is locked for the window from the guesser's
			// address, even with the right password, but not from another.
			callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "dave", Password: password}, protocol.CodeRateLimited)
			call(t, from("127.0.0.2"), protocol.TypeAuthLogin, protocol.Login{Name: "dave", Password: password}, nil)
			// Failures from every address count together up to the total:
			// two more from a second address lock the account everywhere.
			for range 2 {
				callErr(t, from("127.0.0.3"), protocol.TypeAuthLogin, protocol.Login{Name: "dave", Password: "guess guess"}, protocol.CodeUnauthorized)
			}
			callErr(t, from("127.0.0.4"), protocol.TypeAuthLogin, protocol.Login{Name: "dave", Password: password}, protocol.CodeRateLimited)
			// Other accounts still work until the IP limit is reached.
			call(t, e.dial(), protocol.TypeAuthLogin, protocol.Login{Name: "erin", Password: password}, nil)
			for _, name := range []string{"erin", "erin", "frank"} {
				callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: name, Password: "guess guess"}, protocol.CodeUnauthorized)
			}
			callErr(t, c, protocol.TypeAuthLogin, protocol.Login{Name: "erin", Password: password}, protocol.CodeRateLimited)
			call(t, from("127.0.0.2"), protocol.TypeAuthLogin, protocol.Login{Name: "erin", Password: password}, nil)
		})
	}
}

func TestRestartKeepsAccountsAndFriends(t *testing.T) {
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			srv := testutil.StartServer(t, cfg)
			e := &env{t: t, cfg: cfg, srv: srv}
			a, sess := e.newUser("gina")
			e.register(e.dial(), "hank")
			call(t, a, protocol.TypeFriendAdd, protocol.FriendTarget{User: "hank"}, nil)
			h, _ := e.login("hank")
			call(t, h, protocol.TypeFriendAccept, protocol.FriendTarget{User: "gina"}, nil)
			a.Close()
			h.Close()
			testutil.StopServer(t, srv)

			e.srv = testutil.StartServer(t, cfg)
			r := e.dial()
			call(t, r, protocol.TypeAuthResume, protocol.Resume{Token: sess.Token}, nil)
			var list protocol.FriendListReply
			call(t, r, protocol.TypeFriendList, nil, &list)
			if len(list.Friends) != 1 || list.Friends[0].User != "hank" || list.Friends[0].State != protocol.FriendAccepted {
				t.Fatalf("friends after restart: %+v", list)
			}
			e.login("hank")
		})
	}
}

func TestShutdownIsIdempotent(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	srv := testutil.StartServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
