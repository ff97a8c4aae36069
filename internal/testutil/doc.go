// Package testutil holds helpers shared by Huddle's tests: a full server on
// 127.0.0.1:0 over either backend, fresh MySQL databases, and a raw framed
// connection for protocol-level tests. It is imported by tests only.
// Subpackages that must stay light do not import it: clifake (a fake control
// server) and proc (built binaries run as processes).
package testutil
