package protocol

import (
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Meeting tracks: every meeting has all five, each with its own multicast
// port (RTCP on port+1).
const (
	TrackText    = "text"
	TrackAudio   = "audio"
	TrackVideo   = "video"
	TrackScreen  = "screen"
	TrackCaption = "caption"
)

// Tracks lists the tracks in their fixed order (the order of their ports).
var Tracks = [...]string{TrackText, TrackAudio, TrackVideo, TrackScreen, TrackCaption}

// RTP payload types of the tracks (DESIGN §4): Opus for audio, VP8 for video
// and screen, T.140 (RFC 4103) for text and captions.
const (
	PayloadOpus = 111
	PayloadVP8  = 96
	PayloadT140 = 98
)

// TrackIndex returns the place of track in Tracks, or -1 for an unknown track.
func TrackIndex(track string) int {
	for i, t := range Tracks {
		if t == track {
			return i
		}
	}
	return -1
}

// PayloadType returns the RTP payload type a track carries.
func PayloadType(track string) uint8 {
	switch track {
	case TrackAudio:
		return PayloadOpus
	case TrackVideo, TrackScreen:
		return PayloadVP8
	}
	return PayloadT140
}

// CheckTrack returns a bad_request error unless track is one of Tracks.
func CheckTrack(track string) error {
	if TrackIndex(track) < 0 {
		return Errorf(CodeBadRequest, "track must be one of %s", strings.Join(Tracks[:], ", "))
	}
	return nil
}

// Member statuses and roles in a meeting.
const (
	StatusInvited  = "invited"
	StatusJoined   = "joined"
	StatusDeclined = "declined"
	StatusLeft     = "left"
	StatusKicked   = "kicked"

	RoleHost     = "host"
	RoleAttendee = "member"

	MeetingLive  = "live"
	MeetingEnded = "ended"

	KindMeeting = "meeting"
	KindCall    = "call"
)

// Meeting limits fixed by the protocol.
const (
	MaxMeetingNameLen = 64  // bytes of a meeting's name
	MaxMeetingInvite  = 100 // users in one meeting.invite
)

// MeetingCreate creates a meeting hosted by the caller.
type MeetingCreate struct {
	Name string `json:"name"`
}

// Validate implements the payload check run by DecodeData.
func (m *MeetingCreate) Validate() error { return CheckMeetingName(m.Name) }

// CheckMeetingName accepts 1-64 bytes of printable UTF-8 without leading or
// trailing space.
func CheckMeetingName(s string) error {
	if s == "" || len(s) > MaxMeetingNameLen || strings.TrimSpace(s) != s {
		return Errorf(CodeBadRequest, "meeting name must be 1-%d bytes without leading or trailing spaces", MaxMeetingNameLen)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeBadRequest, "meeting name must be valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return Errorf(CodeBadRequest, "meeting name must be printable characters")
		}
	}
	return nil
}

// MeetingID names a meeting: meeting.accept, .decline, .join, .leave, .end,
// .members, .sdp, and call.accept, call.decline.
type MeetingID struct {
	Meeting int64 `json:"meeting"`
}

// Validate implements the payload check run by DecodeData.
func (m *MeetingID) Validate() error { return CheckMeetingID(m.Meeting) }

// CheckMeetingID accepts a positive meeting id.
func CheckMeetingID(id int64) error {
	if id <= 0 {
		return Errorf(CodeBadRequest, "meeting must be a positive meeting id")
	}
	return nil
}

// MeetingInvite invites users (host only).
type MeetingInvite struct {
	Meeting int64    `json:"meeting"`
	Users   []string `json:"users"`
}

// Validate implements the payload check run by DecodeData.
func (m *MeetingInvite) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	return CheckUsers(m.Users, MaxMeetingInvite)
}

// MeetingInviteReply lists the users invited by a meeting.invite.
type MeetingInviteReply struct {
	Meeting int64    `json:"meeting"`
	Users   []string `json:"users"`
}

// MeetingKick removes a member from a meeting (host only).
type MeetingKick struct {
	Meeting int64  `json:"meeting"`
	User    string `json:"user"`
}

// Validate implements the payload check run by DecodeData.
func (m *MeetingKick) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	return CheckName("user", m.User)
}

// MeetingSay is a text message (meeting.say) or a live caption
// (meeting.caption) inside a meeting. The longest text is the server's
// chat.max_text.
type MeetingSay struct {
	Meeting int64  `json:"meeting"`
	Text    string `json:"text"`
}

// Validate implements the payload check run by DecodeData.
func (m *MeetingSay) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	return CheckText(m.Text)
}

// MeetingSayReply answers meeting.say once the text is durably stored; Seq
// numbers the meeting's texts 1, 2, 3… meeting.caption (not stored) answers
// with Seq 0.
type MeetingSayReply struct {
	Seq int64     `json:"seq,omitempty"`
	TS  time.Time `json:"ts"`
}

// MeetingList asks for the caller's live meetings: hosted, joined, or with
// a pending invitation.
type MeetingList struct{}

// MeetingListReply lists meetings by id.
type MeetingListReply struct {
	Meetings []MeetingInfo `json:"meetings"`
}

// MeetingInfo describes a meeting: the reply to meeting.create and an item
// of meeting.list (where Role and Status are the caller's).
type MeetingInfo struct {
	Meeting   int64             `json:"meeting"`
	Name      string            `json:"name"`
	Host      string            `json:"host"`
	Kind      string            `json:"kind"`  // KindMeeting or KindCall
	State     string            `json:"state"` // MeetingLive or MeetingEnded
	Multicast map[string]string `json:"multicast"`
	Role      string            `json:"role,omitempty"`
	Status    string            `json:"status,omitempty"`
	Created   time.Time         `json:"created"`
}

// MeetingJoinReply answers meeting.join and call.accept: where to send RTP
// (Relay, per track; RTCP goes to the same address or to its port+1), where
// the meeting's multicast streams are, and who is in the meeting.
type MeetingJoinReply struct {
	Meeting   int64             `json:"meeting"`
	Relay     map[string]string `json:"relay"`
	Multicast map[string]string `json:"multicast"`
	Members   []MeetingMember   `json:"members"`
	// Recording is the recording in progress, if any: whoever joins is
	// told, as the members present were by record.started.
	Recording int64 `json:"recording,omitempty"`
}

// MeetingMember is one member of a meeting.
type MeetingMember struct {
	User   string `json:"user"`
	Role   string `json:"role"`   // RoleHost or RoleAttendee
	Status string `json:"status"` // StatusInvited, StatusJoined, …
	Online bool   `json:"online"`
}

// MeetingMembers is the reply to meeting.members and the data of the
// meeting.members push, sent to every member on every change of status.
type MeetingMembers struct {
	Meeting int64           `json:"meeting"`
	Members []MeetingMember `json:"members"`
}

// MeetingSDPReply carries the SDP of a meeting's multicast streams.
type MeetingSDPReply struct {
	Meeting int64  `json:"meeting"`
	SDP     string `json:"sdp"`
}

// MeetingEvent is the data of the meeting.invite push (to an invitee) and
// the meeting.ended push (to every member).
type MeetingEvent struct {
	Meeting int64  `json:"meeting"`
	Name    string `json:"name,omitempty"`
	Host    string `json:"host,omitempty"`
	By      string `json:"by,omitempty"`
}

// MeetingText is the data of the meeting.text push (a stored meeting.say,
// Seq > 0) and of the meeting.caption push (Seq 0), sent to joined members.
type MeetingText struct {
	Meeting int64     `json:"meeting"`
	Seq     int64     `json:"seq,omitempty"`
	From    string    `json:"from"`
	Text    string    `json:"text"`
	TS      time.Time `json:"ts"`
}

// MediaRegister registers a source a joined member will send RTP from. The
// source's IP must be the IP of the control connection that registers it.
type MediaRegister struct {
	Meeting int64  `json:"meeting"`
	Track   string `json:"track"`
	Source  string `json:"source"` // IPv4:PORT
	SSRC    uint32 `json:"ssrc"`
}

// Validate implements the payload check run by DecodeData.
func (m *MediaRegister) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	if err := CheckTrack(m.Track); err != nil {
		return err
	}
	_, err := ParseMediaAddr("source", m.Source)
	return err
}

// MediaUnregister removes a registered source.
type MediaUnregister struct {
	Meeting int64  `json:"meeting"`
	Track   string `json:"track"`
	SSRC    uint32 `json:"ssrc"`
}

// Validate implements the payload check run by DecodeData.
func (m *MediaUnregister) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	return CheckTrack(m.Track)
}

// MediaSubscribe asks the relay to send a track to Address (unicast) for as
// long as the control connection that asks lives. The address's IP must be
// the connection's IP: the relay never sends to an address that did not ask.
type MediaSubscribe struct {
	Meeting int64  `json:"meeting"`
	Track   string `json:"track"`
	Address string `json:"address"` // IPv4:PORT
}

// Validate implements the payload check run by DecodeData.
func (m *MediaSubscribe) Validate() error {
	if err := CheckMeetingID(m.Meeting); err != nil {
		return err
	}
	if err := CheckTrack(m.Track); err != nil {
		return err
	}
	_, err := ParseMediaAddr("address", m.Address)
	return err
}

// ParseMediaAddr parses an IPv4:PORT of a media source or subscriber: a
// unicast address and a port from 1 to 65534.
func ParseMediaAddr(field, s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Is4() || ap.Port() == 0 || ap.Port() == 65535 {
		// 65535 has no port+1 for RTCP.
		return ap, Errorf(CodeBadRequest, "%s must be IPv4:PORT with a port from 1 to 65534", field)
	}
	if a := ap.Addr(); a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return ap, Errorf(CodeBadRequest, "%s must be a unicast address", field)
	}
	return ap, nil
}

// CallStart calls a user: a two-person meeting that rings the callee.
type CallStart struct {
	User string `json:"user"`
}

// Validate implements the payload check run by DecodeData.
func (c *CallStart) Validate() error { return CheckName("user", c.User) }

// CallInfo is the data of the call.ring push (to every session of the
// callee) and the start of call.start's reply.
type CallInfo struct {
	Meeting int64  `json:"meeting"`
	Caller  string `json:"caller"`
	Callee  string `json:"callee"`
}

// CallStartReply is the reply to call.start. CalleeOnline says whether the
// callee had a session when the call started; a session they open while
// it rings gets call.ring then, until the ring timeout. Friends see each
// other's presence anyway.
type CallStartReply struct {
	CallInfo
	CalleeOnline bool `json:"callee_online"`
}

// Why a call ended, in the call.ended push.
const (
	CallDeclined = "declined"
	CallTimeout  = "timeout"
	CallHangup   = "ended"
)

// CallEnded is the data of the call.ended push: to the caller when the
// callee declines or does not answer in time, and to both when it ends.
type CallEnded struct {
	Meeting int64  `json:"meeting"`
	Reason  string `json:"reason"` // CallDeclined, CallTimeout or CallHangup
	By      string `json:"by,omitempty"`
}
