package actors

import (
	"bytes"
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// userState is what a user actor owns. It lives outside the actor value so
// that a supervisor restart (which makes a new value) keeps the sessions.
type userState struct {
	sessions  map[uint64]*userSession
	friends   map[string]string // other user → storage.Friend* state; nil until loaded
	profile   *protocol.Profile // cached after the first user.get; nil when unknown
	announced bool              // friends were told this user is online
	offlineAt uint64            // counts goings-offline; an offlineCheck for an older one is stale
	offline   *time.Timer       // sends the pending offlineCheck
	queue     []any             // requests and attaches waiting while busy
	busy      bool              // a storage job is running
	received  uint64            // messages received through the directory
	idleness  idleTimer
}

type userSession struct {
	conn      Conn
	tokenHash []byte
}

// userActor is the actor of one user: it owns that user's sessions (several
// devices at once), presence and the pushes to its connections, and runs the
// user's requests one at a time so that replies keep their order.
type userActor struct {
	hub  *Hub
	name string
	st   *userState
}

func newUserProducer(h *Hub, name string) actor.Producer {
	st := &userState{sessions: make(map[uint64]*userSession)}
	return func() actor.Actor { return &userActor{hub: h, name: name, st: st} }
}

// attach binds an authenticated connection to the user and answers its
// login or resume request.
type attach struct {
	req       *request
	tokenHash []byte
	reply     protocol.Session
}

// detach unbinds a closed connection.
type detach struct{ connID uint64 }

// jobDone brings the result of off-actor work back into the actor.
type jobDone struct {
	req  *request // nil for the actor's own jobs
	data any
	err  error
	then func(ctx actor.Context, data any) any // runs in the actor on success; returns the reply
}

// outcome runs then, if the job has one, and returns the reply data.
func (m *jobDone) outcome(ctx actor.Context) any {
	if m.then != nil {
		return m.then(ctx, m.data)
	}
	return m.data
}

// Receive dispatches on the message type.
func (a *userActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.st.idleness.after = a.hub.acfg.UserIdle
		a.st.idleness.touch()
		a.st.idleness.arm(ctx)
		if a.st.friends == nil && !a.st.busy {
			a.loadFriends(ctx)
		}
	case *actor.Restarting:
		a.hub.log.Warn("user actor restarting", "user", a.name)
	case *actor.Stopping:
		a.stopOfflineTimer() // nobody is left to tell
		a.st.idleness.stop()
	case idleCheck:
		a.maybePassivate(ctx)
	case *routed:
		a.st.received++
		a.st.idleness.touch()
		a.receiveRouted(ctx, m.msg)
	case *jobDone:
		a.handleJobDone(ctx, m)
	case retryLoad:
		a.loadFriends(ctx)
	case offlineCheck:
		if m.n == a.st.offlineAt && len(a.st.sessions) == 0 {
			a.announce(false)
		}
	}
}

// offlineCheck comes presence_grace after the last session ended.
type offlineCheck struct{ n uint64 }

// receiveRouted handles what came through the directory.
func (a *userActor) receiveRouted(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case *request, *attach:
		a.enqueue(ctx, m)
	case *detach:
		a.handleDetach(ctx, m)
	case *friendEvent:
		a.handleFriendEvent(m)
	case *presenceEvent:
		a.handlePresence(m)
	case crash:
		panic("crash requested for user " + a.name)
	}
}

func (a *userActor) enqueue(ctx actor.Context, m any) {
	if a.st.busy {
		if len(a.st.queue) >= a.hub.acfg.RequestQueue {
			if r, ok := m.(*request); ok {
				a.hub.fail(r, protocol.Errorf(protocol.CodeRateLimited, "too many requests in flight"))
				return
			}
		}
		a.st.queue = append(a.st.queue, m)
		return
	}
	a.process(ctx, m)
}

// process handles one queued item; it may start a job, which makes the actor busy.
func (a *userActor) process(ctx actor.Context, m any) {
	switch m := m.(type) {
	case *attach:
		a.handleAttach(ctx, m)
	case *request:
		if m.sess == nil || a.st.sessions[m.conn.ID()] == nil {
			a.hub.fail(m, protocol.Errorf(protocol.CodeUnauthorized, "session ended; log in again"))
			return
		}
		a.handleRequest(ctx, m)
	}
}

func (a *userActor) handleRequest(ctx actor.Context, r *request) {
	switch r.Type {
	case protocol.TypeUserGet:
		a.userGet(ctx, r)
	case protocol.TypeUserUpdate:
		a.userUpdate(ctx, r)
	case protocol.TypeAuthLogout:
		a.logout(ctx, r)
	case protocol.TypeAuthPasswd:
		a.passwd(ctx, r)
	case protocol.TypeFriendAdd:
		a.friendAdd(ctx, r)
	case protocol.TypeFriendAccept:
		a.friendAccept(ctx, r)
	case protocol.TypeFriendRemove:
		a.friendRemove(ctx, r)
	case protocol.TypeFriendList:
		a.friendList(ctx, r)
	case protocol.TypeMsgUnread:
		a.msgUnread(ctx, r)
	case protocol.TypeGroupList:
		a.groupList(ctx, r)
	case protocol.TypeFileUpload:
		a.fileUpload(ctx, r)
	case protocol.TypeFileDownload:
		a.fileDownload(ctx, r)
	case protocol.TypeFileList:
		a.fileList(ctx, r)
	case protocol.TypeRecordingList:
		a.recordingList(ctx, r)
	case protocol.TypeRecordingGet:
		a.recordingGet(ctx, r)
	case protocol.TypeMeetingCreate:
		a.meetingCreate(ctx, r)
	case protocol.TypeMeetingList:
		a.meetingList(ctx, r)
	case protocol.TypeCallStart:
		a.callStart(ctx, r)
	default:
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", r.Type))
	}
}

// job runs fn off the actor with a storage deadline and comes back with a
// jobDone; then (optional) runs inside the actor on success and returns the
// reply data. While a job runs the actor is busy and queues further requests.
func (a *userActor) job(ctx actor.Context, r *request, fn func(context.Context) (any, error),
	then func(ctx actor.Context, data any) any) {
	a.st.busy = true
	a.hub.runJob(ctx, r, fn, then)
}

// retryLoad asks the actor to try loading its friends again.
type retryLoad struct{}

func (a *userActor) handleJobDone(ctx actor.Context, m *jobDone) {
	a.st.busy = false
	switch {
	case m.err != nil && m.req != nil:
		a.hub.fail(m.req, m.err)
	case m.err != nil:
		// Only the friends load runs without a request. Requests keep waiting
		// for it (the actor stays busy) and it is retried after a pause.
		a.hub.log.Error("load friends failed; retrying", "user", a.name, "err", m.err)
		a.st.busy = true
		self, root := ctx.Self(), a.hub.system.Root
		time.AfterFunc(a.hub.acfg.RestartBackoff*10, func() { root.Send(self, retryLoad{}) })
		return
	default:
		if data := m.outcome(ctx); m.req != nil {
			a.hub.reply(m.req, data)
		}
	}
	for !a.st.busy && len(a.st.queue) > 0 {
		next := a.st.queue[0]
		a.st.queue[0] = nil
		a.st.queue = a.st.queue[1:]
		a.process(ctx, next)
	}
}

func (a *userActor) handleAttach(ctx actor.Context, m *attach) {
	c := m.req.conn
	sess := &session{user: a.name, tokenHash: m.tokenHash}
	if !c.SetSession(sess) {
		a.hub.fail(m.req, protocol.Errorf(protocol.CodeUnavailable, "connection closed"))
		return
	}
	a.st.sessions[c.ID()] = &userSession{conn: c, tokenHash: m.tokenHash}
	a.publishConns()
	m.reply.FriendRequests = a.friendRequests()
	a.hub.reply(m.req, m.reply)
	for _, call := range a.hub.ringing.of(a.name) { // rung before this session was open
		if frame, err := protocol.EncodePush(protocol.PushCallRing, call); err == nil {
			c.Send(frame)
		}
	}
	if len(a.st.sessions) == 1 {
		a.announce(true)
	}
}

func (a *userActor) handleDetach(ctx actor.Context, m *detach) {
	if _, ok := a.st.sessions[m.connID]; !ok {
		return
	}
	delete(a.st.sessions, m.connID)
	a.wentOffline(ctx)
}

// wentOffline runs after sessions ended: it publishes the rest and, when
// none is left for presence_grace, tells friends. A client that reconnects
// at once, or a CLI running one command after another, does not make its
// user flicker offline and online.
func (a *userActor) wentOffline(ctx actor.Context) {
	a.publishConns()
	if len(a.st.sessions) > 0 {
		return
	}
	grace := a.hub.acfg.PresenceGrace
	if grace == 0 {
		a.announce(false)
		return
	}
	a.st.offlineAt++
	n, self, root := a.st.offlineAt, ctx.Self(), a.hub.system.Root
	a.stopOfflineTimer()
	a.st.offline = time.AfterFunc(grace, func() { root.Send(self, offlineCheck{n}) })
}

func (a *userActor) stopOfflineTimer() {
	if a.st.offline != nil {
		a.st.offline.Stop()
		a.st.offline = nil
	}
}

// publishConns gives the directory a fresh snapshot of the user's
// connections, which fan-out reads without asking this actor.
func (a *userActor) publishConns() {
	conns := make([]Conn, 0, len(a.st.sessions))
	for _, s := range a.st.sessions {
		conns = append(conns, s.conn)
	}
	a.hub.dir.setConns(a.name, conns)
}

// endSession removes a session of this user whose token is no longer valid.
func (a *userActor) endSession(id uint64, push []byte) {
	s := a.st.sessions[id]
	if s == nil {
		return
	}
	delete(a.st.sessions, id)
	s.conn.SetSession(nil)
	if push != nil {
		s.conn.CloseWith(push)
	}
}

// revokeOthers ends every session except the one with keep's token.
func (a *userActor) revokeOthers(ctx actor.Context, keep []byte, reason string) {
	push, _ := protocol.EncodePush(protocol.PushSessionRevoked, protocol.SessionRevoked{Reason: reason})
	for id, s := range a.st.sessions {
		if !bytes.Equal(s.tokenHash, keep) {
			a.endSession(id, push)
		}
	}
	a.wentOffline(ctx)
}

// pushAll sends one encoded frame to every session of the user.
func (a *userActor) pushAll(frame []byte) {
	for _, s := range a.st.sessions {
		s.conn.Send(frame)
	}
}

// maybePassivate stops an actor that has no sessions and nothing to do; the
// next message for the user starts a new one.
func (a *userActor) maybePassivate(ctx actor.Context) {
	if !a.st.idleness.idle() {
		a.st.idleness.arm(ctx)
		return
	}
	if len(a.st.sessions) > 0 || a.st.busy || len(a.st.queue) > 0 || a.st.announced ||
		!a.hub.dir.retire(userPrefix+a.name, ctx.Self(), a.st.received) {
		a.st.idleness.touch() // busy now: look again a whole period later
		a.st.idleness.arm(ctx)
	}
}

// loadFriends fills the friends cache; requests queue until it is done.
func (a *userActor) loadFriends(ctx actor.Context) {
	a.job(ctx, nil, func(sctx context.Context) (any, error) {
		return a.hub.store.ListFriends(sctx, a.name)
	}, func(ctx actor.Context, data any) any {
		a.st.friends = make(map[string]string)
		for _, f := range data.([]storage.Friend) {
			a.st.friends[f.User] = f.State
		}
		if len(a.st.sessions) > 0 && !a.st.announced {
			a.announce(true)
		}
		return nil
	})
}
