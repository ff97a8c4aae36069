package storagetest

import (
	"bytes"
	"testing"
	"time"

	"huddle/storage"
)

func testSessionRoundTrip(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	want := h.newSession(t, "alice", "t1", at(time.Hour))
	got, err := h.GetSession(t.Context(), hashOf("t1"), epoch)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if !bytes.Equal(got.TokenHash, want.TokenHash) || got.User != "alice" {
		t.Errorf("GetSession = %+v, want %+v", got, want)
	}
	sameTime(t, "Created", got.Created, want.Created)
	sameTime(t, "Expires", got.Expires, want.Expires)
}

func testSessionConflict(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	h.newSession(t, "alice", "t1", at(time.Hour))
	err := h.CreateSession(t.Context(), storage.Session{TokenHash: hashOf("t1"), User: "bob", Created: epoch, Expires: at(time.Hour)})
	wantErr(t, "CreateSession(taken hash)", err, storage.ErrConflict)
	if s, _ := h.GetSession(t.Context(), hashOf("t1"), epoch); s.User != "alice" {
		t.Errorf("the losing CreateSession changed the session: %+v", s)
	}
}

// A session of a missing user is ErrNotFound; a hash that is not 32 bytes is
// an error, never a row.
func testSessionNeedsUserAndHash(t *testing.T, h *harness) {
	ctx := t.Context()
	err := h.CreateSession(ctx, storage.Session{TokenHash: hashOf("t1"), User: "nobody", Created: epoch, Expires: at(time.Hour)})
	wantErr(t, "CreateSession(missing user)", err, storage.ErrNotFound)

	h.newUser(t, "alice")
	short := hashOf("t2")[:31]
	if err := h.CreateSession(ctx, storage.Session{TokenHash: short, User: "alice", Created: epoch, Expires: at(time.Hour)}); err == nil {
		t.Errorf("CreateSession with a 31-byte hash succeeded")
	}
	_, err = h.GetSession(ctx, short, epoch)
	wantErr(t, "GetSession(31-byte hash)", err, storage.ErrNotFound)
}

func testDeleteSession(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newSession(t, "alice", "t1", at(time.Hour))
	h.newSession(t, "alice", "t2", at(time.Hour))
	wantErr(t, "DeleteSession", h.DeleteSession(ctx, hashOf("t1")), nil)
	_, err := h.GetSession(ctx, hashOf("t1"), epoch)
	wantErr(t, "GetSession(deleted)", err, storage.ErrNotFound)
	wantErr(t, "DeleteSession(again)", h.DeleteSession(ctx, hashOf("t1")), storage.ErrNotFound)
	_, err = h.GetSession(ctx, hashOf("t2"), epoch)
	wantErr(t, "GetSession(other)", err, nil)
}

// A session is live until now passes its Expires instant, compared as
// instants whatever the zones of the times given.
func testSessionExpiry(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	expires := at(time.Hour).Truncate(time.Millisecond)
	h.newSession(t, "alice", "t1", expires)
	for _, c := range []struct {
		now  time.Time
		want error
	}{
		{expires.Add(-time.Millisecond), nil},
		{expires.UTC(), nil},
		{expires.Add(time.Millisecond).UTC(), storage.ErrNotFound},
		{expires.Add(24 * time.Hour), storage.ErrNotFound},
	} {
		_, err := h.GetSession(t.Context(), hashOf("t1"), c.now)
		wantErr(t, "GetSession at "+c.now.String(), err, c.want)
	}
}

func testDeleteExpiredSessions(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	h.newSession(t, "alice", "a1", at(time.Minute))
	h.newSession(t, "bob", "b1", at(2*time.Minute))
	h.newSession(t, "alice", "a2", at(time.Hour))

	n, err := h.DeleteExpiredSessions(ctx, at(30*time.Minute).UTC())
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2, nil", n, err)
	}
	n, err = h.DeleteExpiredSessions(ctx, at(30*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("DeleteExpiredSessions again = %d, %v; want 0, nil", n, err)
	}
	// Only the live one is left, even to a caller asking from the past.
	for tok, want := range map[string]error{"a1": storage.ErrNotFound, "b1": storage.ErrNotFound, "a2": nil} {
		_, err := h.GetSession(ctx, hashOf(tok), epoch)
		wantErr(t, "GetSession("+tok+")", err, want)
	}
}

// Times come back in UTC with at least millisecond precision, from every
// record type, whatever zone they went in with.
func testTimesRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	created := time.Date(1999, time.December, 31, 23, 59, 59, 999_999_999, time.FixedZone("UTC-8", -8*3600))
	if err := h.CreateUser(ctx, storage.User{Name: "alice", Created: created}); err != nil {
		t.Fatal(err)
	}
	u, err := h.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "User.Created", u.Created, created)

	h.newUser(t, "bob")
	expires := time.Date(2099, time.July, 1, 0, 0, 0, 1_000_000, time.UTC)
	h.newSession(t, "alice", "t1", expires)
	s, err := h.GetSession(ctx, hashOf("t1"), epoch)
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Session.Created", s.Created, epoch)
	sameTime(t, "Session.Expires", s.Expires, expires)

	if _, err := h.RequestFriend(ctx, "alice", "bob", created); err != nil {
		t.Fatal(err)
	}
	fs, err := h.ListFriends(ctx, "bob")
	if err != nil || len(fs) != 1 {
		t.Fatalf("ListFriends = %+v, %v", fs, err)
	}
	sameTime(t, "Friend.Created", fs[0].Created, created)
}
