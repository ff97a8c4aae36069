// Package record is the server's meeting recorder: while it runs, it
// writes every track of one meeting into a directory of standard files —
// Ogg/Opus per audio source, IVF/VP8 per video and screen source, one
// WebVTT file each for the text and caption tracks — and tells, when it
// stops, what each file holds (size, SHA-256, packets). Describe does the
// same for a directory a crash left behind.
//
// It is an ordinary unicast subscriber of the relay (member Member, one UDP
// socket per track) and must stay one: it uses the table's public calls
// (Subscribe, Unsubscribe, SourceOf) and never the packet path, and it
// must not know users, connections or storage. The meeting actor starts
// and stops it and persists what Stop returns. It writes only into its
// own directory, within Config's limits.
// docs/media.md ("Recording") explains the files and what a crash leaves.
package record
