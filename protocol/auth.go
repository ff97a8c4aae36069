package protocol

import "time"

// Register creates an account.
type Register struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Validate implements the payload check run by DecodeData.
func (r *Register) Validate() error {
	if err := CheckName("name", r.Name); err != nil {
		return err
	}
	if err := CheckEmail(r.Email); err != nil {
		return err
	}
	return CheckPassword("password", r.Password)
}

// RegisterReply names the new account.
type RegisterReply struct {
	User string `json:"user"`
}

// Login authenticates with a password and opens a session.
type Login struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Validate only bounds sizes: a login with a malformed name must fail exactly
// like a wrong password, so that names cannot be probed.
func (l *Login) Validate() error {
	if l.Name == "" || len(l.Name) > MaxNameLen*4 {
		return Errorf(CodeBadRequest, "name is required")
	}
	if l.Password == "" || len(l.Password) > MaxPasswordLen*4 {
		return Errorf(CodeBadRequest, "password must be 1-%d characters", MaxPasswordLen)
	}
	return nil
}

// Resume authenticates a new connection with a session token.
type Resume struct {
	Token string `json:"token"`
}

// Validate implements the payload check run by DecodeData.
func (r *Resume) Validate() error {
	if r.Token == "" || len(r.Token) > 256 {
		return Errorf(CodeBadRequest, "token is required")
	}
	return nil
}

// Session is the reply to login and resume. Token is set only by login.
type Session struct {
	User    string    `json:"user"`
	Token   string    `json:"token,omitempty"`
	Expires time.Time `json:"expires"`
	// FriendRequests lists the users waiting for this user to accept them.
	FriendRequests []string `json:"friend_requests"`
	// Unread lists the conversations with messages the user has not read.
	Unread []UnreadCount `json:"unread"`
}

// Logout ends the connection's session.
type Logout struct{}

// Passwd changes the password and revokes every other session of the user.
type Passwd struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// Validate implements the payload check run by DecodeData.
func (p *Passwd) Validate() error {
	if p.OldPassword == "" || len(p.OldPassword) > MaxPasswordLen*4 {
		return Errorf(CodeBadRequest, "old_password is required")
	}
	return CheckPassword("new_password", p.NewPassword)
}

// PasswdReply says how many other sessions were revoked.
type PasswdReply struct {
	Revoked int `json:"revoked"`
}

// SessionRevoked is pushed to a connection whose session ended elsewhere.
type SessionRevoked struct {
	Reason string `json:"reason"`
}

// Empty is the data of requests and replies that carry nothing.
type Empty struct{}
