package protocol

import "time"

// UserGet asks for the caller's own profile.
type UserGet struct{}

// UserUpdate changes the caller's profile.
type UserUpdate struct {
	Email string `json:"email"`
}

// Validate implements the payload check run by DecodeData.
func (u *UserUpdate) Validate() error { return CheckEmail(u.Email) }

// Profile is a user's own account information.
type Profile struct {
	User    string    `json:"user"`
	Email   string    `json:"email"`
	Created time.Time `json:"created"`
}
