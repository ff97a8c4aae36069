package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"huddle/client"
	"huddle/protocol"
)

// What chat and fanout share: senders in closed loops whose texts start
// with their send time, and receivers that count the msg.new pushes and
// read that time back for the send→push latency (bench and server run on
// one machine, so one clock).

const (
	// stampLen is the width of the send time (Unix nanoseconds, zero-padded)
	// that starts every text.
	stampLen = 19
	// settleQuiet is how long the bench waits for the next push after the
	// senders stopped before it gives up on the ones still missing.
	settleQuiet = 3 * time.Second
)

var textKey = []byte(`"text":"`)

// traffic is what the chat and fanout scenarios measure.
type traffic struct {
	acks       recorder     // send→ack latency of each stored message; failed sends
	deliveries recorder     // send→push latency of each msg.new; pushes without a send time
	sent       atomic.Int64 // messages handed to the client library
	tallies    []pushTally  // one per receiving connection (openReceivers)
}

// delivered is how many msg.new pushes have arrived. Each receiver counts
// its own, on a cache line of its own: one counter that every reader
// goroutine incremented moved between the cores 700,000 times a second.
func (t *traffic) delivered() int64 {
	var n int64
	for i := range t.tallies {
		n += t.tallies[i].n.Load()
	}
	return n
}

// sizeFlag defines --size, the bytes of text per message.
func sizeFlag(fs *flag.FlagSet) *int {
	return fs.Int("size", 100, fmt.Sprintf("bytes of text per message (at least %d: the send time starts it)", stampLen))
}

func checkSize(size int) error {
	if size < stampLen || size > protocol.DefaultMaxFrame/2 {
		return usagef("--size must be %d to %d bytes", stampLen, protocol.DefaultMaxFrame/2)
	}
	return nil
}

// sender returns one closed loop's op: send a message of size bytes to to,
// with client_msg_id idPrefix plus a counter.
func (t *traffic) sender(to protocol.Conversation, size int, idPrefix string) op {
	pad := strings.Repeat("x", size-stampLen)
	var n uint64
	return func() (string, any, func()) {
		n++
		t.sent.Add(1)
		m := protocol.MsgSend{
			Conversation: to,
			ClientMsgID:  idPrefix + strconv.FormatUint(n, 36),
			Text:         fmt.Sprintf("%0*d", stampLen, time.Now().UnixNano()) + pad,
		}
		return protocol.TypeMsgSend, m, nil
	}
}

// openReceivers opens n connections whose msg.new pushes t counts, on
// each connection's reader goroutine (client.WithPushHandler): a channel
// and a goroutine switch per push would cost the bench more than the
// server spends on it. The returned function, called once the pushes have
// settled, adds the latencies to t.deliveries.
func (t *traffic) openReceivers(ctx context.Context, addr string, n int, accts []account) ([]*client.Client, func(), error) {
	tallies := make([]pushTally, n)
	t.tallies = tallies
	conns, err := openEach(ctx, addr, n, accts, func(i int) []client.Option {
		return []client.Option{client.WithPushHandler(func(p protocol.Push) { tallies[i].add(p) })}
	})
	return conns, func() {
		for i := range tallies {
			tallies[i].addTo(&t.deliveries)
		}
	}, err
}

// pushTally is one receiver's count. Only its connection's reader goroutine
// adds to it; the mutex, never contended, orders that with the final read.
type pushTally struct {
	n    atomic.Int64 // msg.new pushes, read by traffic.delivered
	mu   sync.Mutex
	lat  []time.Duration   // the block being filled
	full [][]time.Duration // the blocks before it: one growing slice was copied at each growth
	bad  int
	err  error
	_    [64]byte // the next receiver's counter is on another cache line
}

// latBlock is how many latencies a pushTally block holds.
const latBlock = 8192

func (pt *pushTally) add(p protocol.Push) {
	if p.Type != protocol.PushMsgNew {
		return // group.added and the like
	}
	now := time.Now()
	pt.n.Add(1)
	sent, err := sentAt(p.Data)
	pt.mu.Lock()
	if err != nil {
		pt.bad++
		pt.err = err
	} else {
		if len(pt.lat) == cap(pt.lat) {
			if pt.lat != nil {
				pt.full = append(pt.full, pt.lat)
			}
			pt.lat = make([]time.Duration, 0, latBlock)
		}
		pt.lat = append(pt.lat, now.Sub(sent))
	}
	pt.mu.Unlock()
}

// addTo adds what pt counted to rec.
func (pt *pushTally) addTo(rec *recorder) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, block := range pt.full {
		rec.merge(block)
	}
	rec.merge(pt.lat)
	for range pt.bad {
		rec.add(0, pt.err)
	}
}

// sentAt reads the send time from the start of a msg.new push's text
// without decoding the rest: a receiver may see 100,000 pushes a second.
func sentAt(data []byte) (time.Time, error) {
	i := bytes.Index(data, textKey)
	if i < 0 || len(data) < i+len(textKey)+stampLen {
		return time.Time{}, errors.New("msg.new without a bench text")
	}
	// By hand: strconv.ParseInt, and the string made for it, were 3% of the
	// bench's CPU at 800,000 pushes/s.
	var ns int64
	for _, c := range data[i+len(textKey):][:stampLen] {
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("msg.new text without a send time: %q", data[i+len(textKey):][:stampLen])
		}
		ns = ns*10 + int64(c-'0')
	}
	return time.Unix(0, ns), nil
}

// settle waits until want pushes have arrived, or none has for settleQuiet,
// and returns roughly when the last one came.
func (t *traffic) settle(ctx context.Context, want int64) time.Time {
	last, n := time.Now(), t.delivered()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n < want && time.Since(last) < settleQuiet {
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
		if m := t.delivered(); m != n {
			n, last = m, time.Now()
		}
	}
	return last
}

// fill sets r's message fields: the acks over sending, the deliveries over
// receiving, errors of both, and what was lost on conns and receivers.
func (t *traffic) fill(r *result, sending, receiving time.Duration, conns, receivers []*client.Client) {
	acks := t.acks.summarize(sending)
	dels := t.deliveries.summarize(receiving)
	r.Messages, r.MessagesPerSec, r.AckP50ms, r.AckP99ms = acks.ops, acks.perSec, acks.p50ms, acks.p99ms
	r.Deliveries = t.delivered()
	r.DeliveriesPerSec = float64(r.Deliveries) / receiving.Seconds()
	r.DeliveryP50ms, r.DeliveryP99ms = dels.p50ms, dels.p99ms
	r.Errors = acks.errors + dels.errors
	if err := errors.Join(acks.firstErr, dels.firstErr); err != nil {
		r.FirstError = err.Error()
	}
	for _, c := range receivers {
		r.Dropped += int64(c.DroppedPushes())
	}
	for _, c := range conns {
		if c.Err() != nil {
			r.Disconnects++
		}
	}
}
