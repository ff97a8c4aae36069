package netio_test

import (
	"bufio"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"huddle/protocol"
)

// wire is a framed TCP client without any client logic, for sending what a
// well-behaved client never would. internal/testutil has its twin, RawConn,
// but importing testutil would link the whole server (actors, storage) into
// netio's tests, against the downward-only import rule; netio's tests must
// build and pass while the packages above it are being changed.
type wire struct {
	tb testing.TB
	*net.TCPConn
	br *bufio.Reader
}

func dialWire(tb testing.TB, addr string) *wire {
	tb.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &wire{tb: tb, TCPConn: nc.(*net.TCPConn), br: bufio.NewReader(nc)}
}

func (w *wire) write(b []byte) {
	w.tb.Helper()
	if _, err := w.Write(b); err != nil {
		w.tb.Fatalf("write: %v", err)
	}
}

func (w *wire) request(id uint64, typ string, data any) {
	w.tb.Helper()
	w.write(encode(w.tb, id, typ, data))
}

// hello sends hello as request 1 and checks the reply.
func (w *wire) hello() {
	w.tb.Helper()
	w.request(1, protocol.TypeHello, protocol.Hello{Version: protocol.Version, Client: "netio-test"})
	w.expectOK(1)
}

// tryRead reads the next message within d.
func (w *wire) tryRead(d time.Duration) (protocol.Incoming, error) {
	_ = w.SetReadDeadline(time.Now().Add(d))
	payload, err := protocol.ReadFrame(w.br, 1<<20)
	if err != nil {
		return protocol.Incoming{}, err
	}
	return protocol.DecodeIncoming(payload)
}

// read reads the next message, failing the test after 5 s.
func (w *wire) read() protocol.Incoming {
	w.tb.Helper()
	m, err := w.tryRead(5 * time.Second)
	if err != nil {
		w.tb.Fatalf("read: %v", err)
	}
	return m
}

// expectOK reads the next message and checks it is the successful reply to id.
func (w *wire) expectOK(id uint64) protocol.Incoming {
	w.tb.Helper()
	m := w.read()
	if !m.OK || m.ID != id {
		w.tb.Fatalf("got %+v (error %+v), want ok reply to %d", m, m.Error, id)
	}
	return m
}

// expectError reads the next message and checks it is an error with code for id.
func (w *wire) expectError(id uint64, code protocol.Code) protocol.Incoming {
	w.tb.Helper()
	m := w.read()
	if m.OK || m.Error == nil || m.Error.Code != code || m.ID != id {
		w.tb.Fatalf("got %+v (error %+v), want error %s for %d", m, m.Error, code, id)
	}
	return m
}

// expectClosed checks that the server closes the connection within 5 s
// without sending anything more.
func (w *wire) expectClosed() {
	w.tb.Helper()
	if m, err := w.tryRead(5 * time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		w.tb.Fatalf("got %+v, %v; want the connection closed", m, err)
	}
}
