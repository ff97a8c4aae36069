package storagetest

import (
	"strings"
	"testing"
	"time"

	"huddle/storage"
)

func testUserRoundTrip(t *testing.T, h *harness) {
	want := h.newUser(t, "alice")
	got, err := h.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.Name != want.Name || got.Email != want.Email || got.PasswordHash != want.PasswordHash {
		t.Errorf("GetUser = %+v, want %+v", got, want)
	}
	sameTime(t, "Created", got.Created, want.Created)
}

func testUserConflict(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	err := h.CreateUser(t.Context(), storage.User{Name: "alice", Email: "other@example.org", Created: epoch})
	wantErr(t, "CreateUser(taken name)", err, storage.ErrConflict)
	if u, _ := h.GetUser(t.Context(), "alice"); u.Email != "alice@example.org" {
		t.Errorf("the losing CreateUser changed the user: %+v", u)
	}
}

// Names are compared byte for byte in every backend; folding case, if the
// product wants it, happens before the store.
func testUserNamesCaseSensitive(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "Alice")
	if u, err := h.GetUser(t.Context(), "ALICE"); err == nil {
		t.Errorf("GetUser(ALICE) = %+v, want not found", u)
	}
}

// Every backend enforces the schema's 32-byte name: none truncates silently.
func testUserNameTooLong(t *testing.T, h *harness) {
	name := strings.Repeat("n", 33)
	if err := h.CreateUser(t.Context(), storage.User{Name: name, Created: epoch}); err == nil {
		t.Errorf("CreateUser with a 33-byte name succeeded")
	}
	h.newUser(t, strings.Repeat("n", 32))
}

func testUserNotFound(t *testing.T, h *harness) {
	ctx := t.Context()
	_, err := h.GetUser(ctx, "nobody")
	wantErr(t, "GetUser", err, storage.ErrNotFound)
	wantErr(t, "UpdateEmail", h.UpdateEmail(ctx, "nobody", "x@example.org"), storage.ErrNotFound)
	_, err = h.UpdatePassword(ctx, "nobody", "hash", nil)
	wantErr(t, "UpdatePassword", err, storage.ErrNotFound)
}

func testUpdateEmail(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	wantErr(t, "UpdateEmail", h.UpdateEmail(ctx, "alice", "new@example.org"), nil)
	// Setting the same value again changes no row but finds the user.
	wantErr(t, "UpdateEmail(same value)", h.UpdateEmail(ctx, "alice", "new@example.org"), nil)
	if u, _ := h.GetUser(ctx, "alice"); u.Email != "new@example.org" {
		t.Errorf("Email = %q after UpdateEmail", u.Email)
	}
}

func testUpdatePasswordRevokes(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	for _, tok := range []string{"a1", "a2", "a3"} {
		h.newSession(t, "alice", tok, at(time.Hour))
	}
	h.newSession(t, "bob", "b1", at(time.Hour))

	n, err := h.UpdatePassword(ctx, "alice", "hash2", hashOf("a1"))
	if err != nil || n != 2 {
		t.Fatalf("UpdatePassword(keep a1) = %d, %v; want 2, nil", n, err)
	}
	if u, _ := h.GetUser(ctx, "alice"); u.PasswordHash != "hash2" {
		t.Errorf("PasswordHash = %q, want hash2", u.PasswordHash)
	}
	for tok, want := range map[string]error{"a1": nil, "a2": storage.ErrNotFound, "a3": storage.ErrNotFound, "b1": nil} {
		_, err := h.GetSession(ctx, hashOf(tok), epoch)
		wantErr(t, "GetSession("+tok+")", err, want)
	}

	// Without a session to keep, all go.
	n, err = h.UpdatePassword(ctx, "alice", "hash3", nil)
	if err != nil || n != 1 {
		t.Fatalf("UpdatePassword(keep none) = %d, %v; want 1, nil", n, err)
	}
	_, err = h.GetSession(ctx, hashOf("a1"), epoch)
	wantErr(t, "GetSession(a1)", err, storage.ErrNotFound)
}

func testConcurrentCreateUser(t *testing.T, h *harness) {
	const racers = 16
	ok, conflicts := race(t, racers, storage.ErrConflict, func(i int) error {
		return h.CreateUser(t.Context(), storage.User{Name: "alice", Email: string(rune('a'+i)) + "@example.org", Created: epoch})
	})
	if ok != 1 || conflicts != racers-1 {
		t.Errorf("%d racers: %d won, %d got ErrConflict; want 1 and %d", racers, ok, conflicts, racers-1)
	}
}
