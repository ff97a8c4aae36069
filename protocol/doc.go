// Package protocol owns Huddle's control-protocol wire format: the length-prefixed
// frame codec, the request/response/push envelopes, the error codes and the typed
// payloads of every request family. It is shared by the server, the Go client and
// the load-test harness, so it knows bytes and shapes only: it must not import
// networking, actors or storage, and it must build on every OS.
package protocol
