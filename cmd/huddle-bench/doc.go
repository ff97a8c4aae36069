// Command huddle-bench is Huddle's load-test harness. It drives a running
// huddled through the client library, like real clients would, and prints one
// summary per scenario: a table by default, one JSON object with --json.
//
//	huddle-bench [--server HOST:PORT] [--json] SCENARIO [flags]
//
// Scenarios:
//
//	request  logged-in connections doing user.get round trips (requests/s, latency)
//	connect  connect, resume a session, close, over and over: a reconnect storm (connects/s, latency)
//	login    password logins against registered users (logins/s at the server's argon2id cost)
//	idle     authenticated connections held open, and the server's RSS per connection
//	chat     private messages, each sender to its own online peer (acked messages/s, send→ack latency)
//	fanout   messages to one group of online members (pushes received/s, send→push latency)
//	mixed    one group's members sending, reading history, typing and asking user.get at random (requests/s)
//	file     one file uploaded and downloaded over the data channel (MiB/s, server RSS), next to plain net/http
//	media    RTP through the relay to unicast subscribers (packets/s, send→receive latency, the relay's own)
//	hop      media's load through a bare forwarder process, no server (Linux): the latency floor under the relay
//
// It registers its own users (bench_<random>_<n>); it never reads or changes
// anyone else's. It owns only load generation and measurement: it must not
// import server internals, so what it measures is what a client sees.
package main
