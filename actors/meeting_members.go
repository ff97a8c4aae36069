package actors

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// setStatus stores user's new status (and role), then applies it, tells the
// relay when the user is no longer joined, and pushes the member list. then
// (optional) returns the reply; without it the reply is Empty.
func (a *meetingActor) setStatus(ctx actor.Context, r *request, user, role, status string, then func() any) {
	id, cur := a.id, a.liveRecording()
	mm := storage.MeetingMember{User: user, Role: role, Status: status, Updated: a.hub.now().UTC()}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.SetMeetingMember(sctx, id, mm)
		if errors.Is(err, storage.ErrNotFound) {
			err = protocol.Errorf(protocol.CodeNotFound, "no user %s", user)
		}
		if err == nil && status == storage.StatusJoined && cur != nil {
			// Who joins while it records is in the recording, and may
			// get it; stored before anything is forwarded to them.
			err = a.hub.addRecordingMember(sctx, cur, user)
		}
		return nil, err
	}, func(ctx actor.Context, _ any) any {
		if status == storage.StatusJoined && cur != nil {
			cur.members[user] = true
		}
		a.st.members[user] = &mm
		if status != storage.StatusJoined {
			a.dropMember(user)
		}
		a.pushMembers(ctx, user)
		if then != nil {
			return then()
		}
		return protocol.Empty{}
	})
}

// dropMember stops forwarding from and to a member who is no longer joined.
// (The store deleted their sources with the status change.)
func (a *meetingActor) dropMember(user string) {
	a.st.relay.RemoveMember(user)
	a.forgetSubs(func(_ uint64, _ subKey, member string) bool { return member == user })
	a.st.sources = slices.DeleteFunc(a.st.sources, func(s storage.MediaSource) bool { return s.User == user })
}

func (a *meetingActor) invite(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MeetingInvite)
	if a.member(r, false) == nil || !a.host(r) {
		return
	}
	if a.st.m.Kind == storage.KindCall {
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "a call has two people; create a meeting to invite more"))
		return
	}
	var users []string
	for _, u := range in.Users {
		if mm := a.st.members[u]; mm == nil || mm.Status != storage.StatusJoined && mm.Status != storage.StatusInvited {
			users = append(users, u)
		}
	}
	if n := len(a.st.members) + len(users); n > a.hub.meet.MaxMembers {
		a.hub.fail(r, protocol.Errorf(protocol.CodeTooLarge, "meeting %d would have more than %d members", a.id, a.hub.meet.MaxMembers))
		return
	}
	id, now, by := a.id, a.hub.now().UTC(), r.sess.user
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		// Every name first, so that a typo invites nobody.
		for _, u := range users {
			if _, err := a.hub.store.GetUser(sctx, u); errors.Is(err, storage.ErrNotFound) {
				return nil, protocol.Errorf(protocol.CodeNotFound, "no user %s", u)
			} else if err != nil {
				return nil, err
			}
		}
		invited := make([]storage.MeetingMember, len(users))
		for i, u := range users {
			invited[i] = storage.MeetingMember{User: u, Role: storage.MeetingAttendee, Status: storage.StatusInvited, Updated: now}
		}
		return invited, a.hub.store.SetMeetingMembers(sctx, id, invited) // all or none
	}, func(ctx actor.Context, data any) any {
		return a.invited(ctx, data.([]storage.MeetingMember), by)
	})
}

// invited applies stored invitations, pushes them and returns the reply.
func (a *meetingActor) invited(ctx actor.Context, invited []storage.MeetingMember, by string) protocol.MeetingInviteReply {
	out := protocol.MeetingInviteReply{Meeting: a.id, Users: []string{}}
	for _, mm := range invited {
		a.st.members[mm.User] = &mm
		out.Users = append(out.Users, mm.User)
	}
	ev := protocol.MeetingEvent{Meeting: a.id, Name: a.st.m.Name, Host: a.st.m.Host, By: by}
	a.push(protocol.PushMeetingInvite, ev, slices.Values(out.Users))
	if len(out.Users) > 0 {
		a.pushMembers(ctx)
	}
	return out
}

// joinReply is what a joined member needs to send and receive media.
func (a *meetingActor) joinReply() protocol.MeetingJoinReply {
	var relay [storage.NumTracks]netip.AddrPort
	for i := range relay {
		relay[i] = a.hub.relay.Addr()
	}
	out := protocol.MeetingJoinReply{
		Meeting: a.id, Relay: trackMap(relay), Multicast: a.hub.multicastMap(a.st.m),
		Members: a.memberList().Members,
	}
	if cur := a.liveRecording(); cur != nil {
		out.Recording = cur.rec.ID
	}
	return out
}

// join makes an invited (or declined, or departed) member joined. Joining
// again is a no-op that answers the same.
func (a *meetingActor) join(ctx actor.Context, r *request) {
	mm := a.member(r, false)
	if mm == nil {
		return
	}
	if mm.Status == storage.StatusJoined {
		if cur := a.liveRecording(); cur != nil && !cur.members[mm.User] {
			// Joined, but the recording's member list was not stored
			// with it (that failed): store it now.
			a.job(ctx, r, func(sctx context.Context) (any, error) {
				return nil, a.hub.addRecordingMember(sctx, cur, mm.User)
			}, func(actor.Context, any) any {
				cur.members[mm.User] = true
				return a.joinReply()
			})
			return
		}
		a.hub.reply(r, a.joinReply())
		return
	}
	a.setStatus(ctx, r, mm.User, mm.Role, storage.StatusJoined, func() any {
		if mm.Role != storage.MeetingHost {
			a.stopRing() // a ringing call is answered once the join is stored
		}
		return a.joinReply()
	})
}

func (a *meetingActor) decline(ctx actor.Context, r *request) {
	mm := a.member(r, false)
	if mm == nil {
		return
	}
	if a.st.m.Kind == storage.KindCall {
		a.callDecline(ctx, r)
		return
	}
	if mm.Role == storage.MeetingHost {
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "the host cannot decline; end the meeting instead"))
		return
	}
	if mm.Status != storage.StatusInvited {
		a.hub.fail(r, protocol.Errorf(protocol.CodeConflict, "no pending invitation to meeting %d", a.id))
		return
	}
	a.setStatus(ctx, r, mm.User, mm.Role, storage.StatusDeclined, nil)
}

// leave takes a joined member out; the meeting goes on, even when the host
// leaves. Leaving a call hangs it up.
func (a *meetingActor) leave(ctx actor.Context, r *request) {
	mm := a.member(r, true)
	if mm == nil {
		return
	}
	if a.st.m.Kind == storage.KindCall {
		a.endMeeting(ctx, r, protocol.CallHangup)
		return
	}
	a.setStatus(ctx, r, mm.User, mm.Role, storage.StatusLeft, nil)
}

func (a *meetingActor) kick(ctx actor.Context, r *request) {
	in := r.in.(*protocol.MeetingKick)
	if a.member(r, false) == nil || !a.host(r) {
		return
	}
	mm := a.st.members[in.User]
	switch {
	case mm == nil || mm.Status == storage.StatusKicked:
		a.hub.fail(r, protocol.Errorf(protocol.CodeNotFound, "%s is not a member of meeting %d", in.User, a.id))
		return
	case in.User == r.sess.user:
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "the host cannot kick themselves; end the meeting instead"))
		return
	case a.st.m.Kind == storage.KindCall:
		// A call has no one-person state: taking the other side out
		// hangs it up, as leaving does.
		a.endMeeting(ctx, r, protocol.CallHangup)
		return
	}
	a.setStatus(ctx, r, mm.User, mm.Role, storage.StatusKicked, nil)
}

func (a *meetingActor) end(ctx actor.Context, r *request) {
	if a.member(r, false) == nil || !a.host(r) {
		return
	}
	a.endMeeting(ctx, r, protocol.CallHangup)
}

// endMeeting stores the end, then stops the relay's forwarding, gives the
// addresses back and tells everyone present. reason says why a call ended.
func (a *meetingActor) endMeeting(ctx actor.Context, r *request, reason string) {
	a.stopRing()
	id, now := a.id, a.hub.now().UTC()
	by := ""
	if r != nil {
		by = r.sess.user
	}
	cur := a.liveRecording()
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		var stopped protocol.RecordingInfo
		if cur != nil {
			var err error
			if stopped, err = cur.finish(a.hub, protocol.RecordStoppedEnded); err != nil {
				return nil, err
			}
		}
		return stopped, a.hub.store.EndMeeting(sctx, id, now)
	}, func(_ actor.Context, data any) any {
		if cur != nil {
			a.st.rec = nil
			a.push(protocol.PushRecordStopped, data.(protocol.RecordingInfo), a.withStatus(storage.StatusJoined))
		}
		a.flushDueMembers() // the last change before the end
		// call.ended first: it says why, and a client may stop at
		// meeting.ended.
		present := slices.Collect(a.present())
		if a.st.m.Kind == storage.KindCall {
			a.push(protocol.PushCallEnded, protocol.CallEnded{Meeting: id, Reason: reason, By: by}, slices.Values(present))
		}
		a.push(protocol.PushMeetingEnded, protocol.MeetingEvent{Meeting: id, Name: a.st.m.Name, Host: a.st.m.Host, By: by}, slices.Values(present))
		a.st.relay.Close()
		a.st.relay = nil
		a.hub.pool.release(a.st.m.Group, a.st.m.Ports)
		a.st.exists = false
		a.st.sources = nil
		clear(a.st.subs)
		return protocol.Empty{}
	})
}
