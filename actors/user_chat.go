package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

// unread returns user's unread counts named the way the user sees them: by
// the other user of a private conversation, or by group name.
func (h *Hub) unread(ctx context.Context, user string) ([]protocol.UnreadCount, error) {
	counts, err := h.store.UnreadCounts(ctx, user)
	if err != nil || len(counts) == 0 {
		return []protocol.UnreadCount{}, err
	}
	groups, err := h.store.UserGroups(ctx, user)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[storage.GroupConversation(g.ID)] = g.Name
	}
	out := make([]protocol.UnreadCount, 0, len(counts))
	for _, c := range counts {
		u := protocol.UnreadCount{Count: c.Count, LastSeq: c.LastSeq}
		if a, b, ok := storage.PrivatePeers(c.Conversation); ok {
			u.User = a
			if a == user {
				u.User = b
			}
		} else if u.Group = names[c.Conversation]; u.Group == "" {
			continue // left the group since the count was taken
		}
		out = append(out, u)
	}
	return out, nil
}

func (a *userActor) msgUnread(ctx actor.Context, r *request) {
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		u, err := a.hub.unread(sctx, a.name)
		return protocol.MsgUnreadReply{Unread: u}, err
	}, nil)
}

func (a *userActor) groupList(ctx actor.Context, r *request) {
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		groups, err := a.hub.store.UserGroups(sctx, a.name)
		out := protocol.GroupListReply{Groups: make([]protocol.GroupInfo, len(groups))}
		for i, g := range groups {
			out.Groups[i] = protocol.GroupInfo{Group: g.Name, Owner: g.Owner, Members: g.Members, Role: g.Role, Created: g.Created}
		}
		return out, err
	}, nil)
}
