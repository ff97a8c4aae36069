package netio_test

import (
	"testing"
	"time"

	"huddle/internal/testutil/wait"
	"huddle/netio"
	"huddle/protocol"
)

// Send is safe from many goroutines at once: every frame arrives whole, and
// each sender's frames arrive in the order it sent them.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	// Eight senders can outrun one loop's flushes; that is the slow-consumer
	// test's business, not this one's.
	cfg.OutboundQueue = 4 << 20
	srv := startServer(t, cfg)
	c := srv.dial(t)
	f := flood{Senders: 8, N: 200, Pad: 100}
	c.request(2, typeFlood, f)
	c.expectOK(2)
	next := make([]int, f.Senders)
	for range f.Senders * f.N {
		item := readFlood(t, c)
		if item.Seq != next[item.From] {
			t.Fatalf("sender %d: got seq %d, want %d", item.From, item.Seq, next[item.From])
		}
		next[item.From]++
	}
	c.request(3, protocol.TypePing, nil)
	c.expectOK(3)
}

// More frames than one writev(2) takes (IOV_MAX, 1024) queued for one flush
// all arrive, in order.
func TestLargeBatch(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.OutboundQueue = 4 << 20
	srv := startServer(t, cfg)
	c := srv.dial(t)
	const n = 3000
	c.request(2, typeFlood, flood{N: n, Inline: true})
	c.expectOK(2)
	readInOrder(t, c, n)
	c.request(3, protocol.TypePing, nil)
	c.expectOK(3)
}

// One Send of several frames delivers them in order; the outbound limit
// counts them together, so a Send whose frames only together exceed it
// drops the connection as a slow consumer.
func TestSendSeveralFrames(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.OutboundQueue = 64 << 10
	srv := startServer(t, cfg)
	c := srv.dial(t)
	c.request(2, typeFlood, flood{N: 100, Inline: true, Batch: 7})
	c.expectOK(2)
	readInOrder(t, c, 100)
	big := srv.dial(t)
	big.request(2, typeFlood, flood{N: 8, Inline: true, Batch: 8, Pad: 12 << 10}) // 8 × 12 KiB > 64 KiB
	wait.For(t, 5*time.Second, "the slow consumer", func() bool { return srv.Stats().SlowConsumers == 1 })
	c.request(3, protocol.TypePing, nil)
	c.expectOK(3)
}

// CloseWith writes everything queued before it, then its own frame, then closes.
func TestCloseWithFlushesFirst(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig())
	c := srv.dial(t)
	const n = 300
	c.request(2, typeBye, flood{N: n, Pad: 100})
	readInOrder(t, c, n)
	if m := c.read(); m.Type != typeBye {
		t.Fatalf("got %+v, want the bye push", m)
	}
	c.expectClosed()
}

// A session attached before the close is still there for the handler's
// clean-up; after the close nothing can be attached or sent.
func TestSessionAfterClose(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig())
	c := srv.dial(t)
	c.request(2, typeLogin, login{User: "alice"})
	c.expectOK(2)
	c.Close()

	var gone *netio.Conn
	wait.For(t, 5*time.Second, "ConnClosed", func() bool {
		closed := srv.h.closedConns()
		if len(closed) == 1 {
			gone = closed[0]
		}
		return gone != nil
	})
	if got := gone.Session(); got != "alice" {
		t.Fatalf("session after close = %v, want alice", gone.Session())
	}
	if gone.SetSession("mallory") {
		t.Fatal("SetSession succeeded on a closed connection")
	}
	if gone.Send(encode(t, 1, protocol.TypePing, nil)) {
		t.Fatal("Send succeeded on a closed connection")
	}
	gone.Close() // a second close is harmless
	if st := srv.Stats(); st.Active != 0 || st.Accepted != 1 {
		t.Fatalf("stats %+v, want 0 active of 1 accepted", st)
	}
}

// A client that never reads is disconnected once more than the outbound
// limit waits for it, and the counter says so; other connections on the same
// loops go on being served meanwhile.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.EventLoops = 1 // the victim and the bystander share a loop
	srv := startServer(t, cfg)
	other := srv.dial(t)

	slow := srv.dial(t)
	if err := slow.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// 1 GiB if nothing stopped it. Two senders may hit the limit at once;
	// that is still one slow consumer.
	slow.request(2, typeFlood, flood{Senders: 2, N: 32 << 10, Pad: 16 << 10})
	for id := uint64(2); srv.Stats().SlowConsumers == 0; id++ {
		if id > 1000 {
			t.Fatal("slow consumer was not disconnected")
		}
		other.request(id, protocol.TypePing, nil)
		other.expectOK(id)
		time.Sleep(5 * time.Millisecond)
	}
	wait.For(t, 5*time.Second, "the slow consumer's ConnClosed", func() bool { return len(srv.h.closedConns()) == 1 })
	if st := srv.Stats(); st.SlowConsumers != 1 || st.Active != 1 {
		t.Fatalf("stats %+v, want 1 slow consumer and 1 active", st)
	}
	other.request(9999, typeEcho, nil)
	other.expectOK(9999)
}

// readFlood reads one flood push.
// readInOrder reads n flood pushes and checks that their seqs are 0 to n-1.
func readInOrder(t *testing.T, c *wire, n int) {
	t.Helper()
	for seq := range n {
		if item := readFlood(t, c); item.Seq != seq {
			t.Fatalf("got seq %d, want %d", item.Seq, seq)
		}
	}
}

func readFlood(t *testing.T, c *wire) floodItem {
	t.Helper()
	m := c.read()
	if m.Type != typeFlood {
		t.Fatalf("got %+v, want a flood push", m)
	}
	var item floodItem
	if err := protocol.DecodeData(m.Data, &item); err != nil {
		t.Fatal(err)
	}
	return item
}
