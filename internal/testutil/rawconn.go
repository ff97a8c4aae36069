package testutil

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"huddle/protocol"
)

// RawConn is a framed TCP connection without any client logic, for tests
// that send what a well-behaved client never would.
type RawConn struct {
	tb testing.TB
	net.Conn
}

// DialRaw connects to addr.
func DialRaw(tb testing.TB, addr string) *RawConn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return &RawConn{tb: tb, Conn: c}
}

// WriteBytes writes raw bytes.
func (c *RawConn) WriteBytes(b []byte) {
	c.tb.Helper()
	if _, err := c.Write(b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// Request writes one framed request.
func (c *RawConn) Request(id uint64, typ string, data any) {
	c.tb.Helper()
	frame, err := protocol.EncodeRequest(id, typ, data)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.WriteBytes(frame)
}

// Hello sends hello and checks the reply.
func (c *RawConn) Hello() {
	c.tb.Helper()
	c.Request(1, protocol.TypeHello, protocol.Hello{Version: protocol.Version, Client: "raw-test"})
	if m := c.Read(); !m.OK {
		c.tb.Fatalf("hello failed: %+v", m.Error)
	}
}

// Read reads the next message, failing the test after 5 s.
func (c *RawConn) Read() protocol.Incoming {
	c.tb.Helper()
	m, err := c.TryRead(5 * time.Second)
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	return m
}

// TryRead reads the next message within d.
func (c *RawConn) TryRead(d time.Duration) (protocol.Incoming, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	payload, err := protocol.ReadFrame(c.Conn, 64<<20)
	if err != nil {
		return protocol.Incoming{}, err
	}
	return protocol.DecodeIncoming(payload)
}

// ExpectError reads a message and checks it is an error with code.
func (c *RawConn) ExpectError(code protocol.Code) protocol.Incoming {
	c.tb.Helper()
	m := c.Read()
	if m.OK || m.Error == nil || m.Error.Code != code {
		c.tb.Fatalf("got %+v (error %+v), want error %s", m, m.Error, code)
	}
	return m
}

// ExpectClosed checks that the server closes the connection within 5 s,
// skipping any frames still in flight.
func (c *RawConn) ExpectClosed() {
	c.tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		if _, err := c.Conn.Read(buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return
		}
	}
	c.tb.Fatal("server did not close the connection")
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
