// Package server wires huddled together: it opens the store named by the
// configuration, starts the actor hub and the gnet front end, and shuts them
// down in order (stop accepting → finish in-flight → flush → close). It owns
// no logic of its own; cmd/huddled and the end-to-end tests both use it.
package server
