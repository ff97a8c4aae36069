package actors

import (
	"net/netip"
	"sync/atomic"
)

// Conn is what actors need of a client connection; netio.Conn implements it.
type Conn interface {
	ID() uint64
	RemoteAddr() netip.Addr
	// Send queues encoded frames, to go out together, without blocking;
	// false means the connection is gone or was dropped as a slow consumer.
	Send(frames ...[]byte) bool
	// CloseWith sends a last frame and closes.
	CloseWith(frame []byte)
	// SetSession attaches per-connection state (nil detaches it); false when
	// the connection has already closed.
	SetSession(s any) bool
	Session() any
	// Closed reports whether the connection has closed; once it has, the
	// handler's ConnClosed has run or is about to.
	Closed() bool
}

// session is the state attached to an authenticated connection.
type session struct {
	user      string
	tokenHash []byte
	// loggingOut is set on the connection's event loop when it reads
	// auth.logout, so that requests pipelined behind the logout are refused
	// even when they reach other actors before the logout is done.
	loggingOut atomic.Bool
}
