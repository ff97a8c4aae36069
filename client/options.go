package client

import "time"

// DefaultPushBuffer is the default capacity of the push channel.
const DefaultPushBuffer = 256

// DefaultClientName is sent in hello unless WithClientName says otherwise.
const DefaultClientName = "huddle-go/1"

type options struct {
	pushBuffer int
	clientName string
	heartbeat  time.Duration // 0: the server's interval; < 0: off
}

func defaultOptions() options {
	return options{pushBuffer: DefaultPushBuffer, clientName: DefaultClientName}
}

// Option configures Dial.
type Option func(*options)

// WithPushBuffer sets the capacity of the push channel (at least 1). Pushes
// that arrive while it is full are dropped and counted by DroppedPushes.
func WithPushBuffer(n int) Option {
	return func(o *options) { o.pushBuffer = max(n, 1) }
}

// WithClientName sets the client string sent in hello, e.g. "huddle-cli/0.3".
func WithClientName(name string) Option {
	return func(o *options) { o.clientName = name }
}

// WithHeartbeat overrides the ping interval the server announces in its hello
// reply. A connection whose ping is not answered within one interval is
// treated as lost. d < 0 turns heartbeats off.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) { o.heartbeat = d }
}
