package protocol

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Account field limits (issue #3): fixed by the protocol so that clients can
// check them before sending.
const (
	MinNameLen     = 3
	MaxNameLen     = 32
	MinPasswordLen = 8
	MaxPasswordLen = 128
	MaxEmailLen    = 254
	MaxClientLen   = 64
	TokenLen       = 43 // base64url (no padding) of 32 random bytes
)

// ValidName reports whether s is a valid user or group name: 3–32 of [a-z0-9_.-].
func ValidName(s string) bool {
	if len(s) < MinNameLen || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// CheckName returns a bad_request error naming field when s is not a valid name.
func CheckName(field, s string) error {
	if !ValidName(s) {
		return Errorf(CodeBadRequest, "%s must be %d-%d characters of a-z 0-9 _ . -", field, MinNameLen, MaxNameLen)
	}
	return nil
}

// CheckEmail accepts a plain address (no display name) of sane length.
func CheckEmail(s string) error {
	if len(s) == 0 || len(s) > MaxEmailLen {
		return Errorf(CodeBadRequest, "email must be 1-%d characters", MaxEmailLen)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return Errorf(CodeBadRequest, "email %q is not a valid address", s)
	}
	return nil
}

// CheckPassword checks the length of a password in characters.
func CheckPassword(field, s string) error {
	if !utf8.ValidString(s) {
		return Errorf(CodeBadRequest, "%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n < MinPasswordLen || n > MaxPasswordLen {
		return Errorf(CodeBadRequest, "%s must be %d-%d characters", field, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}
