package protocol

// Friend states as seen from the listing user.
const (
	FriendRequested = "requested" // I asked them; they have not accepted yet
	FriendPending   = "pending"   // they asked me; I have not accepted yet
	FriendAccepted  = "accepted"
)

// FriendTarget names the other user of a friend.add, friend.accept or friend.remove.
type FriendTarget struct {
	User string `json:"user"`
}

// Validate implements the payload check run by DecodeData.
func (f *FriendTarget) Validate() error { return CheckName("user", f.User) }

// FriendState is the reply to friend.add and friend.accept.
type FriendState struct {
	User  string `json:"user"`
	State string `json:"state"`
}

// FriendList asks for the caller's friends and requests.
type FriendList struct{}

// Friend is one entry of a friend list.
type Friend struct {
	User   string `json:"user"`
	State  string `json:"state"`
	Online bool   `json:"online"`
}

// FriendListReply lists friends, accepted first, then by name.
type FriendListReply struct {
	Friends []Friend `json:"friends"`
}

// FriendEvent is the data of the friend.request, friend.accepted and
// friend.removed pushes: the user who acted.
type FriendEvent struct {
	User string `json:"user"`
}

// Presence is pushed to friends when a user's first session comes online or
// last session goes offline.
type Presence struct {
	User   string `json:"user"`
	Online bool   `json:"online"`
}
