package client

import (
	"context"

	"huddle/protocol"
)

// MeetingCreate creates a meeting hosted (and joined) by the caller.
func (c *Client) MeetingCreate(ctx context.Context, name string) (protocol.MeetingInfo, error) {
	var out protocol.MeetingInfo
	err := c.Call(ctx, protocol.TypeMeetingCreate, protocol.MeetingCreate{Name: name}, &out)
	return out, err
}

// MeetingInvite invites users to a meeting (host only); each gets a
// meeting.invite push, or sees the invitation in MeetingList later.
func (c *Client) MeetingInvite(ctx context.Context, meeting int64, users ...string) (protocol.MeetingInviteReply, error) {
	var out protocol.MeetingInviteReply
	err := c.Call(ctx, protocol.TypeMeetingInvite, protocol.MeetingInvite{Meeting: meeting, Users: users}, &out)
	return out, err
}

// MeetingAccept accepts an invitation, which joins the meeting.
func (c *Client) MeetingAccept(ctx context.Context, meeting int64) (protocol.MeetingJoinReply, error) {
	return c.meetingJoin(ctx, protocol.TypeMeetingAccept, meeting)
}

// MeetingJoin joins a meeting the caller hosts or is invited to (again:
// joining is idempotent). The reply says where to send and receive media.
func (c *Client) MeetingJoin(ctx context.Context, meeting int64) (protocol.MeetingJoinReply, error) {
	return c.meetingJoin(ctx, protocol.TypeMeetingJoin, meeting)
}

// CallAccept answers a call, which joins its meeting.
func (c *Client) CallAccept(ctx context.Context, meeting int64) (protocol.MeetingJoinReply, error) {
	return c.meetingJoin(ctx, protocol.TypeCallAccept, meeting)
}

func (c *Client) meetingJoin(ctx context.Context, typ string, meeting int64) (protocol.MeetingJoinReply, error) {
	var out protocol.MeetingJoinReply
	err := c.Call(ctx, typ, protocol.MeetingID{Meeting: meeting}, &out)
	return out, err
}

// MeetingDecline declines an invitation.
func (c *Client) MeetingDecline(ctx context.Context, meeting int64) error {
	return c.meetingDo(ctx, protocol.TypeMeetingDecline, meeting)
}

// MeetingLeave leaves a meeting; the caller's media registrations go with it.
func (c *Client) MeetingLeave(ctx context.Context, meeting int64) error {
	return c.meetingDo(ctx, protocol.TypeMeetingLeave, meeting)
}

// MeetingEnd ends a meeting for everyone (host only).
func (c *Client) MeetingEnd(ctx context.Context, meeting int64) error {
	return c.meetingDo(ctx, protocol.TypeMeetingEnd, meeting)
}

// CallDecline declines a call; the caller gets call.ended.
func (c *Client) CallDecline(ctx context.Context, meeting int64) error {
	return c.meetingDo(ctx, protocol.TypeCallDecline, meeting)
}

func (c *Client) meetingDo(ctx context.Context, typ string, meeting int64) error {
	return c.Call(ctx, typ, protocol.MeetingID{Meeting: meeting}, nil)
}

// MeetingKick removes a member from a meeting (host only).
func (c *Client) MeetingKick(ctx context.Context, meeting int64, user string) error {
	return c.Call(ctx, protocol.TypeMeetingKick, protocol.MeetingKick{Meeting: meeting, User: user}, nil)
}

// MeetingMembers lists a meeting's members with their roles and statuses.
func (c *Client) MeetingMembers(ctx context.Context, meeting int64) ([]protocol.MeetingMember, error) {
	var out protocol.MeetingMembers
	err := c.Call(ctx, protocol.TypeMeetingMembers, protocol.MeetingID{Meeting: meeting}, &out)
	return out.Members, err
}

// MeetingList lists the caller's live meetings: hosted, joined or with a
// pending invitation, each with the caller's role and status.
func (c *Client) MeetingList(ctx context.Context) ([]protocol.MeetingInfo, error) {
	var out protocol.MeetingListReply
	err := c.Call(ctx, protocol.TypeMeetingList, protocol.MeetingList{}, &out)
	return out.Meetings, err
}

// MeetingSDP returns the SDP text describing a meeting's multicast streams.
func (c *Client) MeetingSDP(ctx context.Context, meeting int64) (string, error) {
	var out protocol.MeetingSDPReply
	err := c.Call(ctx, protocol.TypeMeetingSDP, protocol.MeetingID{Meeting: meeting}, &out)
	return out.SDP, err
}

// MeetingSay sends a text message to a meeting; it is answered once stored.
func (c *Client) MeetingSay(ctx context.Context, meeting int64, text string) (protocol.MeetingSayReply, error) {
	return c.meetingText(ctx, protocol.TypeMeetingSay, meeting, text)
}

// MeetingCaption sends a live caption to a meeting (not stored: Seq is 0).
func (c *Client) MeetingCaption(ctx context.Context, meeting int64, text string) (protocol.MeetingSayReply, error) {
	return c.meetingText(ctx, protocol.TypeMeetingCaption, meeting, text)
}

func (c *Client) meetingText(ctx context.Context, typ string, meeting int64, text string) (protocol.MeetingSayReply, error) {
	var out protocol.MeetingSayReply
	err := c.Call(ctx, typ, protocol.MeetingSay{Meeting: meeting, Text: text}, &out)
	return out, err
}

// CallStart calls a user: the server creates a two-person meeting and rings
// the callee, then pushes meeting.members when they join, or call.ended.
func (c *Client) CallStart(ctx context.Context, user string) (protocol.CallStartReply, error) {
	var out protocol.CallStartReply
	err := c.Call(ctx, protocol.TypeCallStart, protocol.CallStart{User: user}, &out)
	return out, err
}
