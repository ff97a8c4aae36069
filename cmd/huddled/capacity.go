package main

import (
	"log/slog"
	"strings"

	"huddle/configs"
)

// logCapacity works out how many connections huddled can hold under the
// file limit fdLimit (0: unknown), logs it once and returns it. huddled runs
// with that number as net.max_conns, so that connections beyond what the
// descriptors allow are refused cleanly rather than failing in accept, and
// every later log line's max_conns is the same number.
func logCapacity(log *slog.Logger, cfg configs.Config, fdLimit uint64) int {
	want := cfg.Net.MaxConns
	reserve := fdReserve(cfg)
	got := connCapacity(want, fdLimit, reserve)
	if got < want {
		log.Info("connection capacity capped by the file limit",
			"max_conns", got, "net.max_conns", want, "fd_limit", fdLimit, "fd_reserved", reserve)
	} else {
		log.Info("connection capacity", "max_conns", got, "fd_limit", fdLimit)
	}
	return got
}

// connCapacity is want connections, or fewer if the file limit less the
// descriptors reserved for everything else cannot hold them.
func connCapacity(want int, fdLimit, reserve uint64) int {
	if fdLimit == 0 {
		return want
	}
	if fdLimit <= reserve {
		return 1
	}
	return int(min(uint64(want), fdLimit-reserve))
}

// fdReserve estimates the descriptors huddled holds besides connections:
// stdio, the control and HTTP listeners, each event loop's poller and
// wake-up descriptor, the store's pool (an SQLite connection keeps the
// database, its -wal and -shm files open), and slack for files being served
// and the odd DNS lookup. An estimate that errs high costs a few
// connections; one that errs low turns the last connections' accepts into
// EMFILE.
func fdReserve(cfg configs.Config) uint64 {
	const stdio, listeners, slack = 3, 2, 64
	pool := cfg.Storage.MySQLMaxOpen
	if strings.HasPrefix(cfg.EffectiveStore(), "sqlite:") {
		pool = 3 * cfg.Storage.SQLiteMaxConns
	}
	return uint64(stdio + listeners + 2*cfg.Net.EffectiveEventLoops() + pool + slack)
}
