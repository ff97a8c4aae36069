package main

import (
	"context"

	"huddle/client"
	"huddle/protocol"
)

func friendCommands() []command {
	return []command{
		{"friend add", "NAME", "ask NAME to be your friend", friendChange((*client.Client).FriendAdd)},
		{"friend accept", "NAME", "accept NAME's friend request", friendChange((*client.Client).FriendAccept)},
		{"friend remove", "NAME", "end a friendship or refuse a request", friendChange(removeFriend)},
		{"friend list", "", "list friends and requests", listCommand((*client.Client).FriendList, "no friends yet", friendRow)},
	}
}

type friendOp func(c *client.Client, ctx context.Context, name string) (protocol.FriendState, error)

// friendChange makes the command for add, accept or remove, which differ
// only in the request.
func friendChange(op friendOp) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		args, err := cl.parse(1, 1)
		if err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			st, err := op(c, ctx, args[0])
			if err != nil {
				return err
			}
			return a.print(st, "%s", friendText(st))
		})
	}
}

const friendRemoved = "removed"

func removeFriend(c *client.Client, ctx context.Context, name string) (protocol.FriendState, error) {
	return protocol.FriendState{User: name, State: friendRemoved}, c.FriendRemove(ctx, name)
}

func friendText(st protocol.FriendState) string {
	switch st.State {
	case protocol.FriendAccepted:
		return st.User + " is your friend"
	case protocol.FriendRequested:
		return "friend request sent to " + st.User
	case friendRemoved:
		return st.User + " removed"
	}
	return st.User + ": " + st.State
}

func friendRow(f protocol.Friend) []string { return []string{f.User, f.State, onlineText(f.Online)} }

func onlineText(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}
