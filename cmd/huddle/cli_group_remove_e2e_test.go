package main

import (
	"testing"
)

// TestCLIGroupRemoveEndToEnd: group remove against a real huddled. The
// removed member hears of it on listen, and from then on may neither send
// to the group nor read it (forbidden, exit 1); the others go on.
func TestCLIGroupRemoveEndToEnd(t *testing.T) {
	e := startE2E(t)
	homes := e.users("dana", "eli", "fern")
	dana, eli, fern := homes[0], homes[1], homes[2]

	e.ok(dana, "", "group", "create", "ops")
	if m := jsonLines(t, e.ok(dana, "", "--json", "group", "add", "ops", "eli", "fern"))[0]; m["members"] != 3.0 {
		t.Fatalf("group add = %v", m)
	}
	e.ok(eli, "", "group", "send", "ops", "hello ops")

	l := e.listen(eli, "--count", "1", "--timeout", "30s")
	out := jsonLines(t, e.ok(dana, "", "--json", "group", "remove", "ops", "eli"))
	if len(out) != 1 || out[0]["group"] != "ops" || out[0]["members"] != 2.0 {
		t.Fatalf("group remove --json = %v", out)
	}
	if users, _ := out[0]["users"].([]any); len(users) != 1 || users[0] != "eli" {
		t.Fatalf("group remove --json users = %v", out[0]["users"])
	}
	p := l.pushes(t)
	if len(p) != 1 || p[0]["type"] != "group.removed" {
		t.Fatalf("eli's pushes = %v", p)
	}
	if d := pushData(t, p[0]); d["group"] != "ops" || d["user"] != "eli" || d["by"] != "dana" {
		t.Fatalf("group.removed data = %v", d)
	}

	if code := errorCode(t, e.fails(1, eli, "", "--json", "group", "send", "ops", "still here?")); code != "forbidden" {
		t.Fatalf("removed member's group send: %s", code)
	}
	if code := errorCode(t, e.fails(1, eli, "", "--json", "group", "history", "ops")); code != "forbidden" {
		t.Fatalf("removed member's group history: %s", code)
	}
	if out := e.ok(eli, "", "group", "list"); out != "no groups yet\n" {
		t.Fatalf("eli's groups after removal = %q", out)
	}
	members := jsonLines(t, e.ok(fern, "", "--json", "group", "members", "ops"))
	if len(members) != 2 || members[0]["user"] != "dana" || members[1]["user"] != "fern" {
		t.Fatalf("group members after removal = %v", members)
	}
	if m := jsonLines(t, e.ok(fern, "", "--json", "group", "send", "ops", "carry on"))[0]; m["seq"] != 2.0 {
		t.Fatalf("fern's send after the removal = %v", m)
	}
	// A plain member may remove nobody, the owner least of all.
	if code := errorCode(t, e.fails(1, fern, "", "--json", "group", "remove", "ops", "dana")); code != "forbidden" {
		t.Fatalf("member removing the owner: %s", code)
	}
}
