package storage

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Conversation ids. A private conversation is named by its two users in
// byte order ("u:alice:bob"); a group's by the group's id ("g:17"), so that a
// group deleted and created again under the same name starts afresh.
const (
	MaxConversationLen = 2 + 32 + 1 + 32
	MaxClientMsgIDLen  = 64
)

// PrivateConversation returns the id of the conversation between a and b.
func PrivateConversation(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "u:" + a + ":" + b
}

// GroupConversation returns the id of the conversation of the group with id.
func GroupConversation(id int64) string { return "g:" + strconv.FormatInt(id, 10) }

// PrivatePeers returns the two users of a private conversation id.
func PrivatePeers(conv string) (a, b string, ok bool) {
	rest, ok := strings.CutPrefix(conv, "u:")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// Message is one stored chat message.
type Message struct {
	Conversation string
	Seq          int64 // 1, 2, 3… per conversation, gapless
	Sender       string
	Recipient    string // the other user of a private conversation; empty in a group
	ClientMsgID  string // unique per sender
	Body         string
	Created      time.Time
}

// Appended is the outcome of storing one message of a batch.
type Appended struct {
	Seq     int64
	Created time.Time
	// Duplicate: the sender had already stored a message with this
	// client_msg_id in this conversation (before, or earlier in the same
	// batch); Seq and Created are the original's and nothing new was stored.
	Duplicate bool
	// Err is ErrConflict when the sender used this client_msg_id in another
	// conversation; nothing was stored for this message.
	Err error
}

// HistoryQuery selects a page of a conversation: the Limit messages right
// before Before (the newest when Before is zero) and after After; with
// Forward, the Limit messages right after After (the oldest when After is
// zero) instead.
type HistoryQuery struct {
	Before, After int64
	Limit         int
	Forward       bool
}

// Unread is the number of messages from others after the user's read marker.
type Unread struct {
	Conversation string
	Count        int64
	LastSeq      int64 // the conversation's newest seq
}

// Messages stores chat messages, read markers and private-conversation
// membership.
type Messages interface {
	// AppendMessages stores msgs (their Seq is ignored) in one transaction,
	// one multi-row INSERT, in order: each new message takes its
	// conversation's next seq. It returns one Appended per message. Sequence
	// numbers are assigned here, inside the transaction that stores them, so
	// that a conversation's seqs stay gapless whatever is retried. The first
	// message of a private conversation also creates both users' read
	// markers at 0. On error nothing of the batch is stored.
	AppendMessages(ctx context.Context, msgs []Message) ([]Appended, error)
	// History returns a page of conv, oldest first; q.Limit must be positive.
	History(ctx context.Context, conv string, q HistoryQuery) ([]Message, error)
	// LastSeq returns the newest seq of conv, 0 for an empty one.
	LastSeq(ctx context.Context, conv string) (int64, error)
	// MarkRead moves user's read marker in conv forward to seq (never back)
	// and returns the resulting marker and whether this call moved it; seq
	// beyond LastSeq is clamped. ErrNotFound when user has no marker there:
	// markers are created with a private conversation's first message and
	// with group membership.
	MarkRead(ctx context.Context, user, conv string, seq int64) (marker int64, moved bool, err error)
	// UnreadCounts returns, for every conversation user has a read marker in
	// (private conversations with messages, and the user's groups), the
	// number of messages from others after the marker; only non-zero counts,
	// ordered by conversation.
	UnreadCounts(ctx context.Context, user string) ([]Unread, error)
}

// Group roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Group is a chat group.
type Group struct {
	ID      int64
	Name    string
	Owner   string
	Members int // member count
	Created time.Time
	Role    string // the listing user's role; set by UserGroups only
}

// GroupMember is one member of a group.
type GroupMember struct {
	User   string
	Role   string
	Joined time.Time
}

// Groups stores groups and their members.
type Groups interface {
	// CreateGroup creates a group owned by owner, who becomes its first
	// member with RoleOwner; ErrConflict when the name is taken, ErrNotFound
	// when owner does not exist.
	CreateGroup(ctx context.Context, name, owner string, now time.Time) (Group, error)
	// GetGroup returns the group named name; ErrNotFound when there is none.
	GetGroup(ctx context.Context, name string) (Group, error)
	// DeleteGroup deletes a group with its members, messages, read markers
	// and files' records; ErrNotFound when there is no such group.
	DeleteGroup(ctx context.Context, id int64) error
	// AddMember adds user with role and sets their read marker at the
	// group's newest seq (history stays readable; it is just not unread).
	// ErrNotFound when the group or user does not exist; ErrConflict when
	// user is a member already.
	AddMember(ctx context.Context, group int64, user, role string, now time.Time) error
	// RemoveMember removes user and their read marker; ErrNotFound when user
	// is not a member.
	RemoveMember(ctx context.Context, group int64, user string) error
	// SetRole changes a member's role; ErrNotFound when user is not a member.
	SetRole(ctx context.Context, group int64, user, role string) error
	// Members lists a group's members ordered by name.
	Members(ctx context.Context, group int64) ([]GroupMember, error)
	// UserGroups lists the groups user belongs to, ordered by name, with
	// their member counts and user's role in each.
	UserGroups(ctx context.Context, user string) ([]Group, error)
}
