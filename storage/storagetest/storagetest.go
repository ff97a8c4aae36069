package storagetest

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"huddle/storage"
)

// Opener opens a store on a fresh, empty database and registers with
// t.Cleanup whatever removes that database. reopen opens the same database
// again; the suite calls it only after closing the first store. The suite
// closes every store it is given.
type Opener func(t *testing.T) (s storage.Store, reopen func(t *testing.T) storage.Store)

// Run runs the suite, each case in parallel on its own database.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"Ping", testPing},
		{"Reopen", testReopen},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserConflict", testUserConflict},
		{"UserNamesAreCaseSensitive", testUserNamesCaseSensitive},
		{"UserNameTooLong", testUserNameTooLong},
		{"UserNotFound", testUserNotFound},
		{"UpdateEmail", testUpdateEmail},
		{"UpdatePasswordRevokesSessions", testUpdatePasswordRevokes},
		{"ConcurrentCreateUser", testConcurrentCreateUser},
		{"TimesRoundTripInUTC", testTimesRoundTrip},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionConflict", testSessionConflict},
		{"SessionNeedsUserAndHash", testSessionNeedsUserAndHash},
		{"DeleteSession", testDeleteSession},
		{"SessionExpiry", testSessionExpiry},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"FriendRequestThenAccept", testFriendRequestAccept},
		{"FriendRequestsCross", testFriendCrossRequest},
		{"FriendRequestErrors", testFriendRequestErrors},
		{"AcceptFriendErrors", testAcceptFriendErrors},
		{"RemoveFriend", testRemoveFriend},
		{"ListFriendsOrder", testListFriendsOrder},
		{"ConcurrentCrossRequests", testConcurrentCrossRequests},
		{"AppendSeqs", testAppendSeqs},
		{"AppendDuplicates", testAppendDuplicates},
		{"AppendFailsWhole", testAppendFailsWhole},
		{"AppendLargeBatches", testAppendLargeBatches},
		{"ConcurrentAppends", testConcurrentAppends},
		{"HistoryPaging", testHistoryPaging},
		{"ReadMarkers", testReadMarkers},
		{"GroupCreate", testGroupCreate},
		{"GroupMembers", testGroupMembers},
		{"GroupReadMarkers", testGroupReadMarkers},
		{"GroupDelete", testGroupDelete},
		{"FileRoundTrip", testFileRoundTrip},
		{"FileLists", testFileLists},
		{"FilePaging", testFilePaging},
		{"FileGroupDelete", testFileGroupDelete},
		{"UsedBytes", testUsedBytes},
		{"IsMember", testIsMember},
		{"MeetingCreate", testMeetingCreate},
		{"MeetingLiveGroup", testMeetingLiveGroup},
		{"MeetingEnd", testMeetingEnd},
		{"LiveMeetings", testLiveMeetings},
		{"MeetingMembers", testMeetingMembers},
		{"MeetingMemberLeaves", testMeetingMemberLeaves},
		{"UserMeetings", testUserMeetings},
		{"MediaSources", testMediaSources},
		{"MeetingBadValues", testMeetingBadValues},
		{"MeetingChat", testMeetingChat},
		{"MeetingsReopen", testMeetingsReopen},
		{"RecordingRoundTrip", testRecordingRoundTrip},
		{"RecordingOneRunning", testRecordingOneRunning},
		{"RecordingNotFound", testRecordingNotFound},
		{"RecordingBadValues", testRecordingBadValues},
		{"UserRecordings", testUserRecordings},
		{"UserRecordingsPaging", testUserRecordingsPaging},
		{"ConcurrentCreateRecording", testConcurrentCreateRecording},
		{"RecordingsReopen", testRecordingsReopen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, reopen := open(t)
			t.Cleanup(func() { closeStore(t, s) })
			c.run(t, &harness{Store: s, reopen: reopen})
		})
	}
}

// harness is one case's store.
type harness struct {
	storage.Store
	reopen func(t *testing.T) storage.Store
}

func closeStore(t testing.TB, s storage.Store) {
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// epoch is a time with nanoseconds in a zone that is not UTC, to catch
// backends that keep the zone or lose the milliseconds.
var epoch = time.Date(2031, time.March, 4, 5, 6, 7, 891_234_567, time.FixedZone("UTC+5:30", 5*3600+1800))

// at returns epoch plus d.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// hashOf returns the 32-byte token hash a test refers to by name.
func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newUser creates the user name with its defaults.
func (h *harness) newUser(t *testing.T, name string) storage.User {
	t.Helper()
	u := storage.User{Name: name, Email: name + "@example.org", PasswordHash: "$argon2id$v=19$" + name, Created: epoch}
	if err := h.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// newSession creates the session of user named token, expiring at expires.
func (h *harness) newSession(t *testing.T, user, token string, expires time.Time) storage.Session {
	t.Helper()
	s := storage.Session{TokenHash: hashOf(token), User: user, Created: epoch, Expires: expires}
	if err := h.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession(%s, %s): %v", user, token, err)
	}
	return s
}

// wantErr fails unless err is want (errors.Is); want nil means success.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// refused fails unless err refuses what only a caller's bug asks for: an
// error that is neither ErrNotFound nor ErrConflict.
func refused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		t.Errorf("%s: err = %v, want a refusal that is neither not found nor conflict", what, err)
	}
}

// sameTime fails unless got is in UTC and names the instant of want to the
// millisecond, the precision every backend promises.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
	if !got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("%s = %v, want %v to the millisecond", what, got, want.UTC())
	}
}

func testPing(t *testing.T, h *harness) {
	wantErr(t, "Ping", h.Ping(t.Context()), nil)
}

func testReopen(t *testing.T, h *harness) {
	ctx := t.Context()
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	h.newSession(t, "alice", "t1", at(time.Hour))
	if _, err := h.RequestFriend(ctx, "alice", "bob", epoch); err != nil {
		t.Fatalf("RequestFriend: %v", err)
	}
	closeStore(t, h.Store)

	s := h.reopen(t)
	t.Cleanup(func() { closeStore(t, s) })
	if u, err := s.GetUser(ctx, "alice"); err != nil || u.Email != "alice@example.org" {
		t.Errorf("after reopen GetUser = %+v, %v", u, err)
	}
	if _, err := s.GetSession(ctx, hashOf("t1"), epoch); err != nil {
		t.Errorf("after reopen GetSession: %v", err)
	}
	fs, err := s.ListFriends(ctx, "bob")
	if err != nil || len(fs) != 1 || fs[0].State != storage.FriendPending {
		t.Errorf("after reopen ListFriends(bob) = %+v, %v", fs, err)
	}
	// Writes work too: the schema is current, not half-migrated again.
	wantErr(t, "CreateUser after reopen", s.CreateUser(ctx, storage.User{Name: "carol", Created: epoch}), nil)
}

// race runs f(i) for i in [0, n) at once and returns how many succeeded and
// how many failed with want; any other error fails the test.
func race(t *testing.T, n int, want error, f func(i int) error) (ok, failed int) {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			failed++
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	return ok, failed
}
