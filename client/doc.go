// Package client is Huddle's Go client library: it dials the control
// protocol (DESIGN §1), says hello, pipelines requests over one TCP connection
// and hands server pushes to the caller on a bounded channel. It owns one
// connection at a time and the session token that lets it resume after a
// reconnect. File bytes never go over that connection: UploadFile and
// DownloadFile move them over HTTP to the URL the server hands out (DESIGN
// §3), resuming interrupted transfers and checking SHA-256.
//
// It imports only the protocol package, internal/writeback (a no-op off
// Linux), golang.org/x/sys on Linux and the standard library, so that it
// builds on every OS the CLI ships for; it must not learn about the
// server's internals. It never blocks its reader on a slow push consumer
// (pushes are dropped and counted instead, because a blocked reader would
// also stall every response), unless the caller asks for its pushes on the
// reader itself (WithPushHandler).
package client
