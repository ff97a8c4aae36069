package server_test

import (
	"fmt"
	"testing"
	"time"

	"huddle/protocol"
)

// TestGroupHistoryPaging pages a group conversation with before, after and
// limit, up to the largest limit, as a member sees it.
func TestGroupHistoryPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		o, _ := e.newUser("gail")
		m, _ := e.newUser("hank")
		call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "pages"}, nil)
		call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "pages", Users: []string{"hank"}}, nil)
		g := protocol.Conversation{Group: "pages"}
		const n = protocol.MaxHistoryLimit + 10
		for i := 1; i <= n; i++ {
			from := o
			if i%3 == 0 {
				from = m
			}
			if r := send(t, from, g, fmt.Sprintf("g-%d", i), fmt.Sprintf("text %d", i)); r.Seq != int64(i) {
				t.Fatalf("message %d got seq %d", i, r.Seq)
			}
		}
		page := func(q protocol.MsgHistory) []protocol.Message {
			t.Helper()
			q.Conversation = g
			return history(t, m, q)
		}
		wantSeqs(t, "default limit", page(protocol.MsgHistory{}), n-protocol.DefaultHistory+1, n)
		wantSeqs(t, "newest 5", page(protocol.MsgHistory{Limit: 5}), n-4, n)
		wantSeqs(t, "before 100", page(protocol.MsgHistory{Limit: 5, Before: 100}), 95, 99)
		wantSeqs(t, "before 3", page(protocol.MsgHistory{Limit: 5, Before: 3}), 1, 2)
		wantSeqs(t, "after 0", page(protocol.MsgHistory{Limit: 3, After: new(int64(0))}), 1, 3)
		wantSeqs(t, "after 7", page(protocol.MsgHistory{Limit: 4, After: new(int64(7))}), 8, 11)
		wantSeqs(t, "between", page(protocol.MsgHistory{Limit: 50, After: new(int64(40)), Before: 45}), 41, 44)
		wantSeqs(t, "max limit", page(protocol.MsgHistory{Limit: protocol.MaxHistoryLimit}), n-protocol.MaxHistoryLimit+1, n)
		wantSeqs(t, "max limit after 0", page(protocol.MsgHistory{Limit: protocol.MaxHistoryLimit, After: new(int64(0))}), 1, protocol.MaxHistoryLimit)
		if ms := page(protocol.MsgHistory{Limit: 5, After: new(int64(n))}); len(ms) != 0 {
			t.Fatalf("after the newest: %v", seqs(ms))
		}
		callErr(t, m, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: g, Limit: protocol.MaxHistoryLimit + 1}, protocol.CodeBadRequest)

		// Each message is as sent, oldest first.
		ms := page(protocol.MsgHistory{Limit: 3, After: new(int64(1))})
		for i, msg := range ms {
			seq := i + 2
			from := "gail"
			if seq%3 == 0 {
				from = "hank"
			}
			if msg.Group != "pages" || msg.From != from || msg.Text != fmt.Sprintf("text %d", seq) ||
				msg.ClientMsgID != fmt.Sprintf("g-%d", seq) || msg.TS.IsZero() {
				t.Fatalf("seq %d: %+v", seq, msg)
			}
		}
		var r protocol.MsgHistoryReply
		call(t, m, protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: g, Limit: 1, Before: 2}, &r)
		if r.LastSeq != n {
			t.Fatalf("last_seq %d, want %d", r.LastSeq, n)
		}
	})
}

// TestGroupMembersAndAdmins: a plain member may neither add nor remove; an
// admin may do both, and the users concerned hear of it; the owner's role
// is nobody else's to change.
func TestGroupMembersAndAdmins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		o, _ := e.newUser("iris")
		a, _ := e.newUser("jude")
		p, _ := e.newUser("kurt")
		n, _ := e.newUser("lena")
		call(t, o, protocol.TypeGroupCreate, protocol.GroupName{Group: "club"}, nil)
		call(t, o, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "club", Users: []string{"jude", "kurt"}}, nil)

		callErr(t, p, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "club", Users: []string{"lena"}}, protocol.CodeForbidden)
		callErr(t, p, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "club", Users: []string{"jude"}}, protocol.CodeForbidden)
		noPush(t, n, protocol.PushGroupAdded, 100*time.Millisecond)

		call(t, o, protocol.TypeGroupRole, protocol.GroupRole{Group: "club", User: "jude", Role: protocol.RoleAdmin}, nil)
		var added protocol.GroupUsersReply
		call(t, a, protocol.TypeGroupAdd, protocol.GroupUsers{Group: "club", Users: []string{"lena"}}, &added)
		if added.Members != 4 || len(added.Users) != 1 || added.Users[0] != "lena" {
			t.Fatalf("admin's add: %+v", added)
		}
		var ev protocol.GroupEvent
		expectPush(t, n, protocol.PushGroupAdded, &ev)
		if ev.Group != "club" || ev.User != "lena" || ev.By != "jude" {
			t.Fatalf("group.added to lena: %+v", ev)
		}
		// The new member is one at once: she sends and reads.
		if r := send(t, n, protocol.Conversation{Group: "club"}, "n1", "hi club"); r.Seq != 1 {
			t.Fatalf("lena's first seq %d", r.Seq)
		}
		var msg protocol.Message
		expectPush(t, o, protocol.PushMsgNew, &msg)
		if msg.From != "lena" || msg.Group != "club" {
			t.Fatalf("owner got %+v", msg)
		}

		callErr(t, a, protocol.TypeGroupRole, protocol.GroupRole{Group: "club", User: "iris", Role: protocol.RoleMember}, protocol.CodeForbidden)
		call(t, a, protocol.TypeGroupRemove, protocol.GroupUsers{Group: "club", Users: []string{"kurt"}}, nil)
		expectPush(t, p, protocol.PushGroupRemoved, &ev)
		if ev.Group != "club" || ev.User != "kurt" || ev.By != "jude" {
			t.Fatalf("group.removed to kurt: %+v", ev)
		}
		var members protocol.GroupMembersReply
		call(t, n, protocol.TypeGroupMembers, protocol.GroupName{Group: "club"}, &members)
		got := make([]string, len(members.Members))
		for i, m := range members.Members {
			got[i] = m.User + ":" + m.Role
		}
		if fmt.Sprint(got) != "[iris:owner jude:admin lena:member]" {
			t.Fatalf("members %v", got)
		}
		var list protocol.GroupListReply
		call(t, p, protocol.TypeGroupList, nil, &list)
		if len(list.Groups) != 0 {
			t.Fatalf("kurt's groups after removal: %+v", list.Groups)
		}
		call(t, o, protocol.TypeGroupList, nil, &list)
		if len(list.Groups) != 1 || list.Groups[0].Members != 3 {
			t.Fatalf("owner's groups: %+v", list.Groups)
		}
	})
}

// TestChatNotFound: the bad inputs that need the database to be told apart
// (an unknown user or group) are not_found on both backends, and leave
// nothing stored.
func TestChatNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a, _ := e.newUser("mira")
		for _, tc := range []struct {
			name string
			typ  string
			data any
		}{
			{"send to an unknown user", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{User: "nobody"}, ClientMsgID: "1", Text: "hi"}},
			{"send to an unknown group", protocol.TypeMsgSend, protocol.MsgSend{Conversation: protocol.Conversation{Group: "nogroup"}, ClientMsgID: "2", Text: "hi"}},
			{"history of an unknown group", protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: protocol.Conversation{Group: "nogroup"}}},
			{"read in an unknown group", protocol.TypeMsgRead, protocol.MsgRead{Conversation: protocol.Conversation{Group: "nogroup"}, Seq: 1}},
			{"members of an unknown group", protocol.TypeGroupMembers, protocol.GroupName{Group: "nogroup"}},
			{"add to an unknown group", protocol.TypeGroupAdd, protocol.GroupUsers{Group: "nogroup", Users: []string{"mira"}}},
		} {
			t.Run(tc.name, func(t *testing.T) { callErr(t, a, tc.typ, tc.data, protocol.CodeNotFound) })
		}
		// The ids refused above are free: nothing was stored under them.
		e.register(e.dial(), "nobody")
		if r := send(t, a, protocol.Conversation{User: "nobody"}, "1", "hi"); r.Seq != 1 || r.Duplicate {
			t.Fatalf("send after the user exists: %+v", r)
		}
		call(t, a, protocol.TypeGroupCreate, protocol.GroupName{Group: "nogroup"}, nil)
		if r := send(t, a, protocol.Conversation{Group: "nogroup"}, "2", "hi"); r.Seq != 1 || r.Duplicate {
			t.Fatalf("send after the group exists: %+v", r)
		}
	})
}
