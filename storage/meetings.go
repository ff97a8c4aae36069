package storage

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// Meeting states.
const (
	MeetingLive  = "live"
	MeetingEnded = "ended"
)

// Meeting kinds: a meeting, or a call (a two-person meeting that rings).
const (
	KindMeeting = "meeting"
	KindCall    = "call"
)

// Meeting member roles and statuses.
const (
	MeetingHost     = "host"
	MeetingAttendee = "member"

	StatusInvited  = "invited"
	StatusJoined   = "joined"
	StatusDeclined = "declined"
	StatusLeft     = "left"
	StatusKicked   = "kicked"
)

// NumTracks is the number of a meeting's tracks (text, audio, video, screen,
// caption, in that order: protocol.Tracks).
const NumTracks = 5

// Meeting is a meeting's row. Its multicast group and ports are allocated
// when it is created and kept until it ends, also across restarts.
type Meeting struct {
	ID      int64 // assigned by CreateMeeting
	Name    string
	Host    string
	Kind    string // KindMeeting or KindCall
	State   string // MeetingLive or MeetingEnded
	Group   netip.Addr
	Ports   [NumTracks]uint16 // one per track, in protocol.Tracks order
	Created time.Time
	Ended   time.Time // zero while live

	// Set by UserMeetings only: the listing user's role and status.
	Role, Status string
}

// MeetingMember is one member of a meeting.
type MeetingMember struct {
	User    string
	Role    string // MeetingHost or MeetingAttendee
	Status  string // StatusInvited, StatusJoined, …
	Updated time.Time
}

// MediaSource is a source a joined member registered to send RTP from. It
// belongs to the member: it lasts until they leave, are kicked, unregister
// it, or the meeting ends.
type MediaSource struct {
	User   string
	Track  string // protocol.Tracks
	Source netip.AddrPort
	SSRC   uint32
}

// MeetingConversation returns the conversation id under which a meeting's
// text chat (meeting.say) is stored in messages: "m:42".
func MeetingConversation(id int64) string { return "m:" + strconv.FormatInt(id, 10) }

// Meetings stores meetings, their members and their registered media sources.
type Meetings interface {
	// CreateMeeting inserts m (its ID is ignored) with its host as the first
	// member (MeetingHost, StatusJoined) and returns it with its ID.
	// ErrNotFound when the host does not exist; ErrConflict when a live
	// meeting holds the same multicast group already. m.Group must be an
	// IPv4 multicast address and m.State empty (or MeetingLive).
	CreateMeeting(ctx context.Context, m Meeting) (Meeting, error)
	// GetMeeting returns the meeting with id, live or ended; ErrNotFound
	// when there is none.
	GetMeeting(ctx context.Context, id int64) (Meeting, error)
	// EndMeeting marks a live meeting ended at now and deletes its media
	// sources; ErrNotFound when there is no live meeting with id.
	EndMeeting(ctx context.Context, id int64, now time.Time) error
	// LiveMeetings returns every live meeting, by id.
	LiveMeetings(ctx context.Context) ([]Meeting, error)
	// MeetingMembers returns a meeting's members ordered by name.
	MeetingMembers(ctx context.Context, id int64) ([]MeetingMember, error)
	// SetMeetingMember inserts or updates the member user of meeting id
	// with role and status. Leaving any status but StatusJoined deletes the
	// member's media sources in the same transaction. ErrNotFound when the
	// meeting or the user does not exist.
	SetMeetingMember(ctx context.Context, id int64, m MeetingMember) error
	// SetMeetingMembers is SetMeetingMember for each of ms, in order, in one
	// transaction: all are stored or none.
	SetMeetingMembers(ctx context.Context, id int64, ms []MeetingMember) error
	// UserMeetings returns the live meetings user hosts, whatever the
	// host's status (a host who left is still its host), and those user is
	// a member of with any status but StatusDeclined, StatusLeft and
	// StatusKicked (invited or joined), by id, with Role and Status set.
	UserMeetings(ctx context.Context, user string) ([]Meeting, error)
	// AddMediaSource stores a source of a joined member. ErrConflict when
	// the meeting has a source with the same SSRC already, or any live
	// meeting has one with the same address and SSRC; ErrNotFound when the
	// meeting or user does not exist, and also when the meeting is not live
	// or the user is not a joined member of it (an IPv4-mapped IPv6 address
	// is stored as the IPv4 one).
	AddMediaSource(ctx context.Context, id int64, s MediaSource) error
	// RemoveMediaSource deletes the source with ssrc of user on track;
	// ErrNotFound when there is none.
	RemoveMediaSource(ctx context.Context, id int64, user, track string, ssrc uint32) error
	// MediaSources returns a meeting's sources ordered by user, track, ssrc.
	MediaSources(ctx context.Context, id int64) ([]MediaSource, error)
}
