package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is the whole persistence layer of one server. Times come back in
// UTC, exact to at least the millisecond (the backends keep microseconds).
type Store interface {
	Users
	Sessions
	Friends
	Messages
	Groups
	Files
	Meetings
	Recordings
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections; callers stop using it first.
	Close() error
}

// User is an account.
type User struct {
	Name         string
	Email        string
	PasswordHash string // PHC-formatted argon2id hash
	Created      time.Time
}

// Users stores accounts.
type Users interface {
	// CreateUser inserts u; ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the account named name; ErrNotFound when there is none.
	GetUser(ctx context.Context, name string) (User, error)
	// UpdateEmail sets the email of name; ErrNotFound when there is no such user.
	UpdateEmail(ctx context.Context, name, email string) error
	// UpdatePassword sets the password hash of name and deletes all of that
	// user's sessions except keepSession (a token hash; empty keeps none), in
	// one transaction. It returns how many sessions were deleted; ErrNotFound
	// when there is no such user.
	UpdatePassword(ctx context.Context, name, hash string, keepSession []byte) (revoked int, err error)
}

// Session is a login session. Only the SHA-256 of the token is stored.
type Session struct {
	TokenHash []byte // 32 bytes
	User      string
	Created   time.Time
	Expires   time.Time
}

// Sessions stores login sessions.
type Sessions interface {
	// CreateSession inserts s; ErrConflict when the hash exists already,
	// ErrNotFound when s.User does not exist. A hash that is not 32 bytes is
	// an error.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with this token hash; ErrNotFound when
	// there is none or it expired before now (it is live through the instant
	// of Expires).
	GetSession(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	// DeleteSession removes one session; ErrNotFound when there is none.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteExpiredSessions removes the sessions that expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// Friend states, as stored from the point of view of the row's user.
const (
	FriendRequested = "requested" // user asked friend
	FriendPending   = "pending"   // friend asked user
	FriendAccepted  = "accepted"
)

// Friend is one row of a user's friend list.
type Friend struct {
	User    string // the other user
	State   string // FriendRequested, FriendPending or FriendAccepted
	Created time.Time
}

// Friends stores friendships, one row per direction.
type Friends interface {
	// RequestFriend records that from asks to befriend to and returns from's
	// resulting state: FriendRequested, or FriendAccepted when to had already
	// asked from. ErrNotFound when either user does not exist; ErrConflict
	// when the request exists already or they are friends already, and when
	// from == to (nobody befriends themselves).
	RequestFriend(ctx context.Context, from, to string, now time.Time) (string, error)
	// AcceptFriend accepts the pending request of from to user; ErrNotFound
	// when there is no such pending request.
	AcceptFriend(ctx context.Context, user, from string) error
	// RemoveFriend deletes the friendship or request between user and other in
	// both directions; ErrNotFound when there was none.
	RemoveFriend(ctx context.Context, user, other string) error
	// ListFriends returns user's rows, ordered by the other user's name
	// byte-wise; none for an unknown user.
	ListFriends(ctx context.Context, user string) ([]Friend, error)
}
