package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/configs"
	"huddle/media"
	"huddle/protocol"
	"huddle/storage"
)

// Hub routes requests from connections to the actors that own them and runs
// the account flows (register, login, resume) that precede a session.
type Hub struct {
	store  storage.Store
	log    *slog.Logger
	auth   configs.Auth
	acfg   configs.Actors
	chat   configs.Chat
	system *actor.ActorSystem
	dir    *Directory
	hasher *Hasher
	writer msgWriters
	files  Files
	relay  *media.Relay
	pool   *addrPool
	// ringing: the calls that ring now, for the sessions their callees open
	ringing ringing

	meet     configs.Meetings
	mediaCfg configs.Media

	failAccount      *Limiter // key: account and IP (failKey)
	failAccountTotal *Limiter // key: account
	failIP           *Limiter
	registerIP       *Limiter

	inflight     atomic.Int64
	writerFull   atomic.Int64  // messages refused because the writer's queue was full
	readsLimited atomic.Int64  // history and read requests refused over the bound
	accountSlots chan struct{} // bounds concurrent register/login/resume flows
	now          func() time.Time
}

// Files is what the actors need of file sharing (files.Service): it
// authorizes transfers, whose bytes move over the HTTP data channel.
type Files interface {
	Upload(ctx context.Context, sender string, in protocol.FileUpload) (protocol.FileUploadReply, error)
	Download(ctx context.Context, user, id string) (protocol.FileDownloadReply, error)
	List(ctx context.Context, user string, in protocol.FileList) (protocol.FileListReply, error)

	// RecordingDir is where a recording's files go.
	RecordingDir(id int64) string
	// Recordings lists the recordings user may download.
	Recordings(ctx context.Context, user string, in protocol.RecordingList) (protocol.RecordingListReply, error)
	// Recording authorizes user to download a recording's files.
	Recording(ctx context.Context, user string, id int64) (protocol.RecordingGetReply, error)
}

// NewHub starts the actor system, the password hasher and the message
// writer. Meetings forward their media through relay.
func NewHub(store storage.Store, files Files, relay *media.Relay, cfg configs.Config, log *slog.Logger) *Hub {
	auth, acfg, chat := cfg.Auth, cfg.Actors, cfg.Chat
	first, last := cfg.Media.PortRange()
	h := &Hub{
		store:            store,
		files:            files,
		relay:            relay,
		pool:             newAddrPool(cfg.Media.MulticastPrefix(), first, last),
		meet:             cfg.Meetings,
		mediaCfg:         cfg.Media,
		log:              log,
		auth:             auth,
		acfg:             acfg,
		chat:             chat,
		system:           actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log.With("lib", "protoactor") })),
		hasher:           NewHasher(Argon2Params{Memory: auth.Argon2Memory, Time: auth.Argon2Time, Threads: auth.Argon2Threads}, auth.EffectiveHashWorkers(), auth.HashQueue),
		failAccount:      NewLimiter(auth.FailPerAccount, auth.FailWindow),
		failAccountTotal: NewLimiter(auth.FailPerAccountTotal, auth.FailWindow),
		failIP:           NewLimiter(auth.FailPerIP, auth.FailWindow),
		registerIP:       NewLimiter(auth.RegisterPerIP, auth.FailWindow),
		now:              time.Now,
		// Every flow waits for at most one hash: beyond the workers and their
		// queue, a flow could only wait to be refused.
		accountSlots: make(chan struct{}, auth.EffectiveHashWorkers()+auth.HashQueue),
	}
	for range max(chat.Writers, 1) {
		h.writer = append(h.writer, newMsgWriter(h.system.Root, store, log, chat.BatchSize, chat.WriterQueue, chat.BatchDelay, acfg.StoreTimeout))
	}
	h.dir = newDirectory(h)
	return h
}

// Stats are the actors' counters.
type Stats struct {
	LiveActors   int   // user and conversation actors running
	WriterFull   int64 // messages refused with unavailable: the writer's queue was full
	ReadsLimited int64 // reads refused with rate_limited: too many at once in one conversation
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	return Stats{LiveActors: h.dir.Live(), WriterFull: h.writerFull.Load(), ReadsLimited: h.readsLimited.Load()}
}

// Directory returns the hub's actor directory.
func (h *Hub) Directory() *Directory { return h.dir }

// request is one client request on its way to, or inside, an actor.
type request struct {
	conn Conn
	sess *session
	in   any // the decoded data, for requests routed by their data
	// answer is the encoded response, held while an earlier request of the
	// same conversation has not been answered (see convActor.answer).
	answer []byte
	protocol.Request
}

// HandleRequest is called on a gnet event loop for every request after
// hello: it only decides where the request goes and returns.
func (h *Hub) HandleRequest(c Conn, req protocol.Request) {
	h.inflight.Add(1)
	r := &request{conn: c, Request: req}
	r.sess, _ = c.Session().(*session)
	switch req.Type {
	case protocol.TypeAuthRegister, protocol.TypeAuthLogin, protocol.TypeAuthResume:
		if r.sess != nil {
			h.fail(r, protocol.Errorf(protocol.CodeConflict, "already logged in as %s; log out first", r.sess.user))
			return
		}
		select {
		case h.accountSlots <- struct{}{}:
			go h.account(r)
		default:
			h.fail(r, protocol.Errorf(protocol.CodeUnavailable, "server busy, retry later"))
		}
	default:
		if !knownType(req.Type) && routeOf(req.Type) == nil {
			h.fail(r, protocol.Errorf(protocol.CodeBadRequest, "unknown request type %q", req.Type))
			return
		}
		if r.sess == nil || r.sess.loggingOut.Load() {
			h.fail(r, protocol.Errorf(protocol.CodeUnauthorized, "log in first"))
			return
		}
		if req.Type == protocol.TypeAuthLogout {
			r.sess.loggingOut.Store(true)
		}
		if route := routeOf(req.Type); route != nil {
			h.route(r, route)
			return
		}
		h.dir.Send(r.sess.user, r, true)
	}
}

// route decodes the data of a request that goes to a conversation actor and
// sends it there: to the group it names or to the caller's private
// conversation with the user it names.
func (h *Hub) route(r *request, newIn func() any) {
	in := newIn()
	if err := protocol.DecodeData(r.Data, in); err != nil {
		h.fail(r, err)
		return
	}
	r.in = in
	var to protocol.Conversation
	switch in := in.(type) {
	case *protocol.MsgSend:
		to = in.Conversation
	case *protocol.MsgHistory:
		to = in.Conversation
	case *protocol.MsgRead:
		to = in.Conversation
	case *protocol.MsgTyping:
		to = in.Conversation
	case *protocol.GroupName:
		to.Group = in.Group
	case *protocol.GroupUsers:
		to.Group = in.Group
	case *protocol.GroupRole:
		to.Group = in.Group
	}
	if id := meetingOf(in); id != 0 {
		h.dir.sendMeeting(id, r)
		return
	}
	switch {
	case to.Group != "":
		h.dir.sendGroup(to.Group, r)
	case to.User == r.sess.user:
		h.fail(r, protocol.Errorf(protocol.CodeBadRequest, "a conversation needs another user"))
	default:
		h.dir.sendChat(r.sess.user, to.User, r)
	}
}

// routeOf returns a constructor of the data of the requests that go to
// conversation actors, nil for the others.
func routeOf(typ string) func() any {
	switch typ {
	case protocol.TypeMsgSend:
		return func() any { return new(protocol.MsgSend) }
	case protocol.TypeMsgHistory:
		return func() any { return new(protocol.MsgHistory) }
	case protocol.TypeMsgRead:
		return func() any { return new(protocol.MsgRead) }
	case protocol.TypeMsgTyping:
		return func() any { return new(protocol.MsgTyping) }
	case protocol.TypeGroupCreate, protocol.TypeGroupLeave, protocol.TypeGroupDelete, protocol.TypeGroupMembers:
		return func() any { return new(protocol.GroupName) }
	case protocol.TypeGroupAdd, protocol.TypeGroupRemove:
		return func() any { return new(protocol.GroupUsers) }
	case protocol.TypeGroupRole:
		return func() any { return new(protocol.GroupRole) }
	case protocol.TypeMeetingAccept, protocol.TypeMeetingDecline, protocol.TypeMeetingJoin, protocol.TypeMeetingLeave,
		protocol.TypeMeetingEnd, protocol.TypeMeetingMembers, protocol.TypeMeetingSDP,
		protocol.TypeCallAccept, protocol.TypeCallDecline, protocol.TypeRecordStart, protocol.TypeRecordStop:
		return func() any { return new(protocol.MeetingID) }
	case protocol.TypeMeetingInvite:
		return func() any { return new(protocol.MeetingInvite) }
	case protocol.TypeMeetingKick:
		return func() any { return new(protocol.MeetingKick) }
	case protocol.TypeMeetingSay, protocol.TypeMeetingCaption:
		return func() any { return new(protocol.MeetingSay) }
	case protocol.TypeMediaRegister:
		return func() any { return new(protocol.MediaRegister) }
	case protocol.TypeMediaUnregister:
		return func() any { return new(protocol.MediaUnregister) }
	case protocol.TypeMediaSubscribe, protocol.TypeMediaUnsubscribe:
		return func() any { return new(protocol.MediaSubscribe) }
	}
	return nil
}

// meetingOf returns the meeting a request routed by its data names, 0 for
// the requests that go to conversations.
func meetingOf(in any) int64 {
	switch in := in.(type) {
	case *protocol.MeetingID:
		return in.Meeting
	case *protocol.MeetingInvite:
		return in.Meeting
	case *protocol.MeetingKick:
		return in.Meeting
	case *protocol.MeetingSay:
		return in.Meeting
	case *protocol.MediaRegister:
		return in.Meeting
	case *protocol.MediaUnregister:
		return in.Meeting
	case *protocol.MediaSubscribe:
		return in.Meeting
	}
	return 0
}

// RestoreMeetings starts the actors of the meetings that were live when the
// server stopped, with the same addresses, so that their registered sources
// are forwarded again, after completing the records of the recordings the
// stop interrupted. It runs before the server accepts connections.
func (h *Hub) RestoreMeetings(ctx context.Context) error {
	if err := h.finishRecordings(ctx); err != nil {
		return err
	}
	ms, err := h.store.LiveMeetings(ctx)
	if err != nil {
		return fmt.Errorf("restore meetings: %w", err)
	}
	for _, m := range ms {
		h.pool.hold(m)
		h.dir.sendMeeting(m.ID, wakeMeeting{})
	}
	if len(ms) > 0 {
		h.log.Info("live meetings restored", "meetings", len(ms))
	}
	return nil
}

// Crash makes the actor with the directory name (e.g. "group/devs") fail as
// if it had panicked, so that tests and operators can watch its supervisor
// restart it. It does nothing for a name without a live actor.
func (h *Hub) Crash(name string) { h.dir.send(name, crash{}, false) }

// ConnClosed detaches the connection's session from its user actor and
// ends its unicast media subscriptions.
func (h *Hub) ConnClosed(c Conn) {
	h.relay.DropConn(c.ID())
	if s, ok := c.Session().(*session); ok {
		h.dir.Send(s.user, &detach{connID: c.ID()}, false)
	}
}

// Shutdown waits for in-flight requests (until ctx ends), then stops the
// actors and the hasher. The store stays open: the caller closes it last.
func (h *Hub) Shutdown(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var err error
	for h.inflight.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			h.log.Warn("shutdown with requests in flight", "inflight", h.inflight.Load())
		case <-t.C:
		}
	}
	h.dir.stopAll()
	h.system.Shutdown()
	h.writer.close()
	h.hasher.Close()
	return err
}

// reply sends a successful response and closes the request's books.
func (h *Hub) reply(r *request, data any) { h.deliver(r, h.replyFrame(r, data)) }

// fail sends an error response.
func (h *Hub) fail(r *request, err error) { h.deliver(r, h.failFrame(r, err)) }

// deliver sends r's response frame and closes the request's books: every
// request is delivered exactly once.
func (h *Hub) deliver(r *request, frame []byte) {
	r.conn.Send(frame)
	h.inflight.Add(-1)
}

func (h *Hub) replyFrame(r *request, data any) []byte {
	frame, err := protocol.EncodeResponse(r.ID, data)
	if err != nil {
		h.log.Error("encode response", "type", r.Type, "err", err)
		frame = protocol.EncodeError(r.ID, protocol.Errorf(protocol.CodeInternal, "internal error"))
	}
	return frame
}

// failFrame encodes an error response; err is mapped to a protocol code
// here, the one place where error kinds become codes.
func (h *Hub) failFrame(r *request, err error) []byte {
	return protocol.EncodeError(r.ID, h.protocolError(r.Type, err))
}

func (h *Hub) protocolError(typ string, err error) *protocol.Error {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, storage.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "not found")
	case errors.Is(err, storage.ErrConflict):
		return protocol.Errorf(protocol.CodeConflict, "already exists")
	case errors.Is(err, ErrHasherBusy):
		return protocol.Errorf(protocol.CodeUnavailable, "server busy, retry later")
	case errors.Is(err, context.DeadlineExceeded):
		h.log.Warn("request timed out", "type", typ, "err", err)
		return protocol.Errorf(protocol.CodeUnavailable, "timed out, retry later")
	default:
		h.log.Error("request failed", "type", typ, "err", err)
		return protocol.Errorf(protocol.CodeInternal, "internal error")
	}
}

// runJob runs fn in its own goroutine with a storage deadline and brings the
// outcome back to the calling actor as a *jobDone.
func (h *Hub) runJob(ctx actor.Context, r *request, fn func(context.Context) (any, error),
	then func(ctx actor.Context, data any) any) {
	self, root := ctx.Self(), h.system.Root
	go func() {
		sctx, cancel := h.storeCtx()
		data, err := fn(sctx)
		cancel()
		root.Send(self, &jobDone{req: r, data: data, err: err, then: then})
	}()
}

// storeCtx bounds one storage call made for a request.
func (h *Hub) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.acfg.StoreTimeout)
}

func knownType(t string) bool {
	switch t {
	case protocol.TypeAuthLogout, protocol.TypeAuthPasswd,
		protocol.TypeUserGet, protocol.TypeUserUpdate,
		protocol.TypeFriendAdd, protocol.TypeFriendAccept, protocol.TypeFriendRemove, protocol.TypeFriendList,
		protocol.TypeMsgUnread, protocol.TypeGroupList,
		protocol.TypeFileUpload, protocol.TypeFileDownload, protocol.TypeFileList,
		protocol.TypeMeetingCreate, protocol.TypeMeetingList, protocol.TypeCallStart,
		protocol.TypeRecordingList, protocol.TypeRecordingGet:
		return true
	}
	return false
}
