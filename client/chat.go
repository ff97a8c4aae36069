package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"huddle/protocol"
)

// UserChat names the private conversation with user.
func UserChat(user string) protocol.Conversation { return protocol.Conversation{User: user} }

// GroupChat names the conversation of group.
func GroupChat(group string) protocol.Conversation { return protocol.Conversation{Group: group} }

// NewClientMsgID returns a fresh client_msg_id: 16 random bytes in hex, 32
// characters that protocol.CheckClientMsgID accepts.
func NewClientMsgID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b[:])
}

// Send sends text to a conversation and returns once the server has stored
// it. clientMsgID makes a retry safe: a caller that may retry (after
// ErrConnectionLost, say) takes one from NewClientMsgID and passes the same
// id every time, and the server stores the message once. An empty
// clientMsgID gets a fresh one, for callers that never retry.
func (c *Client) Send(ctx context.Context, to protocol.Conversation, text, clientMsgID string) (protocol.MsgSendReply, error) {
	if clientMsgID == "" {
		clientMsgID = NewClientMsgID()
	}
	var out protocol.MsgSendReply
	err := c.Call(ctx, protocol.TypeMsgSend, protocol.MsgSend{Conversation: to, ClientMsgID: clientMsgID, Text: text}, &out)
	return out, err
}

// History returns a page of a conversation, oldest first; see
// protocol.MsgHistory for Before, After and Limit.
func (c *Client) History(ctx context.Context, q protocol.MsgHistory) (protocol.MsgHistoryReply, error) {
	var out protocol.MsgHistoryReply
	err := c.Call(ctx, protocol.TypeMsgHistory, q, &out)
	return out, err
}

// MarkRead moves the caller's read marker in a conversation forward to seq
// and returns the marker, which never moves back.
func (c *Client) MarkRead(ctx context.Context, in protocol.Conversation, seq int64) (int64, error) {
	var out protocol.MsgReadReply
	err := c.Call(ctx, protocol.TypeMsgRead, protocol.MsgRead{Conversation: in, Seq: seq}, &out)
	return out.Seq, err
}

// Typing tells the other side of a conversation that the caller is typing.
func (c *Client) Typing(ctx context.Context, in protocol.Conversation) error {
	return c.Call(ctx, protocol.TypeMsgTyping, protocol.MsgTyping{Conversation: in}, nil)
}

// Unread returns the caller's conversations with unread messages.
func (c *Client) Unread(ctx context.Context) ([]protocol.UnreadCount, error) {
	var out protocol.MsgUnreadReply
	err := c.Call(ctx, protocol.TypeMsgUnread, protocol.MsgUnread{}, &out)
	return out.Unread, err
}
