// Package netio owns the TCP control front end: a multicore gnet v2 server
// that frames bytes (DESIGN §1), enforces the per-connection rules (hello
// first, auth and idle timeouts, max frame, global and per-IP connection
// limits, a bounded outbound queue with slow-consumer disconnect) and forwards
// each decoded request to a Handler. It holds no application state and never
// blocks its event loops: replies come back through Conn.Send, which batches
// frames into one AsyncWritev-style flush on the connection's loop.
package netio
