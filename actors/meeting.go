package actors

import (
	"context"
	"errors"
	"iter"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/media"
	"huddle/protocol"
	"huddle/storage"
)

// meetingState is what a meeting actor owns. Like the other actors' state it
// lives outside the actor value, so a restart after a panic keeps it, the
// relay's part of the forwarding table included: it holds only what the
// database has confirmed.
type meetingState struct {
	loaded  bool
	exists  bool // the meeting is live
	m       storage.Meeting
	members map[string]*storage.MeetingMember
	sources []storage.MediaSource
	relay   *media.Meeting       // the meeting's part of the relay's table, while live
	subs    map[uint64]*connSubs // unicast subscriptions per control connection

	queue    []any // requests (and rings) waiting for a load or a change
	busy     bool  // a load or change is being stored
	received uint64
	ring     *time.Timer // a ringing call's timeout; the call is in Hub.ringing while it is set
	// The member list's pushes: when the last went out, the timer of the
	// next while one is due (a flushMembers on its way), and who must get it
	// besides the present members.
	membersPushed time.Time
	membersDue    *time.Timer
	membersExtra  []string
	rec           *recording // the recording in progress, if any
}

// connSubs is one connection's subscriptions in a meeting, as the relay
// holds them (one per track and address, whoever's they are), so that
// media.max_subscriptions counts what the connection holds, not how often
// it asked.
type connSubs struct {
	conn Conn
	subs map[subKey]string // the member each is for
}

type subKey struct {
	track int
	addr  netip.AddrPort
}

// meetingActor owns one live meeting: its members and their statuses, the
// media sources they registered, and its part of the relay's forwarding
// table, which it alone changes. Changes are stored first and applied once
// stored; requests that come meanwhile wait, so each sees the outcome of the
// ones before it.
type meetingActor struct {
	hub  *Hub
	id   int64
	name string
	st   *meetingState
}

func newMeetingProducer(h *Hub, id int64) actor.Producer {
	st := &meetingState{members: map[string]*storage.MeetingMember{}, subs: map[uint64]*connSubs{}}
	name := meetingPrefix + strconv.FormatInt(id, 10)
	return func() actor.Actor { return &meetingActor{hub: h, id: id, name: name, st: st} }
}

// wakeMeeting makes a live meeting's actor load it at server start, so that
// its registered sources are forwarded again before anyone asks.
type wakeMeeting struct{}

// ringCall makes a new call's actor ring the callee.
type ringCall struct{}

// flushMembers sends the member list a change left waiting (pushMembers).
type flushMembers struct{}

// ringTimeout ends a call nobody answered.
type ringTimeout struct{ created time.Time }

// Receive dispatches on the message type.
func (a *meetingActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if !a.st.loaded && !a.st.busy {
			a.load(ctx)
		}
	case *actor.Restarting:
		a.hub.log.Warn("meeting actor restarting", "meeting", a.id)
	case *actor.Stopping:
		a.stopRing()
		a.flushDueMembers() // now: the timer's message would find no actor
		a.stopRecordingNow()
	case *routed:
		a.st.received++
		switch m := m.msg.(type) {
		case *request, ringCall:
			a.enqueue(ctx, m)
		case wakeMeeting:
		case crash:
			panic("crash requested for " + a.name)
		}
		a.retireIfEnded(ctx)
	case *jobDone:
		a.jobDone(ctx, m)
	case flushMembers:
		a.flushDueMembers()
	case ringTimeout, recordingFull:
		a.enqueue(ctx, m)
	}
}

func (a *meetingActor) enqueue(ctx actor.Context, m any) {
	if a.st.busy || !a.st.loaded {
		if r, ok := m.(*request); ok && len(a.st.queue) >= a.hub.acfg.RequestQueue {
			a.hub.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
			return
		}
		a.st.queue = append(a.st.queue, m)
		if !a.st.busy {
			a.load(ctx)
		}
		return
	}
	a.process(ctx, m)
}

func (a *meetingActor) process(ctx actor.Context, m any) {
	switch m := m.(type) {
	case ringCall:
		a.startRing(ctx)
	case ringTimeout:
		a.ringTimedOut(ctx, m)
	case recordingFull:
		if a.st.exists {
			a.recordingFull(ctx, m)
		}
	case *request:
		if s, _ := m.conn.Session().(*session); s != m.sess {
			a.hub.fail(m, protocol.Errorf(protocol.CodeUnauthorized, "session ended; log in again"))
			return
		}
		if !a.st.exists {
			a.hub.fail(m, protocol.Errorf(protocol.CodeNotFound, "no live meeting %d", a.id))
			return
		}
		a.handle(ctx, m)
	}
}

// job stores a change; the actor is busy until then has run.
func (a *meetingActor) job(ctx actor.Context, r *request, fn func(context.Context) (any, error),
	then func(ctx actor.Context, data any) any) {
	a.st.busy = true
	a.hub.runJob(ctx, r, fn, then)
}

func (a *meetingActor) jobDone(ctx actor.Context, m *jobDone) {
	a.st.busy = false
	switch {
	case m.err != nil && m.req != nil:
		var pe *protocol.Error
		if !errors.As(m.err, &pe) && !errors.Is(m.err, storage.ErrConflict) && !errors.Is(m.err, storage.ErrNotFound) {
			// A change may have been stored in part: read it all again
			// before the next request.
			a.st.loaded = false
		}
		a.hub.fail(m.req, m.err)
	case m.err != nil:
		// The load failed: what waits for it fails with it; the next
		// request tries again.
		a.hub.log.Error("meeting: load or end failed", "meeting", a.id, "err", m.err)
		a.st.loaded = false
		for _, q := range a.st.queue {
			if r, ok := q.(*request); ok {
				a.hub.fail(r, m.err)
			}
		}
		a.st.queue = nil
	default:
		if data := m.outcome(ctx); m.req != nil {
			a.hub.reply(m.req, data)
		}
	}
	for !a.st.busy && len(a.st.queue) > 0 {
		if !a.st.loaded {
			a.load(ctx)
			break
		}
		next := a.st.queue[0]
		a.st.queue[0] = nil
		a.st.queue = a.st.queue[1:]
		a.process(ctx, next)
	}
	a.retireIfEnded(ctx)
}

// retireIfEnded stops an idle actor whose meeting has ended or never
// existed. A live meeting's actor stays: it owns the relay's forwarding.
func (a *meetingActor) retireIfEnded(ctx actor.Context) {
	if a.st.loaded && !a.st.exists && !a.st.busy && len(a.st.queue) == 0 {
		a.hub.dir.retire(a.name, ctx.Self(), a.st.received)
	}
}

// load reads the meeting, its members and its sources, and gives the relay
// its part of the table.
func (a *meetingActor) load(ctx actor.Context) {
	type loaded struct {
		m       storage.Meeting
		members []storage.MeetingMember
		sources []storage.MediaSource
	}
	a.job(ctx, nil, func(sctx context.Context) (any, error) {
		m, err := a.hub.store.GetMeeting(sctx, a.id)
		if errors.Is(err, storage.ErrNotFound) || err == nil && m.State != storage.MeetingLive {
			return loaded{}, nil
		}
		if err != nil {
			return nil, err
		}
		l := loaded{m: m}
		if l.members, err = a.hub.store.MeetingMembers(sctx, a.id); err != nil {
			return nil, err
		}
		l.sources, err = a.hub.store.MediaSources(sctx, a.id)
		return l, err
	}, func(ctx actor.Context, data any) any {
		l := data.(loaded)
		a.st.loaded = true
		a.st.exists = l.m.ID != 0
		if !a.st.exists {
			return nil
		}
		a.st.m = l.m
		clear(a.st.members)
		for _, mm := range l.members {
			a.st.members[mm.User] = &mm
		}
		if a.st.relay == nil {
			a.hub.pool.hold(l.m)
			a.st.relay = a.hub.relay.Open(a.id, multicastAddrs(l.m))
		}
		a.st.sources = nil
		for _, s := range l.sources {
			if err := a.st.relay.Register(a.relaySource(s)); err != nil && !errors.Is(err, media.ErrSSRCTaken) {
				a.hub.log.Error("restore media source", "meeting", a.id, "user", s.User, "source", s.Source, "err", err)
				continue
			}
			a.st.sources = append(a.st.sources, s)
		}
		a.armRing(ctx, false)
		return nil
	})
}

func (a *meetingActor) relaySource(s storage.MediaSource) media.Source {
	return media.Source{
		Member: s.User, Track: protocol.TrackIndex(s.Track), Addr: s.Source, SSRC: s.SSRC,
		PayloadType: protocol.PayloadType(s.Track),
	}
}

// handle runs one request against the live meeting.
func (a *meetingActor) handle(ctx actor.Context, r *request) {
	switch r.Type {
	case protocol.TypeMeetingInvite:
		a.invite(ctx, r)
	case protocol.TypeMeetingAccept, protocol.TypeMeetingJoin:
		a.join(ctx, r)
	case protocol.TypeMeetingDecline:
		a.decline(ctx, r)
	case protocol.TypeMeetingLeave:
		a.leave(ctx, r)
	case protocol.TypeMeetingKick:
		a.kick(ctx, r)
	case protocol.TypeMeetingEnd:
		a.end(ctx, r)
	case protocol.TypeMeetingMembers:
		a.membersRequest(r)
	case protocol.TypeMeetingSDP:
		a.sdp(r)
	case protocol.TypeMeetingSay:
		a.say(ctx, r)
	case protocol.TypeMeetingCaption:
		a.caption(r)
	case protocol.TypeMediaRegister:
		a.register(ctx, r)
	case protocol.TypeMediaUnregister:
		a.unregister(ctx, r)
	case protocol.TypeMediaSubscribe:
		a.subscribe(r)
	case protocol.TypeMediaUnsubscribe:
		a.unsubscribe(r)
	case protocol.TypeRecordStart:
		a.recordStart(ctx, r)
	case protocol.TypeRecordStop:
		a.recordStop(ctx, r)
	case protocol.TypeCallAccept:
		a.callAccept(ctx, r)
	case protocol.TypeCallDecline:
		a.callDecline(ctx, r)
	default:
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", r.Type))
	}
}

// member returns the caller's membership, failing r when the caller is not
// a member (or was kicked) or, with joined, has not joined.
func (a *meetingActor) member(r *request, joined bool) *storage.MeetingMember {
	mm := a.st.members[r.sess.user]
	switch {
	case mm == nil:
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "not a member of meeting %d", a.id))
		return nil
	case mm.Status == storage.StatusKicked:
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "the host removed you from meeting %d", a.id))
		return nil
	case joined && mm.Status != storage.StatusJoined:
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "join meeting %d first", a.id))
		return nil
	}
	return mm
}

// host checks that the caller hosts the meeting.
func (a *meetingActor) host(r *request) bool {
	if a.st.m.Host != r.sess.user {
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "only the host of meeting %d can do that", a.id))
		return false
	}
	return true
}

// withStatus yields the members whose status is one of statuses.
func (a *meetingActor) withStatus(statuses ...string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for u, mm := range a.st.members {
			if slices.Contains(statuses, mm.Status) && !yield(u) {
				return
			}
		}
	}
}

// present yields the members who are invited or joined: those who hear of
// the meeting's changes.
func (a *meetingActor) present() iter.Seq[string] {
	return a.withStatus(storage.StatusInvited, storage.StatusJoined)
}

// push encodes one push and sends it to every session of users.
func (a *meetingActor) push(typ string, data any, users iter.Seq[string]) {
	frame, err := protocol.EncodePush(typ, data)
	if err != nil {
		a.hub.log.Error("encode meeting push", "type", typ, "err", err)
		return
	}
	a.hub.dir.push(frame, 0, users)
}

func (a *meetingActor) memberList() protocol.MeetingMembers {
	out := protocol.MeetingMembers{Meeting: a.id, Members: make([]protocol.MeetingMember, 0, len(a.st.members))}
	for _, u := range slices.Sorted(maps.Keys(a.st.members)) {
		mm := a.st.members[u]
		out.Members = append(out.Members, protocol.MeetingMember{User: u, Role: mm.Role, Status: mm.Status, Online: a.hub.dir.Online(u)})
	}
	return out
}

// pushMembers tells every present member, and extra users (whose status just
// ended their presence), the new member list: at once when the last push is
// old enough, else when it is: meetings.members_push per 100 members (a
// push is a list of all of them to each of them). Every change of a burst
// would otherwise send the whole list to everyone: 1,000 members joining
// were a million lists of 1,000 (69 s to set up such a meeting; 16 s with
// 100 ms between pushes whatever the size, 4.3 s with 1 s).
func (a *meetingActor) pushMembers(ctx actor.Context, extra ...string) {
	a.st.membersExtra = append(a.st.membersExtra, extra...)
	if a.st.membersDue != nil {
		return // the waiting push will show this change too
	}
	every := a.hub.meet.MembersPush * time.Duration(max(1, len(a.st.members)/100))
	wait := time.Until(a.st.membersPushed.Add(every))
	if wait <= 0 {
		a.flushMembers()
		return
	}
	self, root := ctx.Self(), a.hub.system.Root
	a.st.membersDue = time.AfterFunc(wait, func() { root.Send(self, flushMembers{}) })
}

// flushDueMembers sends the member list now if a push is waiting.
func (a *meetingActor) flushDueMembers() {
	if a.st.membersDue != nil {
		a.flushMembers()
	}
}

// flushMembers pushes the member list now (see pushMembers).
func (a *meetingActor) flushMembers() {
	extra := a.st.membersExtra
	if a.st.membersDue != nil {
		a.st.membersDue.Stop() // when the end sends it early
	}
	a.st.membersDue, a.st.membersExtra, a.st.membersPushed = nil, nil, time.Now()
	a.push(protocol.PushMeetingMembers, a.memberList(), func(yield func(string) bool) {
		for u := range a.present() {
			if !yield(u) {
				return
			}
		}
		sent := make(map[string]bool, len(extra))
		for _, u := range extra {
			if mm := a.st.members[u]; mm != nil && mm.Status != storage.StatusInvited && mm.Status != storage.StatusJoined && !sent[u] {
				sent[u] = true
				if !yield(u) {
					return
				}
			}
		}
	})
}

func (a *meetingActor) membersRequest(r *request) {
	if a.member(r, false) == nil {
		return
	}
	a.hub.reply(r, a.memberList())
}
