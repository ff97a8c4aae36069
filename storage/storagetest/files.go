package storagetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"huddle/storage"
)

// file returns a file record from sender to a user, or to a group when
// group is not 0, named after its id.
func file(id, sender, receiver string, group int64, created time.Time) storage.File {
	return storage.File{
		ID:       id,
		SHA256:   strings.Repeat("0123456789abcdef", 4),
		Name:     id + ".txt",
		Type:     "text/plain",
		Size:     int64(len(id)),
		Sender:   sender,
		Receiver: receiver,
		GroupID:  group,
		Created:  created,
	}
}

// newFiles creates fs and fails unless that works.
func (h *harness) newFiles(t *testing.T, fs ...storage.File) {
	t.Helper()
	for _, f := range fs {
		if err := h.CreateFile(t.Context(), f); err != nil {
			t.Fatalf("CreateFile(%s): %v", f.ID, err)
		}
	}
}

// files fails unless the page of user's files after before holds the ids
// want, in order.
func (h *harness) files(t *testing.T, user, before string, limit int, want ...string) {
	t.Helper()
	fs, err := h.ListFiles(t.Context(), user, before, limit)
	if err != nil {
		t.Fatalf("ListFiles(%s, %q, %d): %v", user, before, limit, err)
	}
	got := make([]string, len(fs))
	for i, f := range fs {
		got[i] = f.ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListFiles(%s, %q, %d) = %v, want %v", user, before, limit, got, want)
	}
}

// isMember fails unless IsMember answers want.
func (h *harness) isMember(t *testing.T, group int64, user string, want bool) {
	t.Helper()
	if got, err := h.IsMember(t.Context(), group, user); err != nil || got != want {
		t.Errorf("IsMember(%d, %s) = %v, %v; want %v", group, user, got, err, want)
	}
}

// sameFile fails unless got is want as reads return it: with the group's
// name and the time in UTC.
func sameFile(t *testing.T, what string, got, want storage.File, group string) {
	t.Helper()
	sameTime(t, what+".Created", got.Created, want.Created)
	got.Created, want.Created = time.Time{}, time.Time{}
	want.Group = group
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// Every field comes back as written, from GetFile and ListFiles alike; ids
// are unique and every name a record refers to must exist.
func testFileRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	g := h.newGroup(t, "team", "alice")
	private := storage.File{
		ID:       "a1b2c3d4e5f6g7h2i3j4k5l6m7",
		SHA256:   strings.Repeat("e3b0c44298fc1c14", 4),
		Name:     strings.Repeat("📎", 63) + "a.b", // 255 bytes of utf8mb4
		Type:     "application/vnd.oasis.opendocument.text",
		Size:     5 << 40,
		Sender:   "alice",
		Receiver: "bob",
		Created:  at(time.Hour),
	}
	shared := file("g1", "bob", "", g.ID, at(2*time.Hour))
	shared.Size = 0
	h.newFiles(t, private, shared)

	got, err := h.GetFile(ctx, private.ID)
	wantErr(t, "GetFile(private)", err, nil)
	sameFile(t, "GetFile(private)", got, private, "")
	got, err = h.GetFile(ctx, shared.ID)
	wantErr(t, "GetFile(group)", err, nil)
	sameFile(t, "GetFile(group)", got, shared, "team")
	fs, err := h.ListFiles(ctx, "alice", "", 10)
	if err != nil || len(fs) != 2 {
		t.Fatalf("ListFiles(alice) = %+v, %v; want 2 files", fs, err)
	}
	sameFile(t, "ListFiles[0]", fs[0], shared, "team")
	sameFile(t, "ListFiles[1]", fs[1], private, "")

	_, err = h.GetFile(ctx, "nothere")
	wantErr(t, "GetFile(unknown)", err, storage.ErrNotFound)
	wantErr(t, "CreateFile(taken id)", h.CreateFile(ctx, file(private.ID, "bob", "alice", 0, epoch)), storage.ErrConflict)
	wantErr(t, "CreateFile(taken id, group)", h.CreateFile(ctx, file(shared.ID, "alice", "", g.ID, epoch)), storage.ErrConflict)
	wantErr(t, "CreateFile(unknown sender)", h.CreateFile(ctx, file("x1", "nobody", "bob", 0, epoch)), storage.ErrNotFound)
	wantErr(t, "CreateFile(unknown receiver)", h.CreateFile(ctx, file("x2", "alice", "nobody", 0, epoch)), storage.ErrNotFound)
	wantErr(t, "CreateFile(unknown group)", h.CreateFile(ctx, file("x3", "alice", "", 999999, epoch)), storage.ErrNotFound)
	if err := h.CreateFile(ctx, file("x4", "alice", "bob", g.ID, epoch)); err == nil {
		t.Error("CreateFile(to a user and a group) succeeded")
	}
	if err := h.CreateFile(ctx, file("x5", "alice", "", 0, epoch)); err == nil {
		t.Error("CreateFile(to nobody) succeeded")
	}
	for _, id := range []string{"x1", "x2", "x3", "x4", "x5"} {
		_, err := h.GetFile(ctx, id)
		wantErr(t, "GetFile(after failed create "+id+")", err, storage.ErrNotFound)
	}
	h.files(t, "alice", "", 10, "g1", private.ID)
	h.files(t, "bob", "", 10, "g1", private.ID)
}

// A user's list holds what they sent, what they received and what others
// sent to the groups they are members of now: a removed member stops
// seeing the group's files, a new one sees those sent before they joined.
func testFileLists(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		h.newUser(t, u)
	}
	team := h.newGroup(t, "team", "alice")
	wantErr(t, "AddMember(bob)", h.AddMember(ctx, team.ID, "bob", storage.RoleMember, epoch), nil)
	h.newFiles(t,
		file("f1", "alice", "bob", 0, at(1*time.Second)),
		file("f2", "bob", "alice", 0, at(2*time.Second)),
		file("f3", "carol", "dave", 0, at(3*time.Second)),
		file("f4", "alice", "", team.ID, at(4*time.Second)),
		file("f5", "bob", "", team.ID, at(5*time.Second)),
		file("f6", "carol", "alice", 0, at(6*time.Second)),
		file("f7", "alice", "alice", 0, at(7*time.Second)), // listed once
	)
	h.files(t, "alice", "", 100, "f7", "f6", "f5", "f4", "f2", "f1")
	h.files(t, "bob", "", 100, "f5", "f4", "f2", "f1")
	h.files(t, "carol", "", 100, "f6", "f3")
	h.files(t, "dave", "", 100, "f3")
	h.files(t, "nobody", "", 100)

	wantErr(t, "RemoveMember(bob)", h.RemoveMember(ctx, team.ID, "bob"), nil)
	h.files(t, "bob", "", 100, "f5", "f2", "f1") // f5 he sent
	wantErr(t, "AddMember(carol)", h.AddMember(ctx, team.ID, "carol", storage.RoleMember, at(time.Hour)), nil)
	h.files(t, "carol", "", 100, "f6", "f5", "f4", "f3")
	wantErr(t, "AddMember(bob again)", h.AddMember(ctx, team.ID, "bob", storage.RoleMember, at(time.Hour)), nil)
	h.files(t, "bob", "", 100, "f5", "f4", "f2", "f1")
}

// Pages follow (Created, id) newest first: files created at the same
// instant come by id, and a page after a file starts right below it
// whichever branch of the listing the files come from.
func testFilePaging(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	team := h.newGroup(t, "team", "carol")
	wantErr(t, "AddMember(alice)", h.AddMember(ctx, team.ID, "alice", storage.RoleMember, epoch), nil)
	const T = time.Hour
	h.newFiles(t,
		file("p1", "alice", "bob", 0, at(T)),
		file("p5", "bob", "alice", 0, at(T)),
		file("p3", "carol", "", team.ID, at(T)),
		file("p7", "alice", "", team.ID, at(T)),
		file("p2", "alice", "bob", 0, at(T+time.Second)),
		file("p9", "carol", "", team.ID, at(T-time.Second)),
		file("p4", "bob", "alice", 0, at(T-time.Second)),
		file("p6", "alice", "carol", 0, at(T-time.Second)),
		file("p8", "carol", "bob", 0, at(T)),
		file("p0", "bob", "alice", 0, at(T+2*time.Second)),
	)
	all := map[string][]string{
		"alice": {"p0", "p2", "p7", "p5", "p3", "p1", "p9", "p6", "p4"},
		"bob":   {"p0", "p2", "p8", "p5", "p1", "p4"},
	}
	for user, want := range all {
		h.files(t, user, "", 100, want...)
		for limit := 1; limit <= 4; limit++ {
			var before string
			for start := 0; start <= len(want); start += limit {
				h.files(t, user, before, limit, want[start:min(start+limit, len(want))]...)
				before = want[min(start+limit, len(want))-1]
			}
		}
	}
	// A page may start below a file the user cannot see.
	h.files(t, "alice", "p8", 2, "p7", "p5")

	_, err := h.ListFiles(ctx, "alice", "nothere", 10)
	wantErr(t, "ListFiles(before an unknown file)", err, storage.ErrNotFound)
	if _, err := h.ListFiles(ctx, "alice", "", 0); err == nil {
		t.Error("ListFiles(limit 0) succeeded")
	}
}

// Deleting a group deletes its files' records, and only those.
func testFileGroupDelete(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	team := h.newGroup(t, "team", "alice")
	band := h.newGroup(t, "band", "alice")
	wantErr(t, "AddMember(bob)", h.AddMember(ctx, team.ID, "bob", storage.RoleMember, epoch), nil)
	h.newFiles(t,
		file("t1", "bob", "", team.ID, at(1*time.Second)),
		file("t2", "alice", "", team.ID, at(2*time.Second)),
		file("b1", "alice", "", band.ID, at(3*time.Second)),
		file("p1", "bob", "alice", 0, at(4*time.Second)),
	)
	h.files(t, "bob", "", 10, "p1", "t2", "t1")

	wantErr(t, "DeleteGroup(team)", h.DeleteGroup(ctx, team.ID), nil)
	for _, id := range []string{"t1", "t2"} {
		_, err := h.GetFile(ctx, id)
		wantErr(t, "GetFile("+id+") of a deleted group", err, storage.ErrNotFound)
	}
	h.files(t, "alice", "", 10, "p1", "b1")
	h.files(t, "bob", "", 10, "p1")
	_, err := h.ListFiles(ctx, "bob", "t1", 10)
	wantErr(t, "ListFiles(before a deleted file)", err, storage.ErrNotFound)
	if f, err := h.GetFile(ctx, "b1"); err != nil || f.Group != "band" {
		t.Errorf("GetFile(b1) = %+v, %v; want band's file", f, err)
	}
}

// UsedBytes counts what a user sent, wherever it went, and nothing else.
func testUsedBytes(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	team := h.newGroup(t, "team", "bob")
	used := func(user string, want int64) {
		t.Helper()
		if got, err := h.UsedBytes(ctx, user); err != nil || got != want {
			t.Errorf("UsedBytes(%s) = %d, %v; want %d", user, got, err, want)
		}
	}
	used("alice", 0)
	used("nobody", 0)
	big := file("a1", "alice", "bob", 0, epoch)
	big.Size = 3 << 40
	small := file("a2", "alice", "", team.ID, epoch)
	small.Size = 7
	h.newFiles(t, big, small, file("b1", "bob", "alice", 0, epoch))
	used("alice", 3<<40+7)
	used("bob", 2)
}

// IsMember follows the group's members.
func testIsMember(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	team := h.newGroup(t, "team", "alice")
	other := h.newGroup(t, "other", "bob")
	h.isMember(t, team.ID, "alice", true)
	h.isMember(t, team.ID, "bob", false)
	h.isMember(t, other.ID, "alice", false)
	h.isMember(t, 999999, "alice", false)
	h.isMember(t, team.ID, "nobody", false)
	wantErr(t, "AddMember(bob)", h.AddMember(ctx, team.ID, "bob", storage.RoleMember, epoch), nil)
	h.isMember(t, team.ID, "bob", true)
	wantErr(t, "RemoveMember(bob)", h.RemoveMember(ctx, team.ID, "bob"), nil)
	h.isMember(t, team.ID, "bob", false)
	wantErr(t, "DeleteGroup(team)", h.DeleteGroup(ctx, team.ID), nil)
	h.isMember(t, team.ID, "alice", false)
}
