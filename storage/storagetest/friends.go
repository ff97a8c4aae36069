package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"huddle/storage"
)

// friends fails unless user's list is want, in "other:state" form.
func (h *harness) friends(t *testing.T, user string, want ...string) {
	t.Helper()
	fs, err := h.ListFriends(t.Context(), user)
	if err != nil {
		t.Fatalf("ListFriends(%s): %v", user, err)
	}
	got := make([]string, len(fs))
	for i, f := range fs {
		got[i] = f.User + ":" + f.State
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListFriends(%s) = %v, want %v", user, got, want)
	}
}

// request fails unless from's request to to ends in state want.
func (h *harness) request(t *testing.T, from, to, want string) {
	t.Helper()
	got, err := h.RequestFriend(t.Context(), from, to, epoch)
	if err != nil || got != want {
		t.Fatalf("RequestFriend(%s, %s) = %q, %v; want %q", from, to, got, err, want)
	}
}

func testFriendRequestAccept(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	h.request(t, "alice", "bob", storage.FriendRequested)
	h.friends(t, "alice", "bob:requested")
	h.friends(t, "bob", "alice:pending")

	wantErr(t, "AcceptFriend", h.AcceptFriend(t.Context(), "bob", "alice"), nil)
	h.friends(t, "alice", "bob:accepted")
	h.friends(t, "bob", "alice:accepted")
	fs, _ := h.ListFriends(t.Context(), "bob")
	sameTime(t, "Created", fs[0].Created, epoch)
}

// Asking someone who has asked you accepts their request.
func testFriendCrossRequest(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	h.request(t, "alice", "bob", storage.FriendRequested)
	h.request(t, "bob", "alice", storage.FriendAccepted)
	h.friends(t, "alice", "bob:accepted")
	h.friends(t, "bob", "alice:accepted")
}

func testFriendRequestErrors(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	for _, c := range []struct {
		from, to string
		want     error
	}{
		{"alice", "nobody", storage.ErrNotFound},
		{"nobody", "alice", storage.ErrNotFound},
		{"alice", "alice", storage.ErrConflict}, // befriending yourself
	} {
		_, err := h.RequestFriend(ctx, c.from, c.to, epoch)
		wantErr(t, fmt.Sprintf("RequestFriend(%s, %s)", c.from, c.to), err, c.want)
	}
	h.friends(t, "alice")

	h.request(t, "alice", "bob", storage.FriendRequested)
	_, err := h.RequestFriend(ctx, "alice", "bob", epoch)
	wantErr(t, "RequestFriend(again)", err, storage.ErrConflict)
	h.friends(t, "alice", "bob:requested")

	h.request(t, "bob", "alice", storage.FriendAccepted)
	for _, pair := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		_, err := h.RequestFriend(ctx, pair[0], pair[1], epoch)
		wantErr(t, fmt.Sprintf("RequestFriend(%s, %s) between friends", pair[0], pair[1]), err, storage.ErrConflict)
	}
	h.friends(t, "bob", "alice:accepted")
}

func testAcceptFriendErrors(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	wantErr(t, "AcceptFriend(no request)", h.AcceptFriend(ctx, "bob", "alice"), storage.ErrNotFound)
	wantErr(t, "AcceptFriend(missing user)", h.AcceptFriend(ctx, "bob", "nobody"), storage.ErrNotFound)

	h.request(t, "alice", "bob", storage.FriendRequested)
	// Only the one asked can accept.
	wantErr(t, "AcceptFriend(by the requester)", h.AcceptFriend(ctx, "alice", "bob"), storage.ErrNotFound)
	h.friends(t, "alice", "bob:requested")

	wantErr(t, "AcceptFriend", h.AcceptFriend(ctx, "bob", "alice"), nil)
	wantErr(t, "AcceptFriend(again)", h.AcceptFriend(ctx, "bob", "alice"), storage.ErrNotFound)
}

func testRemoveFriend(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	wantErr(t, "RemoveFriend(nothing)", h.RemoveFriend(ctx, "alice", "bob"), storage.ErrNotFound)

	// Declining a request removes it on both sides.
	h.request(t, "alice", "bob", storage.FriendRequested)
	wantErr(t, "RemoveFriend(decline)", h.RemoveFriend(ctx, "bob", "alice"), nil)
	h.friends(t, "alice")
	h.friends(t, "bob")

	// A friendship can be ended from either side, once.
	h.request(t, "alice", "bob", storage.FriendRequested)
	wantErr(t, "AcceptFriend", h.AcceptFriend(ctx, "bob", "alice"), nil)
	wantErr(t, "RemoveFriend(friend)", h.RemoveFriend(ctx, "alice", "bob"), nil)
	h.friends(t, "alice")
	h.friends(t, "bob")
	wantErr(t, "RemoveFriend(again)", h.RemoveFriend(ctx, "bob", "alice"), storage.ErrNotFound)

	// And started afresh, the other way round.
	h.request(t, "bob", "alice", storage.FriendRequested)
	h.friends(t, "alice", "bob:pending")
}

func testListFriendsOrder(t *testing.T, h *harness) {
	for _, name := range []string{"alice", "Zed", "bob", "carol", "dave"} {
		h.newUser(t, name)
	}
	h.request(t, "alice", "dave", storage.FriendRequested)
	h.request(t, "bob", "alice", storage.FriendRequested)
	h.request(t, "alice", "carol", storage.FriendRequested)
	h.request(t, "carol", "alice", storage.FriendAccepted)
	h.request(t, "alice", "Zed", storage.FriendRequested)
	// Byte order: upper case sorts before lower case.
	h.friends(t, "alice", "Zed:requested", "bob:pending", "carol:accepted", "dave:requested")
	h.friends(t, "nobody")
}

// Two users asking each other at the same instant end up friends: exactly
// one request is recorded as such and the other accepts it.
func testConcurrentCrossRequests(t *testing.T, h *harness) {
	const pairs = 8
	for i := range pairs {
		h.newUser(t, fmt.Sprintf("a%d", i))
		h.newUser(t, fmt.Sprintf("b%d", i))
	}
	states := make([]string, 2*pairs)
	ok, _ := race(t, 2*pairs, nil, func(i int) error {
		from, to := fmt.Sprintf("a%d", i/2), fmt.Sprintf("b%d", i/2)
		if i%2 == 1 {
			from, to = to, from
		}
		var err error
		states[i], err = h.RequestFriend(t.Context(), from, to, at(time.Duration(i)*time.Second))
		return err
	})
	if ok != 2*pairs {
		t.Fatalf("%d of %d requests succeeded", ok, 2*pairs)
	}
	for i := range pairs {
		got := []string{states[2*i], states[2*i+1]}
		slices.Sort(got)
		if !slices.Equal(got, []string{storage.FriendAccepted, storage.FriendRequested}) {
			t.Errorf("pair %d: results %v, want one accepted and one requested", i, got)
		}
		h.friends(t, fmt.Sprintf("a%d", i), fmt.Sprintf("b%d:accepted", i))
		h.friends(t, fmt.Sprintf("b%d", i), fmt.Sprintf("a%d:accepted", i))
	}
}
