package actors

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"net/netip"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/media"
	"huddle/protocol"
	"huddle/storage"
)

// sameHost checks that a media address is on the host of the control
// connection that names it: the relay sends only to addresses that asked for
// it themselves, and accepts media only from where its sender is.
func sameHost(r *request, field string, ap netip.AddrPort) error {
	if ap.Addr() != r.conn.RemoteAddr().Unmap() {
		return protocol.Errorf(protocol.CodeForbidden, "%s %s is not on your host (%s)", field, ap, r.conn.RemoteAddr())
	}
	return nil
}

// register stores a source a joined member will send from, then adds it to
// the relay's table. Collisions inside the meeting are found here, those
// with other meetings by the store's unique key.
func (a *meetingActor) register(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MediaRegister)
	if a.member(r, true) == nil {
		return
	}
	src, _ := protocol.ParseMediaAddr("source", in.Source)
	if err := sameHost(r, "source", src); err != nil {
		a.hub.fail(r, err)
		return
	}
	n := 0
	for _, s := range a.st.sources {
		switch {
		case s.SSRC == in.SSRC && s.User == r.sess.user && s.Track == in.Track && s.Source == src:
			a.hub.reply(r, protocol.Empty{}) // registered already
			return
		case s.SSRC == in.SSRC:
			a.hub.fail(r, protocol.Errorf(protocol.CodeConflict, "ssrc %d is in use in meeting %d", in.SSRC, a.id))
			return
		case s.User == r.sess.user:
			n++
		}
	}
	if a.st.relay.OwnSSRC(in.SSRC) {
		a.hub.fail(r, protocol.Errorf(protocol.CodeConflict, "ssrc %d is the relay's own in meeting %d", in.SSRC, a.id))
		return
	}
	if n >= a.hub.mediaCfg.MaxSources {
		a.hub.fail(r, protocol.Errorf(protocol.CodeTooLarge, "at most %d sources per member", a.hub.mediaCfg.MaxSources))
		return
	}
	s := storage.MediaSource{User: r.sess.user, Track: in.Track, Source: src, SSRC: in.SSRC}
	id := a.id
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.AddMediaSource(sctx, id, s)
		if errors.Is(err, storage.ErrConflict) {
			err = protocol.Errorf(protocol.CodeConflict, "source %s with ssrc %d is registered in another meeting", src, in.SSRC)
		}
		return protocol.Empty{}, err
	}, func(_ actor.Context, data any) any {
		if err := a.st.relay.Register(a.relaySource(s)); err != nil {
			// The store said no other live meeting has it; the relay's
			// table can only disagree about a meeting that just ended.
			a.hub.log.Warn("relay refused a stored source", "meeting", id, "source", src, "err", err)
		}
		a.st.sources = append(a.st.sources, s)
		return data
	})
}

func (a *meetingActor) unregister(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MediaUnregister)
	if a.member(r, false) == nil {
		return
	}
	i := -1
	for j, s := range a.st.sources {
		if s.User == r.sess.user && s.Track == in.Track && s.SSRC == in.SSRC {
			i = j
		}
	}
	if i < 0 {
		a.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "no %s source with ssrc %d of yours", in.Track, in.SSRC))
		return
	}
	id, user := a.id, r.sess.user
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.RemoveMediaSource(sctx, id, user, in.Track, in.SSRC)
		if errors.Is(err, storage.ErrNotFound) {
			err = nil // gone already
		}
		return protocol.Empty{}, err
	}, func(_ actor.Context, data any) any {
		a.st.relay.Unregister(protocol.TrackIndex(in.Track), in.SSRC)
		a.st.sources = append(a.st.sources[:i], a.st.sources[i+1:]...)
		return data
	})
}

// subscribe makes the relay send a track to an address for as long as the
// connection that asked lives. Nothing is stored: a subscription ends with
// its connection (Hub.ConnClosed drops it from the relay).
func (a *meetingActor) subscribe(r *request) {
	in := r.in.(*protocol.MediaSubscribe)
	if a.member(r, true) == nil {
		return
	}
	addr, _ := protocol.ParseMediaAddr("address", in.Address)
	if err := sameHost(r, "address", addr); err != nil {
		a.hub.fail(r, err)
		return
	}
	connID := r.conn.ID()
	a.pruneSubs()
	sub := media.Subscriber{Member: r.sess.user, Conn: connID, Track: protocol.TrackIndex(in.Track), Addr: addr}
	k := subKey{sub.Track, addr}
	cs := a.st.subs[connID]
	if cs != nil && cs.subs[k] == "" && len(cs.subs) >= a.hub.mediaCfg.MaxSubscriptions {
		a.hub.fail(r, protocol.Errorf(protocol.CodeTooLarge, "at most %d subscriptions per connection", a.hub.mediaCfg.MaxSubscriptions))
		return
	}
	if err := a.st.relay.Subscribe(sub); err != nil {
		a.hub.fail(r, err)
		return
	}
	if r.conn.Closed() {
		// The connection closed while this was on its way, maybe after
		// Hub.ConnClosed dropped its subscriptions: drop this one too.
		a.st.relay.Unsubscribe(connID, sub.Track, addr)
		a.hub.fail(r, protocol.Errorf(protocol.CodeUnavailable, "connection closed"))
		return
	}
	if cs == nil {
		cs = &connSubs{conn: r.conn, subs: map[subKey]string{}}
		a.st.subs[connID] = cs
	}
	if cs.subs[k] == "" { // the relay keeps the first member's, too
		cs.subs[k] = r.sess.user
	}
	a.hub.reply(r, protocol.Empty{})
}

// pruneSubs forgets the counts of connections that have closed: the relay
// dropped their subscriptions already.
func (a *meetingActor) pruneSubs() {
	for id, cs := range a.st.subs {
		if cs.conn.Closed() {
			delete(a.st.subs, id)
		}
	}
}

func (a *meetingActor) unsubscribe(r *request) {
	in := r.in.(*protocol.MediaSubscribe)
	if a.member(r, false) == nil {
		return
	}
	addr, _ := protocol.ParseMediaAddr("address", in.Address)
	if !a.st.relay.Unsubscribe(r.conn.ID(), protocol.TrackIndex(in.Track), addr) {
		a.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "no %s subscription to %s on this connection", in.Track, addr))
		return
	}
	a.forgetSubs(func(id uint64, k subKey, _ string) bool {
		return id == r.conn.ID() && k == subKey{protocol.TrackIndex(in.Track), addr}
	})
	a.hub.reply(r, protocol.Empty{})
}

// forgetSubs forgets the subscriptions for which drop is true, as the
// relay dropped them.
func (a *meetingActor) forgetSubs(drop func(conn uint64, k subKey, member string) bool) {
	for id, cs := range a.st.subs {
		maps.DeleteFunc(cs.subs, func(k subKey, member string) bool { return drop(id, k, member) })
		if len(cs.subs) == 0 {
			delete(a.st.subs, id)
		}
	}
}

// say stores a text message of the meeting's chat with the group-commit
// writer (conversation "m:ID"), then answers, pushes it to the joined
// members and sends it as T.140 on the text track.
func (a *meetingActor) say(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MeetingSay)
	if a.member(r, true) == nil || !a.textFits(r, in.Text) {
		return
	}
	m := storage.Message{
		Conversation: storage.MeetingConversation(a.id),
		Sender:       r.sess.user,
		ClientMsgID:  "meeting:" + rand.Text(),
		Body:         in.Text,
		Created:      a.hub.now().UTC(),
	}
	a.st.busy = true // the next request waits for the commit: says keep their order
	self, root := ctx.Self(), a.hub.system.Root
	ok := a.hub.writer.submit(&writeReq{msg: m, done: func(res storage.Appended, err error) {
		if err == nil {
			err = res.Err
		}
		root.Send(self, &jobDone{req: r, data: res, err: err, then: func(_ actor.Context, data any) any {
			res := data.(storage.Appended)
			a.pushText(protocol.PushMeetingText, protocol.TrackText, protocol.MeetingText{
				Meeting: a.id, Seq: res.Seq, From: m.Sender, Text: m.Body, TS: res.Created,
			})
			return protocol.MeetingSayReply{Seq: res.Seq, TS: res.Created}
		}})
	}})
	if !ok {
		a.st.busy = false
		a.hub.writerFull.Add(1)
		a.hub.fail(r, protocol.Errorf(protocol.CodeUnavailable, "server busy, retry later"))
	}
}

// caption sends a live caption: pushed and sent as T.140 on the caption
// track, not stored.
func (a *meetingActor) caption(r *request) {
	in := r.in.(*protocol.MeetingSay)
	if a.member(r, true) == nil || !a.textFits(r, in.Text) {
		return
	}
	ts := a.hub.now().UTC()
	a.pushText(protocol.PushMeetingCaption, protocol.TrackCaption, protocol.MeetingText{
		Meeting: a.id, From: r.sess.user, Text: in.Text, TS: ts,
	})
	a.hub.reply(r, protocol.MeetingSayReply{TS: ts})
}

func (a *meetingActor) textFits(r *request, text string) bool {
	if len(text) > a.hub.chat.MaxText {
		a.hub.fail(r, protocol.Errorf(protocol.CodeTooLarge, "text is %d bytes; the limit is %d", len(text), a.hub.chat.MaxText))
		return false
	}
	return true
}

// pushText pushes a text or caption to the joined members and sends it on
// its track as T.140 (RFC 4103: the payload is the UTF-8 text), attributed
// in the text itself, since the relay's own SSRC sends it.
func (a *meetingActor) pushText(typ, track string, t protocol.MeetingText) {
	a.push(typ, t, a.withStatus(storage.StatusJoined))
	payload := []byte(t.From + ": " + t.Text + "\r\n")
	if max := a.hub.mediaCfg.MaxPacket - 12; len(payload) > max {
		// One datagram carries it; a longer text is cut at a rune.
		payload = []byte(strings.ToValidUTF8(string(payload[:max]), ""))
	}
	if err := a.st.relay.Send(protocol.TrackIndex(track), protocol.PayloadT140, payload); err != nil {
		a.hub.log.Warn("send T.140", "meeting", a.id, "track", track, "err", err)
	}
}

func (a *meetingActor) sdp(r *request) {
	if a.member(r, false) == nil {
		return
	}
	if !a.hub.mediaCfg.Multicast {
		a.hub.fail(r, protocol.Errorf(protocol.CodeUnavailable, "this server sends no multicast (media.multicast is off): receive with media.subscribe"))
		return
	}
	text, err := meetingSDP(a.st.m, a.hub.relay.Addr().Addr(), a.hub.mediaCfg.MulticastTTL)
	if err != nil {
		a.hub.fail(r, err)
		return
	}
	a.hub.reply(r, protocol.MeetingSDPReply{Meeting: a.id, SDP: text})
}
