package sqlstore

import (
	"fmt"
	"slices"
	"testing"

	"huddle/storage"
)

// unknown asks for each name of the fresh messages once, skips what it has
// seen, settled messages and duplicates within the batch, and the empty recipient of a group.
func TestKnownUsersAsksEachNameOnce(t *testing.T) {
	var k knownUsers
	msgs := []storage.Message{
		{Sender: "ann", Recipient: "bob"},
		{Sender: "bob", Recipient: "ann"},
		{Sender: "cid", Recipient: ""},    // a group message
		{Sender: "dan", Recipient: "eve"}, // settled: stored before
		{Sender: "fay", Recipient: "gus"}, // a duplicate of message 0 in the batch
	}
	fate := []int{isNew, isNew, isNew, isSettled, 0}
	if got, want := k.unknown(msgs, fate), []any{"ann", "bob", "cid"}; !slices.Equal(got, want) {
		t.Fatalf("unknown = %v, want %v", got, want)
	}
	k.add([]string{"ann", "cid"})
	if got, want := k.unknown(msgs, fate), []any{"bob"}; !slices.Equal(got, want) {
		t.Fatalf("after add: unknown = %v, want %v", got, want)
	}
}

// The set holds at most maxKnownUsers names: the add that would pass the
// bound starts it afresh, so the names seen before are asked for again.
func TestKnownUsersBound(t *testing.T) {
	var k knownUsers
	names := make([]string, maxKnownUsers)
	for i := range names {
		names[i] = fmt.Sprint("u", i)
	}
	k.add(names)
	if len(k.names) != maxKnownUsers {
		t.Fatalf("%d names known, want %d", len(k.names), maxKnownUsers)
	}
	old := []storage.Message{{Sender: "u0", Recipient: "u1"}}
	if got := k.unknown(old, []int{isNew}); len(got) != 0 {
		t.Fatalf("at the bound: unknown = %v, want none", got)
	}
	k.add([]string{"new"})
	if len(k.names) != 1 {
		t.Fatalf("past the bound: %d names known, want 1 (a fresh set)", len(k.names))
	}
	if got, want := k.unknown(old, []int{isNew}), []any{"u0", "u1"}; !slices.Equal(got, want) {
		t.Fatalf("past the bound: unknown = %v, want %v", got, want)
	}
}
