package main

import (
	"strings"
	"testing"
)

// errorCode returns the code of a --json error on stderr.
func errorCode(t *testing.T, stderr string) string {
	t.Helper()
	m := jsonLines(t, stderr)
	if len(m) != 1 {
		t.Fatalf("stderr %q: want one JSON error", stderr)
	}
	e, _ := m[0]["error"].(map[string]any)
	code, _ := e["code"].(string)
	if code == "" || e["message"] == "" {
		t.Fatalf("stderr %q: no error code and message", stderr)
	}
	return code
}

// wantSeqs checks history --json items: the seqs in order, each with the
// guaranteed fields.
func wantSeqs(t *testing.T, items []map[string]any, seqs ...float64) {
	t.Helper()
	if len(items) != len(seqs) {
		t.Fatalf("history = %v, want seqs %v", items, seqs)
	}
	for i, it := range items {
		if it["seq"] != seqs[i] {
			t.Fatalf("history item %d = %v, want seq %v", i, it, seqs[i])
		}
		for _, k := range []string{"from", "text", "ts"} {
			if s, _ := it[k].(string); s == "" {
				t.Fatalf("history item %v lacks %q", it, k)
			}
		}
	}
}

func pushData(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	d, ok := p["data"].(map[string]any)
	if !ok {
		t.Fatalf("push without data: %v", p)
	}
	return d
}

// hasUnread reports whether unread --json output lists the conversation
// with the user or group called name.
func hasUnread(t *testing.T, out, name string) bool {
	t.Helper()
	for _, u := range jsonLines(t, out) {
		if u["user"] == name || u["group"] == name {
			return true
		}
	}
	return false
}

func TestCLIChatEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("alice", "bob", "carol")
	alice, bob, carol := homes[0], homes[1], homes[2]

	// Private chat: bob, listening, gets alice's message as msg.new.
	l := e.listen(bob, "--count", "1", "--timeout", "30s")
	sent := jsonLines(t, e.ok(alice, "", "--json", "send", "bob", "hello bob"))
	if len(sent) != 1 || sent[0]["seq"] != 1.0 {
		t.Fatalf("send --json = %v", sent)
	}
	p := l.pushes(t)
	if len(p) != 1 || p[0]["type"] != "msg.new" {
		t.Fatalf("bob's pushes = %v", p)
	}
	if d := pushData(t, p[0]); d["from"] != "alice" || d["to"] != "bob" || d["text"] != "hello bob" || d["seq"] != 1.0 {
		t.Fatalf("msg.new data = %v", d)
	}
	if out := e.ok(alice, "", "send", "bob", "how", "are", "you?"); out != "sent to bob (#2)\n" {
		t.Fatalf("send = %q", out)
	}
	if m := jsonLines(t, e.ok(bob, "", "send", "alice", "fine, thanks", "--json"))[0]; m["seq"] != 3.0 {
		t.Fatalf("bob's send = %v", m)
	}

	// history is one conversation seen from either side, oldest first,
	// and marks it read.
	if !hasUnread(t, e.ok(bob, "", "--json", "unread"), "alice") {
		t.Fatal("bob has no unread messages from alice")
	}
	items := jsonLines(t, e.ok(bob, "", "--json", "history", "alice"))
	wantSeqs(t, items, 1, 2, 3)
	if items[0]["from"] != "alice" || items[0]["text"] != "hello bob" || items[1]["text"] != "how are you?" || items[2]["from"] != "bob" {
		t.Fatalf("bob's history = %v", items)
	}
	wantSeqs(t, jsonLines(t, e.ok(alice, "", "--json", "history", "bob")), 1, 2, 3)
	wantSeqs(t, jsonLines(t, e.ok(alice, "", "--json", "history", "bob", "--limit", "2")), 2, 3)
	wantSeqs(t, jsonLines(t, e.ok(alice, "", "--json", "history", "bob", "--before", "3", "--limit", "1")), 2)
	wantSeqs(t, jsonLines(t, e.ok(alice, "", "--json", "history", "bob", "--after", "1")), 2, 3)
	out := e.ok(alice, "", "history", "bob")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "#1 ") || !strings.HasSuffix(lines[0], " alice: hello bob") ||
		!strings.HasPrefix(lines[2], "#3 ") || !strings.HasSuffix(lines[2], " bob: fine, thanks") {
		t.Fatalf("history = %q", out)
	}
	if out := e.ok(carol, "", "history", "alice"); out != "no messages\n" {
		t.Fatalf("carol's history with alice = %q", out)
	}
	if hasUnread(t, e.ok(bob, "", "--json", "unread"), "alice") {
		t.Fatal("alice's messages still unread after bob's history")
	}
	wantSeqs(t, jsonLines(t, e.ok(bob, "", "--json", "history", "alice", "--before", "2")), 1)
	if hasUnread(t, e.ok(bob, "", "--json", "unread"), "alice") {
		t.Fatal("an older page of history moved the read marker back")
	}
	if out := e.ok(carol, "", "unread"); out != "no unread messages\n" {
		t.Fatalf("carol's unread = %q", out)
	}
	jsonLines(t, e.ok(bob, "", "unread", "--json"))

	// Server errors: exit 1 with a JSON error.
	if code := errorCode(t, e.fails(1, alice, "", "--json", "send", "nobody", "hello")); code != "not_found" {
		t.Fatalf("send to an unknown user: %s", code)
	}
	if code := errorCode(t, e.fails(1, alice, "", "--json", "group", "send", "nogroup", "hello")); code != "not_found" {
		t.Fatalf("send to an unknown group: %s", code)
	}

	// Groups: alice creates devs and adds bob.
	if m := jsonLines(t, e.ok(alice, "", "--json", "group", "create", "devs"))[0]; m["group"] != "devs" || m["owner"] != "alice" {
		t.Fatalf("group create = %v", m)
	}
	if code := errorCode(t, e.fails(1, bob, "", "--json", "group", "create", "devs")); code != "conflict" {
		t.Fatalf("group create of a taken name: %s", code)
	}
	e.ok(alice, "", "group", "add", "devs", "bob")
	members := jsonLines(t, e.ok(bob, "", "--json", "group", "members", "devs"))
	if len(members) != 2 || members[0]["user"] != "alice" || members[0]["role"] != "owner" || members[1]["user"] != "bob" || members[1]["role"] != "member" {
		t.Fatalf("group members = %v", members)
	}
	if g := jsonLines(t, e.ok(bob, "", "--json", "group", "list")); len(g) != 1 || g[0]["group"] != "devs" {
		t.Fatalf("bob's group list = %v", g)
	}

	l = e.listen(bob, "--count", "1", "--timeout", "30s")
	if m := jsonLines(t, e.ok(alice, "", "--json", "group", "send", "devs", "hi team"))[0]; m["seq"] != 1.0 {
		t.Fatalf("group send = %v", m)
	}
	p = l.pushes(t)
	if len(p) != 1 || p[0]["type"] != "msg.new" {
		t.Fatalf("bob's pushes = %v", p)
	}
	if d := pushData(t, p[0]); d["from"] != "alice" || d["group"] != "devs" || d["text"] != "hi team" || d["seq"] != 1.0 {
		t.Fatalf("group msg.new data = %v", d)
	}
	if m := jsonLines(t, e.ok(bob, "", "group", "send", "devs", "hello", "--json"))[0]; m["seq"] != 2.0 {
		t.Fatalf("bob's group send = %v", m)
	}
	items = jsonLines(t, e.ok(alice, "", "--json", "group", "history", "devs"))
	wantSeqs(t, items, 1, 2)
	if items[0]["from"] != "alice" || items[1]["from"] != "bob" || items[1]["text"] != "hello" {
		t.Fatalf("group history = %v", items)
	}
	if !hasUnread(t, e.ok(bob, "", "--json", "unread"), "devs") {
		t.Fatal("bob has no unread messages in devs")
	}
	if out := e.ok(bob, "", "group", "history", "devs", "--after", "1"); !strings.HasPrefix(out, "#2 ") || !strings.HasSuffix(out, " bob: hello\n") {
		t.Fatalf("group history --after 1 = %q", out)
	}

	if hasUnread(t, e.ok(bob, "", "--json", "unread"), "devs") {
		t.Fatal("devs still unread after bob's group history")
	}

	// carol is not a member: she may neither write nor read.
	if code := errorCode(t, e.fails(1, carol, "", "--json", "group", "send", "devs", "let me in")); code != "forbidden" && code != "not_found" {
		t.Fatalf("non-member group send: %s", code)
	}
	e.fails(1, carol, "", "group", "history", "devs")
	e.fails(1, bob, "", "group", "add", "devs", "carol") // bob is no admin

	e.ok(alice, "", "group", "role", "devs", "bob", "admin")
	e.ok(bob, "", "group", "add", "devs", "carol")
	members = jsonLines(t, e.ok(carol, "", "--json", "group", "members", "devs"))
	if len(members) != 3 || members[1]["user"] != "bob" || members[1]["role"] != "admin" || members[2]["user"] != "carol" {
		t.Fatalf("group members = %v", members)
	}
	e.ok(carol, "", "group", "leave", "devs")
	e.fails(1, carol, "", "group", "send", "devs", "still here?")
	e.fails(1, bob, "", "group", "delete", "devs") // owner only
	e.ok(alice, "", "group", "delete", "devs")
	if out := e.ok(bob, "", "group", "list"); out != "no groups yet\n" {
		t.Fatalf("bob's groups after delete = %q", out)
	}

	// Usage errors: exit 2, nothing sent.
	e.fails(2, alice, "", "send", "bob")
	e.fails(2, alice, "", "history", "bob", "--limit", "0")
	e.fails(2, alice, "", "group", "role", "devs", "bob", "owner")
	if code := errorCode(t, e.fails(2, alice, "", "--json", "group", "add", "devs")); code != "bad_request" {
		t.Fatalf("usage error code %s", code)
	}
}
