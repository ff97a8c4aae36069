package actors

import (
	"context"
	"errors"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// friendEvent tells a user's actor that another user changed their
// friendship: it updates its cache and pushes to the user's sessions.
type friendEvent struct {
	from  string
	state string // the recipient's new state toward from; "" when removed
	push  string // push type
}

// presenceEvent tells a friend's actor that user came online or went offline.
type presenceEvent struct {
	user   string
	online bool
}

func (a *userActor) friendTarget(r *request) (string, bool) {
	var in protocol.FriendTarget
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return "", false
	}
	if in.User == a.name {
		a.hub.fail(r, protocol.Errorf(protocol.CodeBadRequest, "you cannot befriend yourself"))
		return "", false
	}
	return in.User, true
}

func (a *userActor) friendAdd(ctx actor.Context, r *request) {
	other, ok := a.friendTarget(r)
	if !ok {
		return
	}
	known := a.st.friends[other] // read here: the job runs elsewhere
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		state, err := a.hub.store.RequestFriend(sctx, a.name, other, a.hub.now())
		if errors.Is(err, storage.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no user %s", other)
		}
		if errors.Is(err, storage.ErrConflict) {
			if known == storage.FriendRequested {
				return nil, protocol.Errorf(protocol.CodeConflict, "you asked %s already; they have not accepted yet", other)
			}
			return nil, protocol.Errorf(protocol.CodeConflict, "you are friends with %s already", other)
		}
		return state, err
	}, func(_ actor.Context, data any) any {
		state := data.(string)
		if a.st.friends[other] == storage.FriendAccepted {
			// other's request crossed ours and was accepted while this
			// job ran (its event came first): the friendship stands.
			return protocol.FriendState{User: other, State: storage.FriendAccepted}
		}
		a.st.friends[other] = state
		if state == storage.FriendAccepted { // other had asked first
			a.hub.dir.Send(other, &friendEvent{from: a.name, state: storage.FriendAccepted, push: protocol.PushFriendAccepted}, false)
			a.greet(other)
		} else {
			a.hub.dir.Send(other, &friendEvent{from: a.name, state: storage.FriendPending, push: protocol.PushFriendRequest}, false)
		}
		return protocol.FriendState{User: other, State: state}
	})
}

func (a *userActor) friendAccept(ctx actor.Context, r *request) {
	other, ok := a.friendTarget(r)
	if !ok {
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.AcceptFriend(sctx, a.name, other)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no friend request from %s", other)
		}
		return nil, err
	}, func(actor.Context, any) any {
		a.st.friends[other] = storage.FriendAccepted
		a.hub.dir.Send(other, &friendEvent{from: a.name, state: storage.FriendAccepted, push: protocol.PushFriendAccepted}, false)
		a.greet(other)
		return protocol.FriendState{User: other, State: storage.FriendAccepted}
	})
}

func (a *userActor) friendRemove(ctx actor.Context, r *request) {
	other, ok := a.friendTarget(r)
	if !ok {
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.RemoveFriend(sctx, a.name, other)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "%s is not your friend", other)
		}
		return nil, err
	}, func(actor.Context, any) any {
		delete(a.st.friends, other)
		a.hub.dir.Send(other, &friendEvent{from: a.name, push: protocol.PushFriendRemoved}, false)
		return protocol.Empty{}
	})
}

func (a *userActor) friendList(ctx actor.Context, r *request) {
	if err := protocol.DecodeData(r.Data, &protocol.FriendList{}); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.store.ListFriends(sctx, a.name)
	}, func(_ actor.Context, data any) any {
		rows := data.([]storage.Friend)
		out := protocol.FriendListReply{Friends: make([]protocol.Friend, 0, len(rows))}
		for _, f := range rows {
			a.st.friends[f.User] = f.State
			// Presence is shown to accepted friends only.
			online := f.State == storage.FriendAccepted && a.hub.dir.Online(f.User)
			out.Friends = append(out.Friends, protocol.Friend{User: f.User, State: f.State, Online: online})
		}
		sort.SliceStable(out.Friends, func(i, j int) bool {
			ai, aj := out.Friends[i].State == storage.FriendAccepted, out.Friends[j].State == storage.FriendAccepted
			if ai != aj {
				return ai
			}
			return out.Friends[i].User < out.Friends[j].User
		})
		return out
	})
}

func (a *userActor) handleFriendEvent(m *friendEvent) {
	if a.st.friends != nil {
		if m.state == "" {
			delete(a.st.friends, m.from)
		} else {
			a.st.friends[m.from] = m.state
		}
		if m.state == storage.FriendAccepted {
			a.greet(m.from)
		}
	}
	frame, err := protocol.EncodePush(m.push, protocol.FriendEvent{User: m.from})
	if err == nil {
		a.pushAll(frame)
	}
}

func (a *userActor) handlePresence(m *presenceEvent) {
	if a.st.friends[m.user] != storage.FriendAccepted {
		return
	}
	frame, err := protocol.EncodePush(protocol.PushPresence, protocol.Presence{User: m.user, Online: m.online})
	if err == nil {
		a.pushAll(frame)
	}
}

// announce tells every accepted friend that this user came online or went
// offline. Before the friends are loaded it waits; loadFriends calls it.
func (a *userActor) announce(online bool) {
	if a.st.friends == nil || a.st.announced == online {
		return
	}
	a.st.announced = online
	for other, state := range a.st.friends {
		if state == storage.FriendAccepted {
			a.hub.dir.Send(other, &presenceEvent{user: a.name, online: online}, false)
		}
	}
}

// greet tells other, a friend since a moment ago, that this user is online,
// if its friends have been told so: announce reached only the friends it
// had then. Each side of a new friendship greets the other (the one who
// accepted, and the other on its friendEvent), so both see each other's
// presence at once.
func (a *userActor) greet(other string) {
	if a.st.announced {
		a.hub.dir.Send(other, &presenceEvent{user: a.name, online: true}, false)
	}
}

// friendRequests lists who is waiting for this user's acceptance.
func (a *userActor) friendRequests() []string {
	out := []string{}
	for other, state := range a.st.friends {
		if state == storage.FriendPending {
			out = append(out, other)
		}
	}
	sort.Strings(out)
	return out
}
