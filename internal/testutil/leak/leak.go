// Package leak holds the goroutines that goleak may ignore in this module's
// tests: process-lifetime pools of libraries and goroutines that finish a
// moment after the thing that owns them was closed. It imports nothing of
// Huddle, so that any package's tests can use it.
package leak

import "go.uber.org/goleak"

// Options are the goleak options every TestMain in this module uses.
func Options() []goleak.Option {
	return []goleak.Option{
		// gnet's package-level default worker pool starts its janitors at
		// init and keeps them for the life of the process.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		// A MySQL connection's watcher and database/sql's opener finish a
		// moment after the pool is closed; protoactor's throttle timer too.
		goleak.IgnoreTopFunction("github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher.func1"),
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1.1"),
		// protoactor's dead-letter log throttle waits out its period in a
		// goroutine after a message reached a stopped actor during shutdown.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	}
}
