package actors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/storage"
)

// writeReq is one message on its way to the database. Once the batch
// holding it has committed or failed, the writer either calls done, on its
// own goroutine (it must not block), or, when owner is set, hands
// committed, filled in, to owner: with one *committedBatch per owner and
// batch, for all of that owner's messages in the batch.
type writeReq struct {
	msg   storage.Message
	done  func(storage.Appended, error)
	owner *actor.PID
	note  *committed
}

// committedBatch brings an actor the outcomes of its messages in one
// batch, in the order they were submitted.
type committedBatch []*committed

// msgWriter is the group-commit writer: one goroutine drains a queue of
// messages from every conversation into batches, each stored with one
// AppendMessages call (one transaction, one multi-row INSERT), and completes
// every message's ack after the commit. While a batch commits the next one
// gathers, so batches grow with the load and a commit is shared by all the
// messages that arrived during the previous one.
type msgWriter struct {
	root    *actor.RootContext
	store   storage.Messages
	log     *slog.Logger
	size    int
	delay   time.Duration
	timeout time.Duration

	queue chan *writeReq
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newMsgWriter(root *actor.RootContext, store storage.Messages, log *slog.Logger, size, queue int, delay, timeout time.Duration) *msgWriter {
	w := &msgWriter{
		root: root, store: store, log: log, size: size, delay: delay, timeout: timeout,
		queue: make(chan *writeReq, queue),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// msgWriters are chat.writers writers, each owning the conversations that
// hash to it: a conversation's messages all go through one writer, one
// transaction after another, so their order and numbering stay as with a
// single writer, and no two transactions write one conversation.
type msgWriters []*msgWriter

func (ws msgWriters) submit(r *writeReq) bool {
	if len(ws) == 1 {
		return ws[0].submit(r)
	}
	// FNV-1a of the conversation id, inline: hash/fnv's hasher would be
	// one allocation per message.
	h := uint32(2166136261)
	for i := 0; i < len(r.msg.Conversation); i++ {
		h = (h ^ uint32(r.msg.Conversation[i])) * 16777619
	}
	return ws[h%uint32(len(ws))].submit(r)
}

// close stores what every writer has queued, then stops them.
func (ws msgWriters) close() {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(w.close)
	}
	wg.Wait()
}

// submit queues r without blocking; false when the queue is full.
func (w *msgWriter) submit(r *writeReq) bool {
	select {
	case w.queue <- r:
		return true
	default:
		return false
	}
}

// close stores what is queued, then stops the writer.
func (w *msgWriter) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *msgWriter) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, w.size)
	msgs := make([]storage.Message, 0, w.size)
	for {
		var first *writeReq
		select {
		case first = <-w.queue:
		case <-w.stop:
			// Whatever is still queued was accepted: store it before going.
			for {
				batch = w.gather(batch[:0], nil)
				if len(batch) == 0 {
					return
				}
				w.commit(batch, msgs[:0])
			}
		}
		batch = w.gather(append(batch[:0], first), w.delayTimer())
		w.commit(batch, msgs[:0])
		clear(batch)
	}
}

func (w *msgWriter) delayTimer() <-chan time.Time {
	if w.delay <= 0 {
		return nil
	}
	return time.After(w.delay)
}

// gather adds queued requests to batch until it is full, the queue is empty
// and, when wait is not nil, wait has fired.
func (w *msgWriter) gather(batch []*writeReq, wait <-chan time.Time) []*writeReq {
	for len(batch) < w.size {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
			continue
		default:
		}
		if wait == nil {
			break
		}
		select {
		case r := <-w.queue:
			batch = append(batch, r)
		case <-wait:
			wait = nil
		}
	}
	return batch
}

func (w *msgWriter) commit(batch []*writeReq, msgs []storage.Message) {
	for _, r := range batch {
		msgs = append(msgs, r.msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	res, err := w.store.AppendMessages(ctx, msgs)
	cancel()
	if err != nil {
		w.log.Error("store messages", "messages", len(batch), "err", err)
	}
	var owners map[*actor.PID]committedBatch
	for i, r := range batch {
		var out storage.Appended
		if err == nil {
			out = res[i]
		}
		if r.owner == nil {
			r.done(out, err)
			continue
		}
		r.note.res, r.note.err = out, err
		if owners == nil {
			owners = make(map[*actor.PID]committedBatch)
		}
		owners[r.owner] = append(owners[r.owner], r.note)
	}
	for pid, b := range owners {
		w.root.Send(pid, b)
	}
}
