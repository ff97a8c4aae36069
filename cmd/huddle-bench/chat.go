package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"huddle/client"
)

// chatFlags: --clients senders, each its own user, send private messages to
// a peer of their own, --pipeline in flight per connection. The peers are
// online on their own connections and count their msg.new pushes. A message
// is acknowledged once its batch has committed, so acks/s is the durable
// message rate; the headline latency is send→ack, the send→push latency of
// the peers is reported beside it. Once the pushes have settled, deliveries
// equal acks.
func chatFlags(fs *flag.FlagSet) runFunc {
	clients := 10
	connFlags(fs, &clients, "senders, each to an online peer of its own (two connections each)", nil, "")
	l := loadFlags(fs, "send messages")
	size := sizeFlag(fs)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if clients < 1 {
			return result{}, usagef("--clients must be at least 1")
		}
		if err := checkConns(2*clients, 0); err != nil {
			return result{}, err
		}
		if err := l.check(); err != nil {
			return result{}, err
		}
		if err := checkSize(*size); err != nil {
			return result{}, err
		}
		// Users 0..clients-1 send, user clients+i is the peer of user i.
		accts, err := newAccounts(ctx, g.server, 2*clients, true, progress)
		if err != nil {
			return result{}, err
		}
		senders, err := openAll(ctx, g.server, clients, accts[:clients])
		defer closeAll(senders)
		if err != nil {
			return result{}, err
		}
		var t traffic
		peers, tallied, err := t.openReceivers(ctx, g.server, clients, accts[clients:])
		defer closeAll(peers)
		if err != nil {
			return result{}, err
		}

		progressf(progress, "sending %d-byte messages on %d connections, %d in flight each, for %v",
			*size, clients, l.pipeline, l.duration)
		run := randomHex(4)
		start := time.Now()
		sending := l.drive(ctx, senders, &t.acks, func(i, j int) op {
			return t.sender(client.UserChat(accts[clients+i].name), *size, fmt.Sprintf("%s-%d-%d-", run, i, j))
		}, nil)
		last := t.settle(ctx, t.acks.count())
		tallied()

		res := result{Scenario: "chat", Conns: 2 * clients, Senders: clients, Pipeline: l.pipeline, SizeBytes: *size, Unit: "messages/s"}
		t.fill(&res, sending, last.Sub(start), append(senders, peers...), peers)
		res.Ops, res.OpsPerSec, res.P50ms, res.P99ms = res.Messages, res.MessagesPerSec, res.AckP50ms, res.AckP99ms
		res.Seconds = sending.Seconds()
		return res, nil
	}
}
