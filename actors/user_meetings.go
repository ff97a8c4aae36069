package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// Creating and listing meetings runs in the user's actor: a meeting's actor
// exists only once there is a meeting.

func (a *userActor) meetingCreate(ctx actor.Context, r *request) {
	var in protocol.MeetingCreate
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		m, err := a.hub.newMeeting(sctx, a.name, in.Name, storage.KindMeeting, "")
		return a.hub.meetingInfo(m), err
	}, nil)
}

func (a *userActor) callStart(ctx actor.Context, r *request) {
	var in protocol.CallStart
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	switch {
	case in.User == a.name:
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "you cannot call yourself"))
		return
	case a.st.friends[in.User] != storage.FriendAccepted:
		a.hub.fail(r, protocol.Errorf(protocol.CodeForbidden, "you can call your friends only; %s is not your friend", in.User))
		return
	}
	caller := a.name
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		m, err := a.hub.newMeeting(sctx, caller, fmt.Sprintf("call %s-%s", caller, in.User), storage.KindCall, in.User)
		return m, err
	}, func(_ actor.Context, data any) any {
		m := data.(storage.Meeting)
		a.hub.dir.sendMeeting(m.ID, ringCall{})
		return protocol.CallStartReply{CallInfo: protocol.CallInfo{Meeting: m.ID, Caller: caller, Callee: in.User},
			CalleeOnline: a.hub.dir.Online(in.User)}
	})
}

func (a *userActor) meetingList(ctx actor.Context, r *request) {
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		ms, err := a.hub.store.UserMeetings(sctx, a.name)
		out := protocol.MeetingListReply{Meetings: make([]protocol.MeetingInfo, len(ms))}
		for i, m := range ms {
			out.Meetings[i] = a.hub.meetingInfo(m)
			out.Meetings[i].Role, out.Meetings[i].Status = m.Role, m.Status
		}
		return out, err
	}, nil)
}

// newMeeting allocates a multicast group and ports and stores a meeting
// hosted by host, and for a call its invited callee. It runs in a job.
func (h *Hub) newMeeting(ctx context.Context, host, name, kind, callee string) (storage.Meeting, error) {
	mine, err := h.store.UserMeetings(ctx, host)
	if err != nil {
		return storage.Meeting{}, err
	}
	hosted := 0
	for _, m := range mine {
		if m.Host == host {
			hosted++
		}
	}
	if hosted >= h.meet.MaxLivePerHost {
		return storage.Meeting{}, protocol.Errorf(protocol.CodeRateLimited, "you host %d live meetings, the most allowed; end one first", hosted)
	}
	group, ports, ok := h.pool.take()
	if !ok {
		h.log.Warn("no multicast addresses left for a meeting", "range", h.mediaCfg.MulticastRange, "ports", h.mediaCfg.MulticastPorts)
		return storage.Meeting{}, protocol.Errorf(protocol.CodeUnavailable, "no media addresses left; retry later")
	}
	now := h.now().UTC()
	m, err := h.store.CreateMeeting(ctx, storage.Meeting{
		Name: name, Host: host, Kind: kind, State: storage.MeetingLive,
		Group: group, Ports: ports, Created: now,
	})
	if err != nil {
		h.pool.release(group, ports)
		return m, err
	}
	if callee == "" {
		return m, nil
	}
	err = h.store.SetMeetingMember(ctx, m.ID, storage.MeetingMember{
		User: callee, Role: storage.MeetingAttendee, Status: storage.StatusInvited, Updated: now,
	})
	if err != nil {
		// No call without its callee: end it at once.
		if errEnd := h.store.EndMeeting(ctx, m.ID, now); errEnd == nil {
			h.pool.release(group, ports)
		}
		if errors.Is(err, storage.ErrNotFound) {
			err = protocol.Errorf(protocol.CodeNotFound, "no user %s", callee)
		}
		return m, err
	}
	return m, nil
}

func (h *Hub) meetingInfo(m storage.Meeting) protocol.MeetingInfo {
	return protocol.MeetingInfo{
		Meeting: m.ID, Name: m.Name, Host: m.Host, Kind: m.Kind, State: m.State,
		Multicast: h.multicastMap(m), Created: m.Created,
	}
}

// multicastMap names m's multicast address per track, or none when the
// relay sends no multicast (media.multicast off): clients then subscribe.
// The meeting keeps its addresses either way, for a restart with it on.
func (h *Hub) multicastMap(m storage.Meeting) map[string]string {
	if !h.mediaCfg.Multicast {
		return map[string]string{}
	}
	return trackMap(multicastAddrs(m))
}
