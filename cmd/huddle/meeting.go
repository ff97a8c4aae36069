package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"huddle/client"
	"huddle/protocol"
)

func meetingCommands() []command {
	return []command{
		{"meeting create", "NAME", "create a meeting that you host (and have joined)", cmdMeetingCreate},
		{"meeting invite", "ID NAME...", "invite users to a meeting (host)", cmdMeetingInvite},
		{"meeting accept", "ID", "accept an invitation: joins the meeting", meetingJoin((*client.Client).MeetingAccept)},
		{"meeting decline", "ID", "decline an invitation", meetingDone((*client.Client).MeetingDecline, "declined", "meeting")},
		{"meeting join", "ID", "join a meeting; prints the relay and multicast address of each track", meetingJoin((*client.Client).MeetingJoin)},
		{"meeting leave", "ID", "leave a meeting (your media registrations end with it)", meetingDone((*client.Client).MeetingLeave, "left", "meeting")},
		{"meeting end", "ID", "end a meeting for everyone (host)", meetingDone((*client.Client).MeetingEnd, "ended", "meeting")},
		{"meeting kick", "ID NAME", "remove a member from a meeting (host)", cmdMeetingKick},
		{"meeting members", "ID", "list a meeting's members with role and status", cmdMeetingMembers},
		{"meeting list", "", "list your live meetings and pending invitations", listCommand((*client.Client).MeetingList, "no live meetings", meetingRow)},
		{"meeting sdp", "ID", "print the SDP of the multicast streams (huddle meeting sdp ID > meeting.sdp)", cmdMeetingSDP},
		{"meeting say", "ID TEXT", "send a text message to a meeting", meetingText((*client.Client).MeetingSay)},
		{"meeting caption", "ID TEXT", "send a live caption to a meeting", meetingText((*client.Client).MeetingCaption)},
		{"meeting source", "ID --track audio|video|screen|text|caption --from IP:PORT --ssrc N", "register an external RTP sender such as ffmpeg; prints where it must send", cmdMeetingSource},
		{"meeting publish", "ID [--audio F.ogg] [--video F.ivf] [--screen F.ivf] [--loop]", "send Ogg/Opus and IVF/VP8 files into a meeting as RTP", cmdMeetingPublish},
		{"meeting subscribe", "ID [--out DIR] [--duration DUR]", "receive a meeting's tracks into DIR/audio.ogg, video.ivf, screen.ivf (files only for tracks that carried media; text and captions go to stderr)", cmdMeetingSubscribe},
	}
}

// meetingID parses a meeting ID argument: a positive number.
func (cl *cmdLine) meetingID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || protocol.CheckMeetingID(id) != nil {
		return 0, cl.usageErrorf("meeting ID must be a positive number, not %q", arg)
	}
	return id, nil
}

// parseMeeting parses a command line that starts with a meeting ID and has
// between minArgs and maxArgs arguments in all (maxArgs < 0: no limit).
func (cl *cmdLine) parseMeeting(minArgs, maxArgs int) (int64, []string, error) {
	args, err := cl.parse(minArgs, maxArgs)
	if err != nil {
		return 0, nil, err
	}
	id, err := cl.meetingID(args[0])
	return id, args[1:], err
}

func cmdMeetingCreate(ctx context.Context, a *app, cl *cmdLine) error {
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		m, err := c.MeetingCreate(ctx, args[0])
		if err != nil {
			return err
		}
		m.Multicast = nonNilMap(m.Multicast)
		return a.print(m, "created meeting %d (%s)", m.Meeting, printable(m.Name))
	})
}

func cmdMeetingInvite(ctx context.Context, a *app, cl *cmdLine) error {
	id, users, err := cl.parseMeeting(2, -1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		out, err := c.MeetingInvite(ctx, id, users...)
		if err != nil {
			return err
		}
		out.Users = nonNil(out.Users)
		who := "nobody new"
		if len(out.Users) > 0 {
			who = strings.Join(out.Users, ", ")
		}
		return a.print(out, "invited %s to meeting %d", who, id)
	})
}

type joinOp func(c *client.Client, ctx context.Context, meeting int64) (protocol.MeetingJoinReply, error)

// meetingJoin makes meeting join, meeting accept and call accept, which
// all join and answer with the media addresses.
func meetingJoin(op joinOp) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		id, _, err := cl.parseMeeting(1, 1)
		if err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			j, err := op(c, ctx, id)
			if err != nil {
				return err
			}
			return a.printJoin(j)
		})
	}
}

// printJoin prints a MeetingJoinReply: with --json as it is (relay and
// multicast keyed by track), otherwise a line and a table of the tracks.
func (a *app) printJoin(j protocol.MeetingJoinReply) error {
	j.Relay, j.Multicast, j.Members = nonNilMap(j.Relay), nonNilMap(j.Multicast), nonNil(j.Members)
	if a.json {
		return writeJSON(a.stdout, j)
	}
	fmt.Fprintf(a.stdout, "joined meeting %d\n", j.Meeting)
	if j.Recording != 0 {
		fmt.Fprintf(a.stdout, "this meeting is being recorded (recording %d)\n", j.Recording)
	}
	return trackTable(a.stdout, []string{"relay", "multicast"}, func(track string) []string {
		return []string{j.Relay[track], j.Multicast[track]}
	})
}

// trackTable prints one row per track that has any cell set, under a header.
func trackTable(w io.Writer, header []string, cells func(track string) []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "track\t"+strings.Join(header, "\t"))
	for _, track := range protocol.Tracks {
		row := cells(track)
		if strings.Join(row, "") != "" {
			fmt.Fprintln(tw, track+"\t"+strings.Join(row, "\t"))
		}
	}
	return tw.Flush()
}

// meetingDone makes the commands whose replies carry nothing: decline,
// leave, end and call decline.
func meetingDone(op func(c *client.Client, ctx context.Context, meeting int64) error, verb, noun string) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		id, _, err := cl.parseMeeting(1, 1)
		if err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			if err := op(c, ctx, id); err != nil {
				return err
			}
			return a.print(map[string]any{"meeting": id, verb: true}, "%s %s %d", verb, noun, id)
		})
	}
}

func cmdMeetingKick(ctx context.Context, a *app, cl *cmdLine) error {
	id, rest, err := cl.parseMeeting(2, 2)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		if err := c.MeetingKick(ctx, id, rest[0]); err != nil {
			return err
		}
		return a.print(map[string]any{"meeting": id, "user": rest[0], "kicked": true}, "kicked %s from meeting %d", rest[0], id)
	})
}

func cmdMeetingMembers(ctx context.Context, a *app, cl *cmdLine) error {
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		members, err := c.MeetingMembers(ctx, id)
		if err != nil {
			return err
		}
		return printList(a, members, "no members", func(m protocol.MeetingMember) []string {
			return []string{m.User, m.Role, m.Status, onlineText(m.Online)}
		})
	})
}

func meetingRow(m protocol.MeetingInfo) []string {
	return []string{strconv.FormatInt(m.Meeting, 10), printable(m.Name), m.Kind, m.Role, m.Status, "host " + m.Host}
}

func cmdMeetingSDP(ctx context.Context, a *app, cl *cmdLine) error {
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		sdp, err := c.MeetingSDP(ctx, id)
		if err != nil {
			return err
		}
		if a.json {
			return writeJSON(a.stdout, protocol.MeetingSDPReply{Meeting: id, SDP: sdp})
		}
		_, err = io.WriteString(a.stdout, sdp) // as is: it is meant for a file
		return err
	})
}

type textOp func(c *client.Client, ctx context.Context, meeting int64, text string) (protocol.MeetingSayReply, error)

// meetingText makes meeting say and meeting caption. Words after the ID
// are joined with spaces, as send does.
func meetingText(op textOp) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		id, words, err := cl.parseMeeting(2, -1)
		if err != nil {
			return err
		}
		text := strings.Join(words, " ")
		if strings.TrimSpace(text) == "" {
			return cl.usageErrorf("empty text")
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			out, err := op(c, ctx, id, text)
			if err != nil {
				return err
			}
			v := struct {
				Meeting int64 `json:"meeting"`
				protocol.MeetingSayReply
			}{id, out}
			if out.Seq == 0 {
				return a.print(v, "sent to meeting %d", id)
			}
			return a.print(v, "sent to meeting %d (#%d)", id, out.Seq)
		})
	}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
