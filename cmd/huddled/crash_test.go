package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huddle/client"
	"huddle/internal/testutil"
	"huddle/internal/testutil/proc"
	"huddle/protocol"
)

// The crash test holds huddled to DESIGN §2: a msg.send reply means the
// message is durable. It runs huddled as a process of its own on MySQL, puts
// it under chat load from many connections, kills it with SIGKILL in the
// middle and starts it again on the same database. Then every acknowledged
// message must be in history exactly once, at its acknowledged seq; every
// conversation's seqs must run 1..N without a gap; nothing must be there that
// nobody sent; and a send the kill left without a reply must, retried with its
// client_msg_id, come back as the stored original or be stored now, once.

const (
	crashUsers    = 8
	crashSenders  = 16 // connections: the first half send privately, the rest to the group
	crashInFlight = 4  // closed-loop senders sharing each connection
	crashGroup    = "crashers"
	crashPassword = "crash test password"

	// huddled is killed on the ack that reaches both the time and the
	// acks, or at crashMaxLoad whatever the acks.
	crashMinLoad = time.Second
	crashMinAcks = 3000
	crashMaxLoad = 5 * time.Second

	// crashReport bounds the problems of one kind reported one by one.
	crashReport = 10
)

// crashConfig makes password hashing cheap: the test is about messages.
const crashConfig = `http: 127.0.0.1:0
net:
  event_loops: 2
auth:
  argon2_memory_kib: 64
  argon2_time: 1
media:
  port: 0
`

// sentKey names a message the way the server deduplicates it.
type sentKey struct{ user, id string }

// sent is one msg.send of the test.
type sent struct {
	user string
	to   protocol.Conversation // as the sender names it
	conv string                // the conversation's key in the audit
	id   string
	text string
	seq  int64     // the acknowledged seq; 0 while in doubt
	ts   time.Time // the acknowledged time
}

// convSpec is a conversation to audit and the member who reads it.
type convSpec struct {
	key    string
	reader string
	in     protocol.Conversation
}

func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	if runtime.GOOS == "windows" {
		t.Skip("kills huddled with SIGKILL and stops it with SIGTERM")
	}
	dsn := testutil.MySQLDSN(t)
	bin := buildHuddled(t)
	data := t.TempDir()
	config := filepath.Join(data, "huddled.yaml")
	if err := os.WriteFile(config, []byte(crashConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", config, "--store", "mysql:" + dsn, "--data", data}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	users := make([]string, crashUsers)
	for i := range users {
		users[i] = fmt.Sprintf("crash%d", i)
	}

	first := startHuddled(t, bin, args...)
	convs := setUpCrash(t, ctx, first.addr, users)
	sends, took := crashLoad(t, ctx, first, users)

	all := make(map[sentKey]*sent, len(sends))
	var doubts []*sent
	for _, s := range sends {
		all[sentKey{s.user, s.id}] = s
		if s.seq == 0 {
			doubts = append(doubts, s)
		}
	}
	t.Logf("load: %d sends acknowledged in %v, %d in doubt when huddled was killed",
		len(sends)-len(doubts), took.Round(time.Millisecond), len(doubts))

	second := startHuddled(t, bin, args...)
	readers := make(map[string]*client.Client, len(users))
	for _, u := range users {
		readers[u] = crashLogin(t, ctx, second.addr, u)
	}
	found, last := auditCrash(t, ctx, readers, convs, all)

	// Each send in doubt, retried with its client_msg_id, is either the
	// original, stored before the kill, or stored now at the next seq.
	var before, now int
	for _, s := range doubts {
		r, err := readers[s.user].Send(ctx, s.to, s.text, s.id)
		if err != nil {
			t.Errorf("retry %s: %v", s.id, err)
			continue
		}
		if seq := found[sentKey{s.user, s.id}]; seq != 0 {
			before++
			if !r.Duplicate || r.Seq != seq {
				t.Errorf("retry %s, stored at seq %d before the kill: got %+v, want the original as a duplicate", s.id, seq, r)
			}
		} else {
			now++
			if r.Duplicate || r.Seq != last[s.conv]+1 {
				t.Errorf("retry %s, not stored before the kill: got %+v, want it stored at seq %d of %s", s.id, r, last[s.conv]+1, s.conv)
			}
			last[s.conv] = r.Seq
		}
		s.seq, s.ts = r.Seq, r.TS
	}
	t.Logf("after the restart: %d of the sends in doubt had been stored, %d were stored on retry", before, now)
	// Retried once more, each is a duplicate at the same seq.
	for _, s := range doubts {
		r, err := readers[s.user].Send(ctx, s.to, s.text, s.id)
		if err != nil || !r.Duplicate || r.Seq != s.seq {
			t.Errorf("second retry %s: %+v, %v; want a duplicate at seq %d", s.id, r, err, s.seq)
		}
	}
	// Now every send is acknowledged: all must be there, once.
	auditCrash(t, ctx, readers, convs, all)

	for _, c := range readers {
		_ = c.Close()
	}
	if err := second.Stop(15 * time.Second); err != nil {
		t.Errorf("huddled after the restart did not stop cleanly on SIGTERM: %v", err)
	}
}

// setUpCrash registers users and a group of them all, and returns the
// conversations the load writes to: the private ones of users 0 and 1, 2 and
// 3, and so on, and the group's.
func setUpCrash(t *testing.T, ctx context.Context, addr string, users []string) []convSpec {
	t.Helper()
	c, err := client.Dial(ctx, addr, client.WithPushBuffer(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range users {
		if _, err := c.Register(ctx, u, u+"@example.com", crashPassword); err != nil {
			t.Fatalf("register %s: %v", u, err)
		}
	}
	if _, err := c.Login(ctx, users[0], crashPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GroupCreate(ctx, crashGroup); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GroupAdd(ctx, crashGroup, users[1:]...); err != nil {
		t.Fatal(err)
	}
	var convs []convSpec
	for i := 0; i+1 < len(users); i += 2 {
		convs = append(convs, convSpec{key: pairKey(users[i], users[i+1]), reader: users[i], in: client.UserChat(users[i+1])})
	}
	return append(convs, convSpec{key: "#" + crashGroup, reader: users[0], in: client.GroupChat(crashGroup)})
}

func pairKey(a, b string) string { return min(a, b) + "|" + max(a, b) }

// crashLoad runs the senders against d, kills d under the load and returns
// every send made, with how long the load ran. Sender s is user s mod the
// number of users: the first half of the senders write to their partner in a
// pair (so both users of a pair write at once), the rest to the group.
func crashLoad(t *testing.T, ctx context.Context, d *huddled, users []string) ([]*sent, time.Duration) {
	t.Helper()
	type worker struct {
		c     *client.Client
		user  string
		to    protocol.Conversation
		conv  string
		tag   string
		sends []*sent
		err   error
	}
	var workers []*worker
	for s := range crashSenders {
		user := users[s%len(users)]
		to, conv := client.GroupChat(crashGroup), "#"+crashGroup
		if s < crashSenders/2 {
			peer := users[(s%len(users))^1]
			to, conv = client.UserChat(peer), pairKey(user, peer)
		}
		c := crashLogin(t, ctx, d.addr, user)
		for w := range crashInFlight {
			workers = append(workers, &worker{c: c, user: user, to: to, conv: conv, tag: fmt.Sprintf("s%02dw%d", s, w)})
		}
	}

	// The sender whose ack trips the limits kills the server itself, at
	// once: other acks of that batch may still be on their way, which makes
	// sends that are in doubt although stored.
	var acks atomic.Int64
	var killed atomic.Bool
	var killOnce sync.Once
	var took time.Duration
	start := time.Now()
	kill := func() {
		killOnce.Do(func() {
			took = time.Since(start)
			killed.Store(true)
			_ = d.Cmd.Process.Kill()
		})
	}
	onAck := func() {
		if acks.Add(1) >= crashMinAcks && time.Since(start) >= crashMinLoad {
			kill()
		}
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sends, w.err = sendLoop(ctx, w.c, w.user, w.to, w.conv, w.tag, onAck, &killed)
		}()
	}
	loadDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(loadDone)
	}()
	select {
	case <-loadDone: // killed, or every sender failed: their errors say why
	case <-time.After(crashMaxLoad):
	}
	kill()
	d.Kill() // waits for the end
	<-loadDone

	var sends []*sent
	for _, w := range workers {
		if w.err != nil {
			t.Errorf("sender %s: %v", w.tag, w.err)
		}
		sends = append(sends, w.sends...)
	}
	if n := acks.Load(); n < 100 {
		t.Fatalf("only %d sends acknowledged in %v: too little load to test a crash", n, took)
	}
	return sends, took
}

// sendLoop sends one message after the other until the connection is lost
// to the kill, and returns every send it made: those with a seq were
// acknowledged, the last one is in doubt.
func sendLoop(ctx context.Context, c *client.Client, user string, to protocol.Conversation, conv, tag string,
	onAck func(), killed *atomic.Bool) ([]*sent, error) {
	var sends []*sent
	var prev int64
	for n := 1; ; n++ {
		s := &sent{user: user, to: to, conv: conv, id: fmt.Sprintf("%s-%d", tag, n)}
		s.text = fmt.Sprintf("%s says %s", user, s.id)
		sends = append(sends, s)
		r, err := c.Send(ctx, to, s.text, s.id)
		switch {
		case err == nil:
		case errors.Is(err, client.ErrConnectionLost) && killed.Load():
			return sends, nil
		default:
			return sends, fmt.Errorf("send %s before the kill: %w", s.id, err)
		}
		// One sender's messages are acknowledged one after the other, so
		// each lands after the one before.
		if r.Duplicate || r.Seq <= prev {
			return sends, fmt.Errorf("send %s: reply %+v after seq %d; want a new message after it", s.id, r, prev)
		}
		s.seq, s.ts, prev = r.Seq, r.TS, r.Seq
		onAck()
	}
}

func crashLogin(t *testing.T, ctx context.Context, addr, user string) *client.Client {
	t.Helper()
	c, err := client.Dial(ctx, addr, client.WithPushBuffer(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Login(ctx, user, crashPassword); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// auditCrash reads every conversation from its start and checks it against
// what was sent: seqs 1..N without a gap, each message one that was sent to
// that conversation with that text, none stored twice, and each acknowledged
// send there at its seq and time. It returns the seq each send was found at
// and each conversation's last seq.
func auditCrash(t *testing.T, ctx context.Context, readers map[string]*client.Client, convs []convSpec,
	sends map[sentKey]*sent) (map[sentKey]int64, map[string]int64) {
	t.Helper()
	gaps, strays, twice, moved, lost := problems{t: t, kind: "gap"}, problems{t: t, kind: "not sent"},
		problems{t: t, kind: "stored twice"}, problems{t: t, kind: "not as acknowledged"}, problems{t: t, kind: "lost"}
	found := make(map[sentKey]int64, len(sends))
	last := make(map[string]int64, len(convs))
	for _, cv := range convs {
		msgs, lastSeq := readAll(t, ctx, readers[cv.reader], cv.in)
		want := int64(1)
		for _, m := range msgs {
			if m.Seq != want {
				gaps.add("%s: seq %d follows %d", cv.key, m.Seq, want-1)
			}
			want = m.Seq + 1
			k := sentKey{m.From, m.ClientMsgID}
			s := sends[k]
			switch {
			case s == nil || s.conv != cv.key || s.text != m.Text:
				strays.add("%s seq %d: %+v", cv.key, m.Seq, m)
				continue
			case found[k] != 0:
				twice.add("%s: %s at seqs %d and %d", cv.key, m.ClientMsgID, found[k], m.Seq)
			case s.seq != 0 && (m.Seq != s.seq || !m.TS.Equal(s.ts)):
				moved.add("%s: %s acknowledged at seq %d %v, stored at seq %d %v", cv.key, s.id, s.seq, s.ts, m.Seq, m.TS)
			}
			found[k] = m.Seq
		}
		if lastSeq != int64(len(msgs)) {
			gaps.add("%s: last_seq %d with %d messages", cv.key, lastSeq, len(msgs))
		}
		last[cv.key] = lastSeq
	}
	for k, s := range sends {
		if s.seq != 0 && found[k] == 0 {
			lost.add("%s: %s acknowledged at seq %d", s.conv, s.id, s.seq)
		}
	}
	for _, p := range []*problems{&gaps, &strays, &twice, &moved, &lost} {
		p.summary()
	}
	return found, last
}

// readAll pages through a conversation from its newest message back and
// returns its messages, oldest first, and last_seq.
func readAll(t *testing.T, ctx context.Context, c *client.Client, in protocol.Conversation) ([]protocol.Message, int64) {
	t.Helper()
	var pages [][]protocol.Message
	var before, lastSeq int64
	for {
		r, err := c.History(ctx, protocol.MsgHistory{Conversation: in, Before: before, Limit: protocol.MaxHistoryLimit})
		if err != nil {
			t.Fatalf("history %+v before %d: %v", in, before, err)
		}
		if before == 0 {
			lastSeq = r.LastSeq
		}
		pages = append(pages, r.Messages)
		if len(r.Messages) < protocol.MaxHistoryLimit {
			break
		}
		next := r.Messages[0].Seq
		if before != 0 && next >= before {
			t.Fatalf("history %+v before %d starts at seq %d", in, before, next)
		}
		before = next
	}
	slices.Reverse(pages)
	return slices.Concat(pages...), lastSeq
}

// problems reports the first few problems of one kind and counts the rest,
// so that a lost batch reads as one finding, not thousands of lines.
type problems struct {
	t    *testing.T
	kind string
	n    int
}

func (p *problems) add(format string, args ...any) {
	p.t.Helper()
	p.n++
	if p.n <= crashReport {
		p.t.Errorf(p.kind+": "+format, args...)
	}
}

func (p *problems) summary() {
	p.t.Helper()
	if p.n > crashReport {
		p.t.Errorf("%s: %d in all", p.kind, p.n)
	}
}

// huddled is a server process.
type huddled struct {
	*proc.Process
	addr string
}

// buildHuddled builds this package's command into a temporary directory.
func buildHuddled(t *testing.T) string {
	t.Helper()
	bin, err := proc.Build(t, t.TempDir(), "huddle/cmd/huddled")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startHuddled runs bin on a free loopback port with args and returns once
// it accepts connections. The process is killed when the test ends, and its
// output logged when the test has failed.
func startHuddled(t *testing.T, bin string, args ...string) *huddled {
	t.Helper()
	addr := proc.FreePort(t)
	d := &huddled{Process: proc.Start(t, nil, bin, append([]string{"--listen", addr}, args...)...), addr: addr}
	d.WaitListening(t, addr, 15*time.Second)
	return d
}
