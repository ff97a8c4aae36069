package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
)

// slowMemberLag bounds the time from a msg.send going out to its push
// reaching every member who reads. It is generous for -race on a loaded
// two-CPU machine; what it rules out is fan-out that waits for a member who
// does not read (a blocking write, or a write deadline of seconds).
const slowMemberLag = 2 * time.Second

// TestSlowMemberDoesNotDelayOthers: in a group of many online members, one
// who stops reading fills their queue and is disconnected, and meanwhile
// every other member gets every message promptly — before the slow one is
// dropped as well as after — and no one else is dropped.
func TestSlowMemberDoesNotDelayOthers(t *testing.T) {
	cfg := testutil.TestConfig(t, "sqlite")
	cfg.Net.MaxFrame = 16 << 10
	cfg.Chat.MaxText = 4 << 10
	// A queue of 256 messages: enough that members who read are never
	// dropped under this load (at 16 messages, -race on two CPUs drops
	// whole event loops' worth of them), small enough that the member who
	// does not read is dropped within a few thousand messages.
	cfg.Net.OutboundQueue = 1 << 20
	e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
	owner, _ := e.newUser("boss")
	call(t, owner, protocol.TypeGroupCreate, protocol.GroupName{Group: "crowd"}, nil)
	const fast = 24
	names := e.crowd(owner, "crowd", "quick", fast, "snail")

	slow := e.rawLogin("snail")
	_ = slow.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)

	// sentAt holds when each client_msg_id went out; each fast member
	// records the worst lag it saw and how many messages it got.
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	type seen struct {
		n     int
		last  int64
		worst time.Duration
		id    string
		bad   string
	}
	got := make([]seen, fast)
	for i, name := range names {
		c, _ := e.login(name)
		go func() {
			for {
				select {
				case p := <-c.Pushes():
					var m protocol.Message
					if p.Type != protocol.PushMsgNew || protocol.DecodeData(p.Data, &m) != nil {
						continue
					}
					now := time.Now()
					mu.Lock()
					s := &got[i]
					if m.Seq != s.last+1 && s.bad == "" {
						s.bad = fmt.Sprintf("seq %d after %d", m.Seq, s.last)
					}
					s.n, s.last = s.n+1, m.Seq
					if lag := now.Sub(sentAt[m.ClientMsgID]); lag > s.worst {
						s.worst, s.id = lag, m.ClientMsgID
					}
					mu.Unlock()
				case <-c.Done():
					return
				}
			}
		}()
	}

	text := strings.Repeat("y", 4000)
	crowd := protocol.Conversation{Group: "crowd"}
	sent, droppedAt := 0, 0
	for droppedAt == 0 || sent < droppedAt+200 {
		if sent >= 5000 {
			t.Fatal("the member who does not read was not disconnected")
		}
		if droppedAt == 0 && e.srv.Stats().SlowConsumers > 0 {
			droppedAt = sent
		}
		ids := make([]string, 8) // pipelined, so that commits are shared
		mu.Lock()
		for i := range ids {
			ids[i] = fmt.Sprintf("c-%d", sent)
			sentAt[ids[i]] = time.Now()
			sent++
		}
		mu.Unlock()
		sendPipelined(t, owner, crowd, text, ids...)
	}
	t.Logf("the slow member was dropped after about %d of %d messages", droppedAt, sent)

	wait := time.Now().Add(slowMemberLag + 5*time.Second)
	for {
		mu.Lock()
		done := true
		for _, s := range got {
			done = done && s.n == sent
		}
		mu.Unlock()
		if done || time.Now().After(wait) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range got {
		switch {
		case s.bad != "":
			t.Errorf("%s: %s", names[i], s.bad)
		case s.n != sent:
			t.Errorf("%s got %d of %d messages", names[i], s.n, sent)
		case s.worst > slowMemberLag:
			t.Errorf("%s got %s %v after it was sent (more than %v)", names[i], s.id, s.worst.Round(time.Millisecond), slowMemberLag)
		}
	}
	if n := e.srv.Stats().SlowConsumers; n != 1 {
		t.Errorf("%d connections dropped as slow consumers, want only the one that does not read", n)
	}
	worst := time.Duration(0)
	for _, s := range got {
		worst = max(worst, s.worst)
	}
	t.Logf("worst lag from send to push at a member who reads: %v", worst.Round(time.Millisecond))
}
