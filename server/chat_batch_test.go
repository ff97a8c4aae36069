package server_test

import (
	"fmt"
	"testing"
	"time"

	"huddle/internal/testutil"
	"huddle/protocol"
)

// TestBatchFlushesOnSizeOrDelay: with chat.batch_delay set, a lone message
// waits out the delay for company before its commit, and a batch that
// fills up (chat.batch_size) commits at once without waiting.
func TestBatchFlushesOnSizeOrDelay(t *testing.T) {
	const delay = time.Second // chat.batch_delay at most; a full batch must be acked well within it
	for _, b := range testutil.Backends {
		t.Run(b, func(t *testing.T) {
			cfg := testutil.TestConfig(t, b)
			cfg.Chat.BatchSize = 8
			cfg.Chat.BatchDelay = delay
			e := &env{t: t, cfg: cfg, srv: testutil.StartServer(t, cfg)}
			e.register(e.dial(), "xena")
			e.register(e.dial(), "yuri")
			c := e.rawLogin("xena")
			yuri := protocol.Conversation{User: "yuri"}

			start := time.Now()
			c.Request(10, protocol.TypeMsgSend, protocol.MsgSend{Conversation: yuri, ClientMsgID: "lone", Text: "x"})
			if m := readReplies(t, c, 1)[0]; !m.OK {
				t.Fatalf("lone send: %+v", m.Error)
			}
			if took := time.Since(start); took < delay {
				t.Fatalf("a lone message was acknowledged after %v, before chat.batch_delay (%v)", took, delay)
			}

			start = time.Now()
			for i := range cfg.Chat.BatchSize {
				c.Request(uint64(20+i), protocol.TypeMsgSend, protocol.MsgSend{Conversation: yuri, ClientMsgID: fmt.Sprintf("full%d", i), Text: "x"})
			}
			for i, m := range readReplies(t, c, cfg.Chat.BatchSize) {
				var r protocol.MsgSendReply
				if !m.OK || protocol.DecodeLenient(m.Data, &r) != nil || r.Seq != int64(i+2) {
					t.Fatalf("send %d of the full batch: %+v", i, m)
				}
			}
			if took := time.Since(start); took >= delay {
				t.Fatalf("a full batch was acknowledged after %v: it waited for chat.batch_delay (%v)", took, delay)
			}
		})
	}
}
