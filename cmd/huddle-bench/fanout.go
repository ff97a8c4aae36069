package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"huddle/client"
	"huddle/protocol"
)

// fanoutFlags: one group with --members online members, each its own user
// on its own connection, counting msg.new pushes, and --senders more members
// sending to the group, --pipeline in flight each. Every stored message is
// pushed to all --members (and to the other senders, who are not counted),
// so ops are deliveries: pushes received per second, with the send→push
// latency. The senders are closed loops on acks, which come before the
// fan-out: --max-lag keeps them from running ahead of the members the way
// natsfan keeps its publisher back, so that the rate measured is one the
// members sustain and not a queue growing until the server cuts them off.
func fanoutFlags(fs *flag.FlagSet) runFunc {
	members := 100
	fs.IntVar(&members, "members", members, "online group members receiving")
	fs.IntVar(&members, "clients", members, "same as --members")
	senders := fs.Int("senders", 1, "members sending, each its own user and connection, not counted in --members")
	maxLag := fs.Int("max-lag", 1000, "messages a member may be behind before the senders wait (0: never wait)")
	l := loadFlags(fs, "send messages")
	size := sizeFlag(fs)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if members < 1 || *senders < 1 || *maxLag < 0 {
			return result{}, usagef("--members and --senders must be at least 1, --max-lag not negative")
		}
		if err := checkConns(members+*senders, 0); err != nil {
			return result{}, err
		}
		if err := l.check(); err != nil {
			return result{}, err
		}
		if err := checkSize(*size); err != nil {
			return result{}, err
		}
		// Users 0..senders-1 send, user 0 owns the group.
		accts, err := newAccounts(ctx, g.server, *senders+members, true, progress)
		if err != nil {
			return result{}, err
		}
		sconns, err := openAll(ctx, g.server, *senders, accts[:*senders])
		defer closeAll(sconns)
		if err != nil {
			return result{}, err
		}
		var t traffic
		mconns, tallied, err := t.openReceivers(ctx, g.server, members, accts[*senders:])
		defer closeAll(mconns)
		if err != nil {
			return result{}, err
		}
		group := "bench_" + randomHex(4)
		if err := makeGroup(ctx, sconns[0], group, accts[1:]); err != nil {
			return result{}, err
		}

		progressf(progress, "sending %d-byte messages to %d members from %d connections, %d in flight each, for %v",
			*size, members, *senders, l.pipeline, l.duration)
		m, lag := int64(members), int64(*maxLag)
		var gate func() bool
		if lag > 0 {
			gate = func() bool { return t.sent.Load()*m-t.delivered() <= lag*m }
		}
		run := randomHex(4)
		start := time.Now()
		sending := l.drive(ctx, sconns, &t.acks, func(i, j int) op {
			return t.sender(client.GroupChat(group), *size, fmt.Sprintf("%s-%d-%d-", run, i, j))
		}, gate)
		last := t.settle(ctx, t.acks.count()*m)
		tallied()

		res := result{Scenario: "fanout", Conns: members + *senders, Senders: *senders, Members: members,
			Pipeline: l.pipeline, SizeBytes: *size, Unit: "deliveries/s"}
		receiving := last.Sub(start)
		t.fill(&res, sending, receiving, append(sconns, mconns...), mconns)
		res.Ops, res.OpsPerSec, res.P50ms, res.P99ms = res.Deliveries, res.DeliveriesPerSec, res.DeliveryP50ms, res.DeliveryP99ms
		res.Seconds = receiving.Seconds()
		return res, nil
	}
}

// makeGroup creates group with owner and adds everyone in accts.
func makeGroup(ctx context.Context, owner *client.Client, group string, accts []account) error {
	if _, err := owner.GroupCreate(ctx, group); err != nil {
		return fmt.Errorf("create group %s: %w", group, err)
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.name
	}
	for batch := range slices.Chunk(names, protocol.MaxGroupBatch) {
		if _, err := owner.GroupAdd(ctx, group, batch...); err != nil {
			return fmt.Errorf("add %d users to group %s: %w", len(batch), group, err)
		}
	}
	return nil
}
