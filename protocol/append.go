package protocol

import (
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// appender is a payload that encodes itself, for the few types on the
// message path (a msg.send, its ack and its msg.new): the same JSON
// encoding/json makes of their fields, at a fraction of the reflection's
// cost. Strings are quoted minimally (RFC 8785): "<" stays "<" where
// encoding/json writes "\u003c"; both are the same JSON.
type appender interface {
	appendJSON(b []byte) []byte
	sizeHint() int // about the bytes appendJSON adds
}

func (r MsgSendReply) sizeHint() int { return 64 }

func (m MsgSend) sizeHint() int {
	return 64 + len(m.User) + len(m.Group) + len(m.ClientMsgID) + len(m.Text)
}

// appendJSON is what a client sends most.
func (m MsgSend) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if m.User != "" {
		b = append(appendString(append(b, `"user":`...), m.User), ',')
	}
	if m.Group != "" {
		b = append(appendString(append(b, `"group":`...), m.Group), ',')
	}
	b = appendString(append(b, `"client_msg_id":`...), m.ClientMsgID)
	b = appendString(append(b, `,"text":`...), m.Text)
	return append(b, '}')
}

func (m Message) sizeHint() int {
	return 112 + len(m.From) + len(m.To) + len(m.Group) + len(m.Text) + len(m.ClientMsgID)
}

func (r MsgSendReply) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"seq":`...), r.Seq, 10)
	b = appendTime(append(b, `,"ts":`...), r.TS)
	if r.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, '}')
}

func (m Message) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"seq":`...), m.Seq, 10)
	b = appendString(append(b, `,"from":`...), m.From)
	if m.To != "" {
		b = appendString(append(b, `,"to":`...), m.To)
	}
	if m.Group != "" {
		b = appendString(append(b, `,"group":`...), m.Group)
	}
	b = appendString(append(b, `,"text":`...), m.Text)
	b = appendTime(append(b, `,"ts":`...), m.TS)
	b = appendString(append(b, `,"client_msg_id":`...), m.ClientMsgID)
	return append(b, '}')
}

// appendString quotes s; invalid UTF-8 becomes U+FFFD, as encoding/json
// makes it (validation keeps it out of stored text anyway).
func appendString(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

// appendTime writes t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds, for the years it accepts (stored times always are).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
