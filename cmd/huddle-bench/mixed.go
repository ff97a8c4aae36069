package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"huddle/client"
	"huddle/protocol"
)

// The kinds of request the mixed scenario draws from, indexes of mixKinds.
const (
	mixSend = iota
	mixGroup
	mixHistory
	mixTyping
	mixGet
)

var mixKinds = [...]string{mixSend: "send", mixGroup: "group", mixHistory: "history", mixTyping: "typing", mixGet: "get"}

const (
	defaultMix = "send=50,group=5,history=20,typing=10,get=15"
	// mixHistoryLimit is how many messages a history request asks for.
	mixHistoryLimit = 20
)

// mixedFlags: --clients users online, each on its own connection and all
// members of one group, each connection running --pipeline closed loops of
// requests drawn at random with --mix's weights: send (a private message to
// the next client), group (a message to the group, pushed to every other
// member), history (the last mixHistoryLimit messages of its conversation
// with the next client), typing (an indicator to the next client, not stored) and get
// (user.get). Every client counts the msg.new pushes it gets. Ops are the
// requests answered, of every kind, with their latency; the messages stored,
// the pushes that reached their members and the answered requests of each
// kind are reported beside them.
func mixedFlags(fs *flag.FlagSet) runFunc {
	clients := 20
	connFlags(fs, &clients, "group members online, each on its own connection (at least 2)", nil, "")
	l := loadFlags(fs, "send requests")
	size := sizeFlag(fs)
	mixFlag := fs.String("mix", defaultMix, "relative weights of the requests, KIND=N,...; kinds: "+strings.Join(mixKinds[:], ", ")+" (one not named weighs 0)")
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if clients < 2 {
			return result{}, usagef("--clients must be at least 2")
		}
		if err := checkConns(clients, 0); err != nil {
			return result{}, err
		}
		if err := l.check(); err != nil {
			return result{}, err
		}
		if err := checkSize(*size); err != nil {
			return result{}, err
		}
		weights, err := parseMix(*mixFlag)
		if err != nil {
			return result{}, err
		}
		accts, err := newAccounts(ctx, g.server, clients, true, progress)
		if err != nil {
			return result{}, err
		}
		var t traffic
		conns, tallied, err := t.openReceivers(ctx, g.server, clients, accts)
		defer closeAll(conns)
		if err != nil {
			return result{}, err
		}
		group := "bench_" + randomHex(4)
		if err := makeGroup(ctx, conns[0], group, accts[1:]); err != nil {
			return result{}, err
		}

		progressf(progress, "sending a mix of requests (%s) on %d connections, %d in flight each, for %v",
			*mixFlag, clients, l.pipeline, l.duration)
		var rec recorder
		answered := make([]atomic.Int64, len(mixKinds))
		run := randomHex(4)
		start := time.Now()
		var counted [len(mixKinds)]func()
		for k := range counted {
			counted[k] = func() { answered[k].Add(1) }
		}
		sending := l.drive(ctx, conns, &rec, func(i, j int) op {
			peer := client.UserChat(accts[(i+1)%clients].name)
			prefix := fmt.Sprintf("%s-%d-%d-", run, i, j)
			ops := [len(mixKinds)]op{
				mixSend:  t.sender(peer, *size, prefix+"p"),
				mixGroup: t.sender(client.GroupChat(group), *size, prefix+"g"),
				mixHistory: func() (string, any, func()) {
					return protocol.TypeMsgHistory, protocol.MsgHistory{Conversation: peer, Limit: mixHistoryLimit}, nil
				},
				mixTyping: func() (string, any, func()) {
					return protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: peer}, nil
				},
				mixGet: userGet,
			}
			rng := rand.New(rand.NewPCG(uint64(i), uint64(j)))
			return func() (string, any, func()) {
				k := weights.pick(rng)
				typ, data, _ := ops[k]()
				return typ, data, counted[k]
			}
		}, nil)
		// A private message reaches its one peer, a group message the
		// group's other members.
		private, grouped := answered[mixSend].Load(), answered[mixGroup].Load()
		last := t.settle(ctx, private+grouped*int64(clients-1))
		tallied()

		res := result{Scenario: "mixed", Conns: clients, Pipeline: l.pipeline, SizeBytes: *size, Unit: "requests/s",
			Mix: make(map[string]int64, len(mixKinds))}
		t.fill(&res, sending, last.Sub(start), conns, conns) // the pushes; t.acks is empty
		all := rec.summarize(sending)
		res.Ops, res.OpsPerSec, res.P50ms, res.P99ms = all.ops, all.perSec, all.p50ms, all.p99ms
		res.Seconds = sending.Seconds()
		res.Errors += all.errors
		if all.firstErr != nil { // a failed request says more than a push without a send time
			res.FirstError = all.firstErr.Error()
		}
		res.Messages = private + grouped
		res.MessagesPerSec = float64(res.Messages) / sending.Seconds()
		for k, name := range mixKinds {
			res.Mix[name] = answered[k].Load()
		}
		return res, nil
	}
}

// mix is --mix: the cumulative weights of mixKinds.
type mix struct {
	cum   []int
	total int
}

func parseMix(s string) (mix, error) {
	w := make([]int, len(mixKinds))
	named := make([]bool, len(mixKinds))
	for part := range strings.SplitSeq(s, ",") {
		kind, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		i := slices.Index(mixKinds[:], kind)
		n, err := strconv.Atoi(v)
		switch {
		case !ok || i < 0:
			return mix{}, usagef("--mix %q: %q is not KIND=WEIGHT with KIND one of %s", s, part, strings.Join(mixKinds[:], ", "))
		case err != nil || n < 0 || n > 1_000_000:
			return mix{}, usagef("--mix %q: the weight of %s must be 0 to 1000000", s, kind)
		case named[i]:
			return mix{}, usagef("--mix %q: %s is named twice", s, kind)
		}
		w[i], named[i] = n, true
	}
	m := mix{cum: make([]int, len(w))}
	for i, n := range w {
		m.total += n
		m.cum[i] = m.total
	}
	if m.total == 0 {
		return mix{}, usagef("--mix %q: the weights add up to 0", s)
	}
	return m, nil
}

// pick draws a kind's index with the weights.
func (m mix) pick(r *rand.Rand) int {
	x := r.IntN(m.total)
	i, _ := slices.BinarySearch(m.cum, x+1)
	return i
}
