package main

import (
	"context"
	"fmt"
	"strings"

	"huddle/client"
	"huddle/protocol"
)

func groupCommands() []command {
	return []command{
		{"group create", "NAME", "create a group that you own", cmdGroupCreate},
		{"group add", "GROUP NAME...", "add users to a group (owner and admins)", groupUsers((*client.Client).GroupAdd, "added")},
		{"group remove", "GROUP NAME...", "remove users from a group (owner and admins)", groupUsers((*client.Client).GroupRemove, "removed")},
		{"group leave", "GROUP", "leave a group", groupDone((*client.Client).GroupLeave, "left")},
		{"group delete", "GROUP", "delete a group and its history (owner)", groupDone((*client.Client).GroupDelete, "deleted")},
		{"group role", "GROUP NAME admin|member", "make a member an admin, or a member again (owner)", cmdGroupRole},
		{"group members", "GROUP", "list a group's members", cmdGroupMembers},
		{"group list", "", "list your groups", listCommand((*client.Client).GroupList, "no groups yet", groupRow)},
		{"group send", "GROUP TEXT", "send a message to a group", cmdSend(client.GroupChat)},
		{"group history", historyUsage("GROUP"), "show a group's messages, oldest first, and mark them read", cmdHistory(client.GroupChat)},
	}
}

func cmdGroupCreate(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		g, err := c.GroupCreate(ctx, args[0])
		if err != nil {
			return err
		}
		return a.print(g, "created group %s", g.Group)
	})
}

type groupUsersOp func(c *client.Client, ctx context.Context, group string, users ...string) (protocol.GroupUsersReply, error)

// groupUsers makes group add and group remove, which differ only in the
// request.
func groupUsers(op groupUsersOp, verb string) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		args, err := cl.parse(2, -1)
		if err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			out, err := op(c, ctx, args[0], args[1:]...)
			if err != nil {
				return err
			}
			out.Users = nonNil(out.Users)
			who := "nobody"
			if verb == "added" {
				who = "nobody new" // all of them were members already
			}
			if len(out.Users) > 0 {
				who = strings.Join(out.Users, ", ")
			}
			return a.print(out, "%s %s: %s now has %d member(s)", verb, who, args[0], out.Members)
		})
	}
}

// groupDone makes group leave and group delete, whose replies carry nothing.
func groupDone(op func(c *client.Client, ctx context.Context, group string) error, verb string) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		args, err := cl.parse(1, 1)
		if err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			if err := op(c, ctx, args[0]); err != nil {
				return err
			}
			return a.print(map[string]any{"group": args[0], verb: true}, "%s %s", verb, args[0])
		})
	}
}

func cmdGroupRole(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(3, 3)
	if err != nil {
		return err
	}
	group, user, role := args[0], args[1], args[2]
	if role != protocol.RoleAdmin && role != protocol.RoleMember {
		return cl.usageErrorf("role must be %s or %s", protocol.RoleAdmin, protocol.RoleMember)
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		if err := c.GroupRole(ctx, group, user, role); err != nil {
			return err
		}
		return a.print(protocol.GroupRole{Group: group, User: user, Role: role}, "%s is now %s of %s", user, article(role), group)
	})
}

// article puts "an" or "a" before a role for the human output.
func article(role string) string {
	if role == protocol.RoleAdmin || role == protocol.RoleOwner {
		return "an " + role
	}
	return "a " + role
}

func cmdGroupMembers(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		members, err := c.GroupMembers(ctx, args[0])
		if err != nil {
			return err
		}
		return printList(a, members, "no members", func(m protocol.GroupMember) []string {
			return []string{m.User, m.Role, onlineText(m.Online)}
		})
	})
}

func groupRow(g protocol.GroupInfo) []string {
	return []string{g.Group, g.Role, fmt.Sprintf("%d member(s)", g.Members), "owner " + g.Owner}
}
