package server_test

import (
	"strings"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
)

func TestFriendsAndPresence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a1, _ := e.newUser("alice")
		a2, _ := e.login("alice") // a second device
		e.register(e.dial(), "bob")
		e.register(e.dial(), "cleo")

		callErr(t, a1, protocol.TypeFriendAdd, protocol.FriendTarget{User: "alice"}, protocol.CodeBadRequest)
		callErr(t, a1, protocol.TypeFriendAdd, protocol.FriendTarget{User: "nosuchuser"}, protocol.CodeNotFound)
		var st protocol.FriendState
		call(t, a1, protocol.TypeFriendAdd, protocol.FriendTarget{User: "bob"}, &st)
		if st.State != protocol.FriendRequested {
			t.Fatalf("add state %+v", st)
		}
		if pe := callErr(t, a1, protocol.TypeFriendAdd, protocol.FriendTarget{User: "bob"}, protocol.CodeConflict); !strings.Contains(pe.Message, "asked bob already") {
			t.Fatalf("a second request: %q, want it to say it was asked", pe.Message)
		}

		// bob was offline: he sees the request at login.
		b, bs := e.login("bob")
		if len(bs.FriendRequests) != 1 || bs.FriendRequests[0] != "alice" {
			t.Fatalf("bob's pending requests: %+v", bs.FriendRequests)
		}
		// cleo is online when alice asks: she gets a push.
		c, _ := e.login("cleo")
		call(t, a1, protocol.TypeFriendAdd, protocol.FriendTarget{User: "cleo"}, nil)
		var ev protocol.FriendEvent
		expectPush(t, c, protocol.PushFriendRequest, &ev)
		if ev.User != "alice" {
			t.Fatalf("friend.request from %q", ev.User)
		}

		callErr(t, b, protocol.TypeFriendAccept, protocol.FriendTarget{User: "cleo"}, protocol.CodeNotFound)
		call(t, b, protocol.TypeFriendAccept, protocol.FriendTarget{User: "alice"}, &st)
		if st.State != protocol.FriendAccepted {
			t.Fatalf("accept state %+v", st)
		}
		// Both of alice's sessions hear about it, and each side sees the
		// other online at once: until now neither was the other's friend.
		var p protocol.Presence
		for _, a := range []*clientT{a1, a2} {
			expectPush(t, a, protocol.PushFriendAccepted, &ev)
			if ev.User != "bob" {
				t.Fatalf("friend.accepted from %q", ev.User)
			}
			expectPush(t, a, protocol.PushPresence, &p)
			if p != (protocol.Presence{User: "bob", Online: true}) {
				t.Fatalf("alice's presence push after the acceptance: %+v, want bob online", p)
			}
		}
		expectPush(t, b, protocol.PushPresence, &p)
		if p != (protocol.Presence{User: "alice", Online: true}) {
			t.Fatalf("bob's presence push after the acceptance: %+v, want alice online", p)
		}
		// cleo, who only asked, learns nothing of either.
		noPush(t, c, protocol.PushPresence, 100*time.Millisecond)
		var list protocol.FriendListReply
		call(t, a1, protocol.TypeFriendList, nil, &list)
		want := []protocol.Friend{{User: "bob", State: protocol.FriendAccepted, Online: true}, {User: "cleo", State: protocol.FriendRequested}}
		if len(list.Friends) != 2 || list.Friends[0] != want[0] || list.Friends[1] != want[1] {
			t.Fatalf("alice's friends: %+v, want %+v", list.Friends, want)
		}

		// Presence: bob's last session going offline reaches both of alice's.
		b.Close()
		for _, a := range []*clientT{a1, a2} {
			expectPush(t, a, protocol.PushPresence, &p)
			if p.User != "bob" || p.Online {
				t.Fatalf("presence %+v, want bob offline", p)
			}
		}
		// Two sessions: the first brings bob online, the second changes nothing.
		b1, _ := e.login("bob")
		expectPush(t, a1, protocol.PushPresence, &p)
		if p.User != "bob" || !p.Online {
			t.Fatalf("presence %+v, want bob online", p)
		}
		b2, _ := e.login("bob")
		noPush(t, a1, protocol.PushPresence, 200*time.Millisecond)
		b2.Close()
		noPush(t, a1, protocol.PushPresence, 200*time.Millisecond)
		// cleo is not a friend (only requested): she learns nothing of bob.
		noPush(t, c, protocol.PushPresence, 50*time.Millisecond)

		call(t, b1, protocol.TypeFriendRemove, protocol.FriendTarget{User: "alice"}, nil)
		expectPush(t, a2, protocol.PushFriendRemoved, &ev)
		callErr(t, b1, protocol.TypeFriendRemove, protocol.FriendTarget{User: "alice"}, protocol.CodeNotFound)
		call(t, a1, protocol.TypeFriendList, nil, &list)
		if len(list.Friends) != 1 || list.Friends[0].User != "cleo" {
			t.Fatalf("alice's friends after removal: %+v", list.Friends)
		}

		// cleo answers alice's request with one of her own: that accepts
		// it, and again each side sees the other online, once.
		call(t, c, protocol.TypeFriendAdd, protocol.FriendTarget{User: "alice"}, &st)
		if st.State != protocol.FriendAccepted {
			t.Fatalf("cleo's add after alice's: %+v", st)
		}
		expectPush(t, a1, protocol.PushFriendAccepted, &ev)
		expectPush(t, a1, protocol.PushPresence, &p)
		if ev.User != "cleo" || p != (protocol.Presence{User: "cleo", Online: true}) {
			t.Fatalf("alice after cleo's add: %+v, %+v", ev, p)
		}
		expectPush(t, c, protocol.PushPresence, &p)
		if p != (protocol.Presence{User: "alice", Online: true}) {
			t.Fatalf("cleo's presence push after her add: %+v, want alice online", p)
		}
		noPush(t, c, protocol.PushPresence, 200*time.Millisecond)
		noPush(t, a1, protocol.PushPresence, 50*time.Millisecond)
	})
}

// TestPresenceGrace: a user who reconnects within presence_grace does not
// flicker offline and online for friends; one who stays away is offline.
func TestPresenceGrace(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Actors.PresenceGrace = 700 * time.Millisecond
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	x, _ := e.newUser("xena")
	y, _ := e.newUser("yuri")
	call(t, x, protocol.TypeFriendAdd, protocol.FriendTarget{User: "yuri"}, nil)
	call(t, y, protocol.TypeFriendAccept, protocol.FriendTarget{User: "xena"}, nil)
	var p protocol.Presence
	expectPush(t, x, protocol.PushPresence, &p) // yuri accepted while online
	if p != (protocol.Presence{User: "yuri", Online: true}) {
		t.Fatalf("presence after the acceptance %+v", p)
	}
	for range 3 { // one short command after another
		y.Close()
		y, _ = e.login("yuri")
	}
	noPush(t, x, protocol.PushPresence, 1200*time.Millisecond)
	y.Close()
	expectPush(t, x, protocol.PushPresence, &p)
	if p != (protocol.Presence{User: "yuri", Online: false}) {
		t.Fatalf("presence %+v", p)
	}
}
