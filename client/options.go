package client

import (
	"net/netip"
	"time"

	"huddle/protocol"
)

// DefaultPushBuffer is the default capacity of the push channel.
const DefaultPushBuffer = 256

// DefaultClientName is sent in hello unless WithClientName says otherwise.
const DefaultClientName = "huddle-go/1"

// Defaults of the file data channel (see files_http.go).
const (
	DefaultStallTimeout   = time.Minute      // a transfer that moves no bytes this long is cut
	DefaultDialTimeout    = 10 * time.Second // connecting to the data channel
	DefaultHeaderTimeout  = 2 * time.Minute  // waiting for a response, e.g. while the server verifies and syncs a big upload
	DefaultTransferTries  = 8                // attempts in a row without progress before a transfer gives up (about 16s of backoff)
	defaultTransferBuffer = 256 << 10
)

type options struct {
	pushBuffer  int
	pushHandler func(protocol.Push)
	clientName  string
	heartbeat   time.Duration // 0: the server's interval; < 0: off
	localIP     netip.Addr    // the control connection's source; invalid: the system's choice

	stallTimeout  time.Duration
	dialTimeout   time.Duration
	headerTimeout time.Duration
	transferTries int
}

func defaultOptions() options {
	return options{pushBuffer: DefaultPushBuffer, clientName: DefaultClientName,
		stallTimeout: DefaultStallTimeout, dialTimeout: DefaultDialTimeout,
		headerTimeout: DefaultHeaderTimeout, transferTries: DefaultTransferTries}
}

// Option configures Dial.
type Option func(*options)

// WithPushBuffer sets the capacity of the push channel (at least 1). Pushes
// that arrive while it is full are dropped and counted by DroppedPushes.
func WithPushBuffer(n int) Option {
	return func(o *options) { o.pushBuffer = max(n, 1) }
}

// WithPushHandler makes the connection's reader goroutine call fn with
// each push instead of sending it to the Pushes channel (which then stays
// empty). fn runs before the reader reads on: it must return quickly, for
// every response and push behind it waits, and it must not call the
// client. It is for consumers that cannot afford a goroutine switch per
// push, such as a load generator counting hundreds of thousands a second.
func WithPushHandler(fn func(protocol.Push)) Option {
	return func(o *options) { o.pushHandler = fn }
}

// WithClientName sets the client string sent in hello, e.g. "huddle-cli/0.3".
func WithClientName(name string) Option {
	return func(o *options) { o.clientName = name }
}

// WithLocalIP makes the control connection come from ip, on a host with
// more than one address. The server takes that address as the client's
// host: media sources it registers must be on it, and failed logins are
// counted per address.
func WithLocalIP(ip netip.Addr) Option {
	return func(o *options) { o.localIP = ip }
}

// WithHeartbeat overrides the ping interval the server announces in its hello
// reply. A connection whose ping is not answered within one interval is
// treated as lost. d < 0 turns heartbeats off.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) { o.heartbeat = d }
}

// WithStallTimeout sets how long a file transfer may move no bytes before
// it is cut and retried (DefaultStallTimeout). There is no overall timeout:
// a big file takes the time it takes.
func WithStallTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.stallTimeout = d
		}
	}
}
