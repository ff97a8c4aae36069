package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// A call is a two-person meeting: the caller hosts it, the callee is invited
// and rung (call.ring on every session) until they accept, decline, or
// meetings.ring_timeout passes. Accepting joins; declining, the timeout and
// either side leaving end the meeting, and call.ended tells both why.

// callee returns the invited side of a call, nil when m is not a call.
func (a *meetingActor) callee() *storage.MeetingMember {
	if a.st.m.Kind != storage.KindCall {
		return nil
	}
	for _, mm := range a.st.members {
		if mm.Role != storage.MeetingHost {
			return mm
		}
	}
	return nil
}

// startRing rings the callee of a call just created.
func (a *meetingActor) startRing(ctx actor.Context) {
	c := a.callee()
	if !a.st.exists || c == nil || c.Status != storage.StatusInvited {
		return
	}
	a.push(protocol.PushCallRing, protocol.CallInfo{Meeting: a.id, Caller: a.st.m.Host, Callee: c.User}, func(yield func(string) bool) { yield(c.User) })
	a.armRing(ctx, true)
}

// armRing starts the ring timeout of a call whose callee has not answered:
// the whole timeout for a new call, what is left of it for one loaded again
// (after a restart, an expired ring ends the call at once).
func (a *meetingActor) armRing(ctx actor.Context, fresh bool) {
	c := a.callee()
	if c == nil || c.Status != storage.StatusInvited {
		return
	}
	wait := a.hub.meet.RingTimeout
	if !fresh {
		wait = time.Until(a.st.m.Created.Add(wait))
	}
	a.stopRing()
	self, root, created := ctx.Self(), a.hub.system.Root, a.st.m.Created
	a.st.ring = time.AfterFunc(max(wait, 0), func() { root.Send(self, ringTimeout{created: created}) })
	a.hub.ringing.add(c.User, a.id, a.st.m.Host)
}

// stopRing stops the ring timeout (harmless when it has just fired) and
// takes the call out of Hub.ringing.
func (a *meetingActor) stopRing() {
	if a.st.ring == nil {
		return
	}
	a.st.ring.Stop()
	a.st.ring = nil
	if c := a.callee(); c != nil { // a call's callee stays a member
		a.hub.ringing.remove(c.User, a.id)
	}
}

// ringing is every call that rings now, by callee, with its caller: a
// session the callee opens while one rings is rung too (userActor's
// handleAttach), as the sessions open when it started were.
type ringing struct {
	mu    sync.Mutex
	calls map[string]map[int64]string // callee → meeting → caller
}

func (r *ringing) add(callee string, meeting int64, caller string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = make(map[string]map[int64]string)
	}
	if r.calls[callee] == nil {
		r.calls[callee] = make(map[int64]string)
	}
	r.calls[callee][meeting] = caller
}

func (r *ringing) remove(callee string, meeting int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.calls[callee], meeting)
	if len(r.calls[callee]) == 0 {
		delete(r.calls, callee)
	}
}

// of lists the calls ringing callee.
func (r *ringing) of(callee string) []protocol.CallInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.CallInfo
	for m, caller := range r.calls[callee] {
		out = append(out, protocol.CallInfo{Meeting: m, Caller: caller, Callee: callee})
	}
	return out
}

// ringTimedOut ends a call nobody answered. It waits its turn in the queue
// like a request: an accept may be being stored.
func (a *meetingActor) ringTimedOut(ctx actor.Context, m ringTimeout) {
	a.stopRing()
	if c := a.callee(); a.st.exists && a.st.m.Created.Equal(m.created) && c != nil && c.Status == storage.StatusInvited {
		a.endMeeting(ctx, nil, protocol.CallTimeout)
	}
}

// calleeOnly checks that the caller is the callee of a ringing call.
func (a *meetingActor) calleeOnly(r *request) *storage.MeetingMember {
	c := a.callee()
	switch {
	case c == nil:
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "meeting %d is not a call", a.id))
	case c.User != r.sess.user:
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "only %s can answer call %d", c.User, a.id))
	default:
		return c
	}
	return nil
}

func (a *meetingActor) callAccept(ctx actor.Context, r *request) {
	if a.calleeOnly(r) == nil {
		return
	}
	a.join(ctx, r)
}

// callDecline ends a call: the callee turns it down (or hangs up).
func (a *meetingActor) callDecline(ctx actor.Context, r *request) {
	c := a.calleeOnly(r)
	if c == nil {
		return
	}
	reason := protocol.CallDeclined
	if c.Status == storage.StatusJoined {
		reason = protocol.CallHangup
	}
	a.endMeeting(ctx, r, reason)
}
