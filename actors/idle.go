package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// idleTimer tells an actor when it has received nothing for a while, so
// that it can passivate. protoactor's SetReceiveTimeout would do, but its
// timer goroutine and the mailbox goroutine touch the same fields without a
// lock (the race detector catches it when a message arrives as the timeout
// fires), so actors keep their own: a timer that sends them idleCheck.
type idleTimer struct {
	after time.Duration
	last  time.Time // when the actor last received a message from outside
	timer *time.Timer
}

// idleCheck asks an actor whether it has been idle long enough to stop.
type idleCheck struct{}

// arm schedules the next check at last+after.
func (t *idleTimer) arm(ctx actor.Context) {
	t.stop()
	self, root := ctx.Self(), ctx.ActorSystem().Root
	wait := max(time.Until(t.last.Add(t.after)), time.Millisecond)
	t.timer = time.AfterFunc(wait, func() { root.Send(self, idleCheck{}) })
}

// touch records activity.
func (t *idleTimer) touch() { t.last = time.Now() }

// idle reports whether nothing came for the whole period.
func (t *idleTimer) idle() bool { return time.Since(t.last) >= t.after }

func (t *idleTimer) stop() {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}
