package protocol

import (
	"time"
	"unicode/utf8"
)

// Chat limits fixed by the protocol. The longest text a server accepts is its
// own configuration (chat.max_text, default 16 KiB); beyond it: too_large.
const (
	MaxClientMsgIDLen = 64
	MaxHistoryLimit   = 200
	DefaultHistory    = 50
)

// Conversation names the other side of a chat: a user (a private
// conversation with the caller) or a group. Exactly one is set.
type Conversation struct {
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// Validate implements the payload check run by DecodeData.
func (c *Conversation) Validate() error {
	switch {
	case c.User != "" && c.Group != "":
		return Errorf(CodeBadRequest, "set either user or group, not both")
	case c.User != "":
		return CheckName("user", c.User)
	case c.Group != "":
		return CheckName("group", c.Group)
	}
	return Errorf(CodeBadRequest, "user or group is required")
}

// MsgSend sends a message. ClientMsgID makes retries safe: the same id
// from the same sender is stored once and always answered with its seq.
type MsgSend struct {
	Conversation
	ClientMsgID string `json:"client_msg_id"`
	Text        string `json:"text"`
}

// Validate implements the payload check run by DecodeData.
func (m *MsgSend) Validate() error {
	if err := m.Conversation.Validate(); err != nil {
		return err
	}
	if err := CheckClientMsgID(m.ClientMsgID); err != nil {
		return err
	}
	return CheckText(m.Text)
}

// CheckText accepts a non-empty UTF-8 text; its longest length is the
// server's to say (too_large).
func CheckText(s string) error {
	if s == "" {
		return Errorf(CodeBadRequest, "text is required")
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeBadRequest, "text must be valid UTF-8")
	}
	return nil
}

// CheckClientMsgID accepts 1-64 characters of A-Z a-z 0-9 _ . : -.
func CheckClientMsgID(s string) error {
	if len(s) == 0 || len(s) > MaxClientMsgIDLen {
		return Errorf(CodeBadRequest, "client_msg_id must be 1-%d characters", MaxClientMsgIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return Errorf(CodeBadRequest, "client_msg_id must be characters of A-Z a-z 0-9 _ . : -")
		}
	}
	return nil
}

// MsgSendReply is sent once the message is durably stored. Duplicate says
// the id had been sent before: Seq and TS are the original's.
type MsgSendReply struct {
	Seq       int64     `json:"seq"`
	TS        time.Time `json:"ts"`
	Duplicate bool      `json:"duplicate,omitempty"`
}

// Message is a stored message, as pushed in msg.new and listed by msg.history.
// In a private conversation To is the recipient; in a group, Group is set.
type Message struct {
	Seq         int64     `json:"seq"`
	From        string    `json:"from"`
	To          string    `json:"to,omitempty"`
	Group       string    `json:"group,omitempty"`
	Text        string    `json:"text"`
	TS          time.Time `json:"ts"`
	ClientMsgID string    `json:"client_msg_id"`
}

// MsgHistory asks for a page of a conversation: the Limit messages right
// before Before (the newest when Before is 0), or, with After set and Before
// not, the Limit messages right after After — "after": 0 pages from the
// first message.
type MsgHistory struct {
	Conversation
	Before int64  `json:"before,omitempty"`
	After  *int64 `json:"after,omitempty"`
	Limit  int    `json:"limit,omitempty"` // default DefaultHistory, at most MaxHistoryLimit
}

// Validate implements the payload check run by DecodeData.
func (m *MsgHistory) Validate() error {
	if err := m.Conversation.Validate(); err != nil {
		return err
	}
	if m.Before < 0 || m.After != nil && *m.After < 0 {
		return Errorf(CodeBadRequest, "before and after must not be negative")
	}
	if m.Before > 0 && m.After != nil && *m.After >= m.Before {
		return Errorf(CodeBadRequest, "after must be below before")
	}
	if m.Limit < 0 || m.Limit > MaxHistoryLimit {
		return Errorf(CodeBadRequest, "limit must be 1-%d", MaxHistoryLimit)
	}
	if m.Limit == 0 {
		m.Limit = DefaultHistory
	}
	return nil
}

// MsgHistoryReply lists messages oldest first; LastSeq is the
// conversation's newest seq.
type MsgHistoryReply struct {
	Messages []Message `json:"messages"`
	LastSeq  int64     `json:"last_seq"`
}

// MsgRead moves the caller's read marker in a conversation forward to Seq.
type MsgRead struct {
	Conversation
	Seq int64 `json:"seq"`
}

// Validate implements the payload check run by DecodeData.
func (m *MsgRead) Validate() error {
	if err := m.Conversation.Validate(); err != nil {
		return err
	}
	if m.Seq <= 0 {
		return Errorf(CodeBadRequest, "seq must be positive")
	}
	return nil
}

// MsgReadReply is the marker after the request (it never moves back).
type MsgReadReply struct {
	Seq int64 `json:"seq"`
}

// ReadReceipt is the msg.read push: User has read up to Seq. In a private
// conversation it goes to the other user (and the reader's other sessions),
// with Peer naming the conversation from the receiver's point of view.
type ReadReceipt struct {
	User  string `json:"user"`
	Peer  string `json:"peer,omitempty"`
	Group string `json:"group,omitempty"`
	Seq   int64  `json:"seq"`
}

// MsgTyping says the caller is typing; it is pushed, never stored.
type MsgTyping struct {
	Conversation
}

// Typing is the msg.typing push.
type Typing struct {
	User  string `json:"user"`
	Group string `json:"group,omitempty"`
}

// MsgUnread asks for the caller's unread counts.
type MsgUnread struct{}

// UnreadCount is the number of messages from others after the caller's read
// marker in one conversation.
type UnreadCount struct {
	User    string `json:"user,omitempty"`
	Group   string `json:"group,omitempty"`
	Count   int64  `json:"count"`
	LastSeq int64  `json:"last_seq"`
}

// MsgUnreadReply lists the conversations with unread messages.
type MsgUnreadReply struct {
	Unread []UnreadCount `json:"unread"`
}
