package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"huddle/protocol"
)

// result is what the reader hands to a waiting Call.
type result struct {
	msg protocol.Incoming
	err error
}

// waiter is who waits for a response: a Call on its one-slot channel, or
// a CallAsync's callback, which the reader runs itself.
type waiter struct {
	ch chan<- result
	fn func(error)
}

// answer hands r to w without blocking.
func (w waiter) answer(r result) {
	if w.fn == nil {
		w.ch <- r
		return
	}
	if r.err != nil {
		w.fn(r.err)
		return
	}
	w.fn(decodeResult(r.msg, nil))
}

// conn is one TCP connection and everything whose life ends with it: the
// requests waiting for a response, the reader and the heartbeat. A Client
// replaces its conn on Reconnect; a conn is never reused.
type conn struct {
	nc       net.Conn
	hello    protocol.HelloReply
	maxFrame int

	// Frames go out through one writer goroutine, which sends all the
	// frames queued while it was writing with one writev: pipelined calls
	// cost one system call per batch, not one each. A caller waits only
	// while the queue is full, and can give up then.
	wmu  sync.Mutex
	out  net.Buffers   // frames waiting for the writer, in order
	room chan struct{} // closed when the writer takes the queue
	kick chan struct{} // one slot: the queue has frames

	mu      sync.Mutex
	pending map[uint64]waiter // nil once the connection is lost
	err     error             // why the connection was lost
	notice  *protocol.Error   // an id-less error frame: the server's last word

	done chan struct{} // closed when the connection is lost
	wg   sync.WaitGroup
}

func newConn(nc net.Conn) *conn {
	return &conn{
		nc:       nc,
		maxFrame: protocol.DefaultMaxFrame,
		room:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
		pending:  make(map[uint64]waiter),
		done:     make(chan struct{}),
	}
}

// handshake sends hello with id and reads frames until its reply arrives,
// before any reader goroutine exists. Pushes that arrive first go to deliver.
func (cn *conn) handshake(ctx context.Context, br *protocol.FrameReader, id uint64, name string, deliver func(protocol.Push)) error {
	// Interrupt the exchange when ctx ends; the context's own deadline is
	// not copied to the socket so that a timeout reads as ctx.Err().
	stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(time.Unix(1, 0)) })
	err := cn.exchangeHello(br, id, name, deliver)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	return cn.nc.SetDeadline(time.Time{})
}

func (cn *conn) exchangeHello(br *protocol.FrameReader, id uint64, name string, deliver func(protocol.Push)) error {
	frame, err := protocol.EncodeRequest(id, protocol.TypeHello, protocol.Hello{Version: protocol.Version, Client: name})
	if err != nil {
		return err
	}
	if _, err := cn.nc.Write(frame); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	for {
		m, err := readIncoming(br, protocol.DefaultMaxFrame)
		if err != nil {
			return fmt.Errorf("read hello reply: %w", err)
		}
		if m.IsPush() {
			deliver(protocol.Push{Type: m.Type, Data: m.Data})
			continue
		}
		if m.ID != id && m.ID != 0 {
			return fmt.Errorf("hello reply has id %d, want %d", m.ID, id)
		}
		if err := decodeResult(m, &cn.hello); err != nil {
			return err
		}
		if cn.hello.MaxFrame > 0 {
			cn.maxFrame = cn.hello.MaxFrame
		}
		return nil
	}
}

func readIncoming(br *protocol.FrameReader, maxFrame int) (protocol.Incoming, error) {
	payload, err := br.Next(maxFrame)
	if err != nil {
		return protocol.Incoming{}, err
	}
	m, err := protocol.DecodeIncoming(payload)
	if err != nil {
		// DecodeIncoming rejects a frame with neither id nor type, but that
		// is exactly the id-0 error (protocol.EncodeError(0, …)) a server
		// sends about a request it could not parse, before closing.
		var r protocol.Response
		if protocol.DecodeLenient(payload, &r) == nil && r.ID == 0 && r.Error != nil {
			return protocol.Incoming{Error: r.Error}, nil
		}
	}
	return m, err
}

// decodeResult turns a response into resp or a *protocol.Error. Data is
// decoded leniently: a newer server may add fields.
func decodeResult(m protocol.Incoming, resp any) error {
	if !m.OK {
		if m.Error == nil {
			return protocol.Errorf(protocol.CodeInternal, "error response without an error")
		}
		return m.Error
	}
	if resp == nil || len(m.Data) == 0 {
		return nil
	}
	if err := protocol.DecodeLenient(m.Data, resp); err != nil {
		return fmt.Errorf("decode response data: %w", err)
	}
	return nil
}

// readLoop is the connection's only reader. It must never block on a
// consumer: responses go to one-slot channels, pushes to deliver, which drops.
func (cn *conn) readLoop(br *protocol.FrameReader, deliver func(protocol.Push)) {
	defer cn.wg.Done()
	for {
		m, err := readIncoming(br, cn.maxFrame)
		if err != nil {
			cn.fail(err)
			return
		}
		switch {
		case m.IsPush():
			deliver(protocol.Push{Type: m.Type, Data: m.Data})
		case m.ID == 0:
			// The server reports a fatal problem without an id just before
			// it closes the connection; keep it to explain the loss.
			cn.mu.Lock()
			cn.notice = m.Error
			cn.mu.Unlock()
		default:
			cn.mu.Lock()
			w, ok := cn.pending[m.ID]
			delete(cn.pending, m.ID)
			cn.mu.Unlock()
			if ok { // not there: the caller gave up
				w.answer(result{msg: m})
			}
		}
	}
}

// heartbeat pings every interval and gives the connection up when a ping is
// not answered within one interval, so that a half-open TCP connection is
// noticed by callers waiting on Done.
func (cn *conn) heartbeat(interval time.Duration, nextID func() uint64) {
	defer cn.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := cn.call(ctx, nextID(), protocol.TypePing, protocol.Ping{}, nil)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			cn.fail(fmt.Errorf("no reply to ping within %v", interval))
			return
		}
	}
}

// call sends one request and waits for its response.
func (cn *conn) call(ctx context.Context, id uint64, typ string, req, resp any) error {
	frame, err := cn.encode(id, typ, req)
	if err != nil {
		return err
	}
	ch := make(chan result, 1)
	if err := cn.await(id, waiter{ch: ch}); err != nil {
		return err
	}
	if err := cn.write(ctx, frame); err != nil {
		cn.forget(id)
		return err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return r.err
		}
		return decodeResult(r.msg, resp)
	case <-ctx.Done():
		cn.forget(id)
		return ctx.Err()
	}
}

// callAsync sends one request without waiting for room in the write queue
// or for the response, which goes to done (see Client.CallAsync).
func (cn *conn) callAsync(id uint64, typ string, req any, done func(error)) error {
	frame, err := cn.encode(id, typ, req)
	if err != nil {
		return err
	}
	if err := cn.await(id, waiter{fn: done}); err != nil {
		return err
	}
	cn.wmu.Lock()
	cn.out = append(cn.out, frame)
	cn.wmu.Unlock()
	cn.kickWriter()
	return nil
}

// encode frames a request, refused when it exceeds the server's max_frame.
func (cn *conn) encode(id uint64, typ string, req any) ([]byte, error) {
	frame, err := protocol.EncodeRequest(id, typ, req)
	if err != nil {
		return nil, err
	}
	if n := len(frame) - protocol.HeaderSize; n > cn.maxFrame {
		return nil, protocol.Errorf(protocol.CodeTooLarge, "%s request of %d bytes exceeds the server's max_frame of %d", typ, n, cn.maxFrame)
	}
	return frame, nil
}

// kickWriter tells the writer the queue has frames.
func (cn *conn) kickWriter() {
	select {
	case cn.kick <- struct{}{}:
	default: // the writer is already due to look
	}
}

// await registers w for the response to id; the error when the connection
// is already lost.
func (cn *conn) await(id uint64, w waiter) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.pending == nil {
		return cn.err
	}
	cn.pending[id] = w
	return nil
}

func (cn *conn) forget(id uint64) {
	cn.mu.Lock()
	delete(cn.pending, id)
	cn.mu.Unlock()
}

// maxQueuedFrames bounds the frames waiting for the writer; past it,
// callers wait for the writer to take the queue.
const maxQueuedFrames = 1024

// write queues frame for the writer. Once queued, a frame is sent even if
// its caller gives up waiting for the response, as it could be after
// being sent; the loss of the connection fails every waiting call.
func (cn *conn) write(ctx context.Context, frame []byte) error {
	for {
		cn.wmu.Lock()
		if len(cn.out) < maxQueuedFrames {
			cn.out = append(cn.out, frame)
			cn.wmu.Unlock()
			cn.kickWriter()
			return nil
		}
		room := cn.room
		cn.wmu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		case <-cn.done:
			return cn.lostErr()
		}
	}
}

// writeLoop is the connection's only writer.
func (cn *conn) writeLoop() {
	defer cn.wg.Done()
	var spare net.Buffers
	for {
		select {
		case <-cn.kick:
		case <-cn.done:
			return
		}
		// Let the goroutines that are ready to run queue their frames
		// first: the callers a burst of responses woke each send their next
		// request within microseconds, and without this yield the writer
		// took them one writev each (1.2 frames per writev at 100 × 32).
		runtime.Gosched()
		cn.wmu.Lock()
		batch := cn.out
		cn.out = spare
		close(cn.room)
		cn.room = make(chan struct{})
		cn.wmu.Unlock()
		bufs := batch // WriteTo consumes its receiver
		if _, err := bufs.WriteTo(cn.nc); err != nil {
			// Half a frame on the wire desynchronizes the stream for good.
			cn.fail(fmt.Errorf("write: %w", err))
			return
		}
		// The next queue is this one's array: drop the frames, keep it.
		clear(batch)
		spare = batch[:0]
	}
}

func (cn *conn) lostErr() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// fail marks the connection lost (the first cause wins), closes the socket
// and fails every waiting call.
func (cn *conn) fail(cause error) {
	cn.mu.Lock()
	if cn.pending == nil {
		cn.mu.Unlock()
		return
	}
	switch {
	case errors.Is(cause, ErrClosed):
		cn.err = ErrClosed
	case cn.notice != nil:
		cn.err = fmt.Errorf("%w: %w", ErrConnectionLost, cn.notice)
	case errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF):
		cn.err = fmt.Errorf("%w: server closed the connection", ErrConnectionLost)
	default:
		cn.err = fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	}
	pending := cn.pending
	cn.pending = nil
	close(cn.done)
	err := cn.err
	cn.mu.Unlock()

	_ = cn.nc.Close()
	for _, w := range pending {
		w.answer(result{err: err})
	}
}

// shutdown closes the connection and waits for its goroutines.
func (cn *conn) shutdown(cause error) {
	cn.fail(cause)
	cn.wg.Wait()
}
