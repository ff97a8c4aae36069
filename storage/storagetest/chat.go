package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/storage"
)

// msg returns a message from sender to to, a user, or a group's or a
// meeting's conversation ("g:…", "m:…"), with client_msg_id id.
func msg(sender, to, id string) storage.Message {
	m := storage.Message{Sender: sender, ClientMsgID: id, Body: "body of " + id, Created: at(time.Minute)}
	if strings.HasPrefix(to, "g:") || strings.HasPrefix(to, "m:") {
		m.Conversation = to
	} else {
		m.Conversation, m.Recipient = storage.PrivateConversation(sender, to), to
	}
	return m
}

// appendOK appends msgs and fails unless that works; it returns the outcomes.
func (h *harness) appendOK(t *testing.T, msgs ...storage.Message) []storage.Appended {
	t.Helper()
	out, err := h.AppendMessages(t.Context(), msgs)
	if err != nil {
		t.Fatalf("AppendMessages: %v", err)
	}
	if len(out) != len(msgs) {
		t.Fatalf("AppendMessages returned %d outcomes for %d messages", len(out), len(msgs))
	}
	return out
}

// seqs fails unless conv holds exactly the client_msg_ids want, in seq
// order, with seqs 1, 2, 3…
func (h *harness) seqs(t *testing.T, conv string, want ...string) {
	t.Helper()
	ms, err := h.History(t.Context(), conv, storage.HistoryQuery{Limit: 10000})
	if err != nil {
		t.Fatalf("History(%s): %v", conv, err)
	}
	got := make([]string, len(ms))
	for i, m := range ms {
		got[i] = m.ClientMsgID
		if m.Seq != int64(i+1) {
			t.Errorf("History(%s)[%d].Seq = %d, want %d", conv, i, m.Seq, i+1)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("History(%s) = %v, want %v", conv, got, want)
	}
	if last, err := h.LastSeq(t.Context(), conv); err != nil || last != int64(len(want)) {
		t.Errorf("LastSeq(%s) = %d, %v; want %d", conv, last, err, len(want))
	}
}

// unread fails unless user's unread counts are want, in "conv:count:last" form.
func (h *harness) unread(t *testing.T, user string, want ...string) {
	t.Helper()
	us, err := h.UnreadCounts(t.Context(), user)
	if err != nil {
		t.Fatalf("UnreadCounts(%s): %v", user, err)
	}
	got := make([]string, len(us))
	for i, u := range us {
		got[i] = fmt.Sprintf("%s:%d:%d", u.Conversation, u.Count, u.LastSeq)
	}
	if !slices.Equal(got, want) {
		t.Errorf("UnreadCounts(%s) = %v, want %v", user, got, want)
	}
}

// Seqs are gapless per conversation, assigned in batch order, across
// batches that mix conversations.
func testAppendSeqs(t *testing.T, h *harness) {
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	g := h.newGroup(t, "team", "alice")
	gc := storage.GroupConversation(g.ID)
	ab, ac := storage.PrivateConversation("alice", "bob"), storage.PrivateConversation("alice", "carol")

	out := h.appendOK(t, msg("alice", "bob", "a1"), msg("bob", "alice", "b1"), msg("alice", gc, "a2"),
		msg("carol", "alice", "c1"), msg("alice", "bob", "a3"))
	want := []int64{1, 2, 1, 1, 3}
	for i, o := range out {
		if o.Seq != want[i] || o.Duplicate || o.Err != nil {
			t.Errorf("batch 1 [%d] = %+v, want seq %d", i, o, want[i])
		}
		sameTime(t, "Appended.Created", o.Created, at(time.Minute))
	}
	out = h.appendOK(t, msg("bob", gc, "b2"), msg("bob", "alice", "b3"), msg("alice", gc, "a4"))
	want = []int64{2, 4, 3}
	for i, o := range out {
		if o.Seq != want[i] || o.Duplicate || o.Err != nil {
			t.Errorf("batch 2 [%d] = %+v, want seq %d", i, o, want[i])
		}
	}
	h.seqs(t, ab, "a1", "b1", "a3", "b3")
	h.seqs(t, ac, "c1")
	h.seqs(t, gc, "a2", "b2", "a4")
	h.seqs(t, storage.PrivateConversation("bob", "carol"))
	if out, err := h.AppendMessages(t.Context(), nil); err != nil || len(out) != 0 {
		t.Errorf("AppendMessages(nil) = %v, %v", out, err)
	}
}

// A retried client_msg_id returns the original, whether it was stored in an
// earlier batch or earlier in this one; in another conversation it is a
// conflict. Either way nothing new is stored.
func testAppendDuplicates(t *testing.T, h *harness) {
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	first := msg("alice", "bob", "m1")
	first.Created = at(time.Hour)
	h.appendOK(t, first)

	retry := msg("alice", "bob", "m1")
	retry.Body = "changed"
	out := h.appendOK(t,
		retry,                       // stored before
		msg("alice", "bob", "m2"),   // new
		msg("alice", "bob", "m2"),   // earlier in this batch
		msg("alice", "carol", "m1"), // stored before, other conversation
		msg("alice", "carol", "m3"), // new
		msg("alice", "bob", "m3"),   // earlier in this batch, other conversation
		msg("bob", "alice", "m1"),   // another sender's m1 is its own
	)
	want := []storage.Appended{
		{Seq: 1, Duplicate: true},
		{Seq: 2},
		{Seq: 2, Duplicate: true},
		{Err: storage.ErrConflict},
		{Seq: 1},
		{Err: storage.ErrConflict},
		{Seq: 3},
	}
	for i, o := range out {
		if o.Seq != want[i].Seq || o.Duplicate != want[i].Duplicate || o.Err != want[i].Err {
			t.Errorf("[%d] = %+v, want %+v", i, o, want[i])
		}
	}
	sameTime(t, "Created of the stored duplicate", out[0].Created, at(time.Hour))
	sameTime(t, "Created of the batch duplicate", out[2].Created, out[1].Created)
	h.seqs(t, storage.PrivateConversation("alice", "bob"), "m1", "m2", "m1")
	h.seqs(t, storage.PrivateConversation("alice", "carol"), "m3")
	ms, _ := h.History(t.Context(), storage.PrivateConversation("alice", "bob"), storage.HistoryQuery{Limit: 1, Before: 2})
	if len(ms) != 1 || ms[0].Body != "body of m1" {
		t.Errorf("the retry changed the stored message: %+v", ms)
	}

	// A batch of nothing but duplicates stores nothing.
	out = h.appendOK(t, msg("alice", "bob", "m2"), msg("alice", "bob", "m1"))
	if !out[0].Duplicate || out[0].Seq != 2 || !out[1].Duplicate || out[1].Seq != 1 {
		t.Errorf("all-duplicate batch = %+v", out)
	}
	h.seqs(t, storage.PrivateConversation("alice", "bob"), "m1", "m2", "m1")
}

// A batch that fails stores nothing, and the seqs it would have taken are
// the next batch's: no gap.
func testAppendFailsWhole(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	ctx := t.Context()
	ab := storage.PrivateConversation("alice", "bob")
	for _, bad := range []storage.Message{
		msg("nobody", "alice", "x"), // unknown sender
		msg("alice", "nobody", "x"), // unknown recipient
	} {
		_, err := h.AppendMessages(ctx, []storage.Message{msg("alice", "bob", "ok"), bad})
		wantErr(t, fmt.Sprintf("AppendMessages(%s → %s)", bad.Sender, bad.Recipient), err, storage.ErrNotFound)
	}
	for _, bad := range []storage.Message{
		{Conversation: "u:bob:alice", Sender: "alice", Recipient: "bob", ClientMsgID: "x"}, // not the pair's id
		{Conversation: ab, Sender: "alice", ClientMsgID: "x"},                              // no recipient
		{Conversation: "g:1", Sender: "alice", Recipient: "bob", ClientMsgID: "x"},
		{Conversation: ab, Sender: "alice", Recipient: "bob"}, // no client_msg_id
		{Conversation: ab, Sender: "alice", Recipient: "bob", ClientMsgID: strings.Repeat("x", storage.MaxClientMsgIDLen+1)},
	} {
		if _, err := h.AppendMessages(ctx, []storage.Message{msg("alice", "bob", "ok"), bad}); err == nil {
			t.Errorf("AppendMessages(%+v) succeeded", bad)
		}
	}
	h.seqs(t, ab)
	h.unread(t, "bob")
	h.appendOK(t, msg("alice", "bob", "ok"))
	h.seqs(t, ab, "ok")
}

// Batches past the bounds of one statement (rows or bytes) are split
// without changing the outcome; bodies up to 1 MiB round-trip.
func testAppendLargeBatches(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	const n = 2500
	batch := make([]storage.Message, n)
	ids := make([]string, n)
	for i := range batch {
		ids[i] = fmt.Sprintf("m%04d", i)
		batch[i] = msg("alice", "bob", ids[i])
	}
	out := h.appendOK(t, batch...)
	for i, o := range out {
		if o.Seq != int64(i+1) || o.Duplicate {
			t.Fatalf("[%d] = %+v", i, o)
		}
	}
	out = h.appendOK(t, batch...)
	for i, o := range out {
		if o.Seq != int64(i+1) || !o.Duplicate {
			t.Fatalf("again [%d] = %+v", i, o)
		}
	}
	h.seqs(t, storage.PrivateConversation("alice", "bob"), ids...)

	big := make([]storage.Message, 6)
	for i := range big {
		big[i] = msg("bob", "alice", fmt.Sprintf("big%d", i))
		big[i].Body = strings.Repeat(string(rune('a'+i)), 1<<20)
	}
	out = h.appendOK(t, big...)
	if out[5].Seq != n+6 {
		t.Errorf("last big message has seq %d, want %d", out[5].Seq, n+6)
	}
	ms, err := h.History(t.Context(), storage.PrivateConversation("alice", "bob"), storage.HistoryQuery{Limit: 6})
	if err != nil || len(ms) != 6 {
		t.Fatalf("History of the big messages: %d, %v", len(ms), err)
	}
	for i, m := range ms {
		if m.Body != big[i].Body {
			t.Errorf("big message %d came back with %d bytes", i, len(m.Body))
		}
	}
	tooBig := msg("bob", "alice", "too-big")
	tooBig.Body = strings.Repeat("x", 1<<20+1)
	if _, err := h.AppendMessages(t.Context(), []storage.Message{tooBig}); err == nil {
		t.Errorf("a body of 1 MiB + 1 was stored")
	}
}

// Writers appending to one conversation at once all succeed, and its seqs
// stay gapless.
func testConcurrentAppends(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	const writers, batches, size = 4, 5, 10
	var mu sync.Mutex
	seen := map[int64]bool{}
	ok, _ := race(t, writers, nil, func(w int) error {
		for b := range batches {
			batch := make([]storage.Message, size)
			for i := range batch {
				batch[i] = msg("alice", "bob", fmt.Sprintf("w%d-b%d-m%d", w, b, i))
			}
			out, err := h.AppendMessages(t.Context(), batch)
			if err != nil {
				return err
			}
			mu.Lock()
			for _, o := range out {
				if seen[o.Seq] {
					t.Errorf("seq %d handed out twice", o.Seq)
				}
				seen[o.Seq] = true
			}
			mu.Unlock()
		}
		return nil
	})
	if ok != writers {
		t.FailNow()
	}
	const total = writers * batches * size
	if last, err := h.LastSeq(t.Context(), storage.PrivateConversation("alice", "bob")); err != nil || last != total {
		t.Errorf("LastSeq = %d, %v; want %d", last, err, total)
	}
	for seq := int64(1); seq <= total; seq++ {
		if !seen[seq] {
			t.Errorf("seq %d missing", seq)
		}
	}
}

func testHistoryPaging(t *testing.T, h *harness) {
	h.newUser(t, "alice")
	h.newUser(t, "bob")
	conv := storage.PrivateConversation("alice", "bob")
	batch := make([]storage.Message, 10)
	for i := range batch {
		batch[i] = msg("alice", "bob", fmt.Sprint(i+1))
		batch[i].Created = at(time.Duration(i) * time.Second)
	}
	batch[3] = msg("bob", "alice", "4")
	h.appendOK(t, batch...)
	for _, c := range []struct {
		q    storage.HistoryQuery
		want []int64
	}{
		{storage.HistoryQuery{Limit: 3}, []int64{8, 9, 10}},
		{storage.HistoryQuery{Limit: 100}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{storage.HistoryQuery{Before: 8, Limit: 3}, []int64{5, 6, 7}},
		{storage.HistoryQuery{Before: 3, Limit: 5}, []int64{1, 2}},
		{storage.HistoryQuery{Before: 1, Limit: 5}, nil},
		{storage.HistoryQuery{After: 2, Limit: 3, Forward: true}, []int64{3, 4, 5}},
		{storage.HistoryQuery{After: 8, Limit: 5, Forward: true}, []int64{9, 10}},
		{storage.HistoryQuery{After: 10, Limit: 5, Forward: true}, nil},
		{storage.HistoryQuery{After: 2, Before: 9, Limit: 3}, []int64{6, 7, 8}},
		{storage.HistoryQuery{After: 2, Before: 5, Limit: 10}, []int64{3, 4}},
		{storage.HistoryQuery{Before: 100, Limit: 2}, []int64{9, 10}},
	} {
		ms, err := h.History(t.Context(), conv, c.q)
		if err != nil {
			t.Fatalf("History(%+v): %v", c.q, err)
		}
		var got []int64
		for _, m := range ms {
			got = append(got, m.Seq)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("History(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	ms, _ := h.History(t.Context(), conv, storage.HistoryQuery{After: 3, Limit: 1, Forward: true})
	want := batch[3]
	want.Seq = 4
	if len(ms) != 1 || ms[0].Conversation != conv || ms[0].Sender != "bob" || ms[0].Recipient != "alice" ||
		ms[0].ClientMsgID != "4" || ms[0].Body != want.Body || ms[0].Seq != 4 {
		t.Fatalf("History(After 3, Limit 1) = %+v, want %+v", ms, want)
	}
	sameTime(t, "Message.Created", ms[0].Created, want.Created)

	if ms, err := h.History(t.Context(), "u:nobody:none", storage.HistoryQuery{Limit: 5}); err != nil || len(ms) != 0 {
		t.Errorf("History(unknown) = %v, %v; want none", ms, err)
	}
	if _, err := h.History(t.Context(), conv, storage.HistoryQuery{}); err == nil {
		t.Errorf("History with limit 0 succeeded")
	}
}

// The first message of a private conversation gives both users a marker;
// markers only move forward and never past the newest message; unread
// counts leave out the user's own messages.
func testReadMarkers(t *testing.T, h *harness) {
	for _, u := range []string{"alice", "bob", "carol"} {
		h.newUser(t, u)
	}
	ctx := t.Context()
	ab, bc := storage.PrivateConversation("alice", "bob"), storage.PrivateConversation("bob", "carol")
	_, _, err := h.MarkRead(ctx, "alice", ab, 1)
	wantErr(t, "MarkRead before any message", err, storage.ErrNotFound)
	h.unread(t, "alice")

	h.appendOK(t, msg("alice", "bob", "1"), msg("bob", "alice", "2"), msg("alice", "bob", "3"), msg("carol", "bob", "4"))
	h.unread(t, "alice", ab+":1:3")
	h.unread(t, "bob", ab+":2:3", bc+":1:1")
	h.unread(t, "carol")

	mark := func(user, conv string, seq, want int64, wantMoved bool) {
		t.Helper()
		got, moved, err := h.MarkRead(ctx, user, conv, seq)
		if err != nil || got != want || moved != wantMoved {
			t.Errorf("MarkRead(%s, %s, %d) = %d, %v, %v; want %d, %v", user, conv, seq, got, moved, err, want, wantMoved)
		}
	}
	mark("bob", ab, 1, 1, true)
	h.unread(t, "bob", ab+":1:3", bc+":1:1")
	mark("bob", ab, 0, 1, false) // never back
	mark("bob", ab, 1, 1, false) // where it is
	mark("bob", ab, 99, 3, true) // clamped
	h.unread(t, "bob", bc+":1:1")
	mark("bob", ab, 2, 3, false)
	mark("carol", bc, 1, 1, true)
	_, _, err = h.MarkRead(ctx, "carol", ab, 1)
	wantErr(t, "MarkRead by an outsider", err, storage.ErrNotFound)
	h.unread(t, "carol")

	h.appendOK(t, msg("alice", "bob", "5"))
	h.unread(t, "bob", ab+":1:4", bc+":1:1")
	h.unread(t, "alice", ab+":1:4")
	h.unread(t, "nobody")
}
