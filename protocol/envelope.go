package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Request is a client request: {"id": 17, "type": "msg.send", "data": {...}}.
type Request struct {
	ID   uint64          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Response answers the request with the same id.
type Response struct {
	ID    uint64          `json:"id"`
	OK    bool            `json:"ok"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *Error          `json:"error,omitempty"`
}

// Push is a server-initiated message; it has no id.
type Push struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Incoming is anything a client can receive: a response (ID != 0) or a push.
type Incoming struct {
	ID    uint64          `json:"id,omitempty"`
	Type  string          `json:"type,omitempty"`
	OK    bool            `json:"ok,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *Error          `json:"error,omitempty"`
}

// IsPush reports whether m is a push rather than a response.
func (m *Incoming) IsPush() bool { return m.ID == 0 && m.Type != "" }

// MaxTypeLen bounds the request type string.
const MaxTypeLen = 64

// DecodeRequest strictly decodes one request payload. Unknown fields, trailing
// data, a missing id or type, and a non-object data field are bad requests.
func DecodeRequest(payload []byte) (Request, error) {
	if req, ok := requestFast(payload); ok {
		return req, nil
	}
	return decodeRequestStrict(payload)
}

// decodeRequestStrict is DecodeRequest for every shape of request.
func decodeRequestStrict(payload []byte) (Request, error) {
	// Data as a jsontext.Value, which v2 copies natively, where a
	// json.RawMessage goes through its UnmarshalJSON method.
	var wire struct {
		ID   uint64         `json:"id"`
		Type string         `json:"type"`
		Data jsontext.Value `json:"data,omitempty"`
	}
	err := decodeStrict(payload, &wire)
	req := Request{ID: wire.ID, Type: wire.Type, Data: json.RawMessage(wire.Data)}
	if err != nil {
		return req, Errorf(CodeBadRequest, "invalid request: %v", err)
	}
	if req.ID == 0 {
		return req, Errorf(CodeBadRequest, "request id must be a positive integer")
	}
	if req.Type == "" || len(req.Type) > MaxTypeLen {
		return req, Errorf(CodeBadRequest, "request type must be 1-%d characters", MaxTypeLen)
	}
	if len(req.Data) > 0 && !isObjectOrNull(req.Data) {
		return req, Errorf(CodeBadRequest, "request data must be an object")
	}
	return req, nil
}

// requestFast reads {"id":N,"type":"T"[,"data":D]}, the shape EncodeRequest
// writes, with N > 0, T 1 to MaxTypeLen bytes of printable ASCII without
// quotes or backslashes, and D an object that ends where the frame does and
// that jsontext validates as the strict decoder would (syntax, UTF-8,
// duplicate names): what it accepts, the strict decoder accepts alike. A
// request in any other shape, valid or not, goes to the strict decoder.
// Decoding the envelope with reflection cost the server as much as
// decoding the data after it.
func requestFast(p []byte) (Request, bool) {
	id, p, ok := leadingID(p)
	if !ok || !bytes.HasPrefix(p, []byte(`,"type":"`)) {
		return Request{}, false
	}
	p = p[len(`,"type":"`):]
	end := plainStringEnd(p)
	if end == 0 || end > MaxTypeLen {
		return Request{}, false
	}
	data, ok := dataTail(p[end+1:])
	if !ok || len(data) > 0 && (data[0] != '{' || !jsontext.Value(data).IsValid()) {
		return Request{}, false
	}
	req := Request{ID: id, Type: requestType(p[:end])}
	if len(data) > 0 {
		req.Data = json.RawMessage(bytes.Clone(data))
	}
	return req, true
}

// leadingID reads the `{"id":N` that starts p, N a positive integer without
// leading zeros, and returns N and what follows it.
func leadingID(p []byte) (uint64, []byte, bool) {
	if !bytes.HasPrefix(p, []byte(`{"id":`)) {
		return 0, nil, false
	}
	p = p[len(`{"id":`):]
	var id uint64
	n := 0
	for n < len(p) && n < 19 && p[n] >= '0' && p[n] <= '9' { // 19 digits cannot overflow
		id = id*10 + uint64(p[n]-'0')
		n++
	}
	if n == 0 || id == 0 || p[0] == '0' {
		return 0, nil, false
	}
	return id, p[n:], true
}

// plainStringEnd returns the index of the quote that ends the string p is
// the inside of, when that string is not empty and is printable ASCII
// without backslashes; 0 otherwise (a type is never empty).
func plainStringEnd(p []byte) int {
	end := bytes.IndexByte(p, '"')
	if end <= 0 {
		return 0
	}
	for _, c := range p[:end] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return 0
		}
	}
	return end
}

// dataTail reads what ends an envelope after its other fields: `}` (no
// data) or `,"data":D}` with D one object, array or string that ends where
// the frame does.
func dataTail(rest []byte) ([]byte, bool) {
	if len(rest) == 1 && rest[0] == '}' {
		return nil, true
	}
	if !bytes.HasPrefix(rest, []byte(`,"data":`)) || rest[len(rest)-1] != '}' {
		return nil, false
	}
	data := rest[len(`,"data":`) : len(rest)-1]
	return data, valueEnd(data) == len(data)
}

// requestTypes are the request types that come by the thousand a second.
var requestTypes = []string{TypeMsgSend, TypeMsgRead, TypeMsgTyping, TypeMsgHistory, TypePing}

// requestType is b as a string, without allocating one for requestTypes.
func requestType(b []byte) string { return known(b, requestTypes) }

// known returns the string of words that b spells, else b as a new string.
// string(b) == w compares without allocating.
func known(b []byte, words []string) string {
	for _, w := range words {
		if string(b) == w {
			return w
		}
	}
	return string(b)
}

// DecodeIncoming decodes a frame a client received. Unlike requests, which
// the server decodes strictly, it ignores fields it does not know: a client
// must keep working when a newer server adds some. It is the hot path of
// every client that reads pushes, so the shapes this server writes (see
// encode) are read without decoding data, which its consumer decodes (and
// so checks) anyway: m.Data then shares payload's bytes. Anything else goes
// through the full decoder.
func DecodeIncoming(payload []byte) (Incoming, error) {
	if m, ok := incomingFast(payload); ok {
		return m, nil
	}
	var m Incoming
	if err := DecodeLenient(payload, &m); err != nil {
		return m, fmt.Errorf("invalid server message: %w", err)
	}
	// A connection-level error (bad frame, auth timeout) carries id 0 and an
	// error but no type: the server is about to close the connection.
	if m.ID == 0 && m.Type == "" && m.Error == nil {
		return m, errors.New("invalid server message: neither id, type nor error")
	}
	return m, nil
}

// incomingFast reads {"type":"T"[,"data":D]} and {"id":N,"ok":true[,"data":D]}
// with N > 0, T printable ASCII without quotes or backslashes, and D one
// object, array or string that ends where the frame does.
func incomingFast(p []byte) (Incoming, bool) {
	var m Incoming
	var rest []byte
	if t, ok := bytes.CutPrefix(p, []byte(`{"type":"`)); ok {
		end := plainStringEnd(t)
		if end == 0 {
			return m, false
		}
		m.Type, rest = pushType(t[:end]), t[end+1:]
	} else {
		id, after, ok := leadingID(p)
		if !ok || !bytes.HasPrefix(after, []byte(`,"ok":true`)) {
			return m, false
		}
		m.ID, m.OK, rest = id, true, after[len(`,"ok":true`):]
	}
	data, ok := dataTail(rest)
	if !ok {
		return Incoming{}, false
	}
	m.Data = data
	return m, true
}

// pushTypes are the pushes that arrive by the thousand a second.
var pushTypes = []string{PushMsgNew, PushMsgRead, PushMsgTyping, PushPresence}

// pushType is b as a string, without allocating one for pushTypes.
func pushType(b []byte) string { return known(b, pushTypes) }

// valueEnd returns where the object, array or string that data starts with
// ends, by its brackets and quotes alone; -1 when it does not. Most of a
// push is inside strings, so a string is skipped with IndexByte (vectorized)
// rather than a byte at a time: it was a sixth of the bench's CPU at 700k
// pushes/s.
func valueEnd(data []byte) int {
	if len(data) == 0 || (data[0] != '{' && data[0] != '[' && data[0] != '"') {
		return -1
	}
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			j := stringEnd(data[i+1:])
			if j < 0 {
				return -1
			}
			i += 1 + j // the closing quote
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return -1
			}
		}
	}
	return -1
}

// stringEnd returns the index in s of the quote that ends the string s is
// the inside of (the opening quote just before s), skipping escaped
// characters; -1 when there is none. Keys and short values are scanned a
// byte at a time (a call of IndexByte costs more than they do); past 16
// bytes IndexByte finds the next quote, which ends the string if no
// backslash comes before it.
func stringEnd(s []byte) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i
		case '\\':
			i++
		default:
			if i == 16 {
				q := bytes.IndexByte(s[i:], '"')
				if q < 0 {
					return -1
				}
				if bytes.IndexByte(s[i:i+q], '\\') < 0 {
					return i + q
				}
			}
		}
	}
	return -1
}

// DecodeData strictly decodes a request's data into v. Missing data decodes as
// an empty object, so that required fields are reported by the payload's own
// validation.
func DecodeData(data json.RawMessage, v any) error {
	if len(data) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		data = []byte("{}")
	}
	if err := decodeStrict(data, v); err != nil {
		return Errorf(CodeBadRequest, "invalid data: %v", err)
	}
	if val, ok := v.(interface{ Validate() error }); ok {
		return val.Validate()
	}
	return nil
}

// strict is how requests are decoded: encoding/json/v2's semantics (the
// go-json-experiment mirror until go.mod moves to Go 1.27): names match
// exactly, duplicate names, invalid UTF-8 and trailing data are errors, and
// so, with this option, are unknown fields. It is also several times
// cheaper than a json.Decoder per request, which copies its input.
var strict = jsonv2.RejectUnknownMembers(true)

// DecodeLenient decodes what a server sent into v, ignoring fields v does
// not have (a newer server may add some), otherwise by the rules requests
// are decoded with.
func DecodeLenient(data []byte, v any) error {
	return jsonv2.Unmarshal(data, v)
}

func decodeStrict(data []byte, v any) error {
	return jsonv2.Unmarshal(data, v, strict)
}

func isObjectOrNull(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || bytes.HasPrefix(t, []byte("null")))
}

// EncodeRequest returns a framed request.
func EncodeRequest(id uint64, typ string, data any) ([]byte, error) {
	p, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	b := frameStart(len(typ) + 32 + p.size)
	b = strconv.AppendUint(append(b, `{"id":`...), id, 10)
	b = appendType(append(b, `,"type":`...), typ)
	return p.finish(b), nil
}

// EncodeResponse returns a framed successful response carrying data.
func EncodeResponse(id uint64, data any) ([]byte, error) {
	p, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	b := frameStart(40 + p.size)
	b = strconv.AppendUint(append(b, `{"id":`...), id, 10)
	return p.finish(append(b, `,"ok":true`...)), nil
}

// EncodeError returns a framed error response. id may be 0 when the failing
// request could not be parsed far enough to know its id.
func EncodeError(id uint64, e *Error) []byte {
	raw, err := json.Marshal(e)
	if err != nil { // cannot happen: Error has only strings
		panic(err)
	}
	b := frameStart(len(raw) + 48)
	b = strconv.AppendUint(append(b, `{"id":`...), id, 10)
	b = append(append(append(b, `,"ok":false,"error":`...), raw...), '}')
	return frameEnd(b)
}

// EncodePush returns a framed push. Fan-out encodes once and shares the slice.
func EncodePush(typ string, data any) ([]byte, error) {
	p, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	b := frameStart(len(typ) + 16 + p.size)
	return p.finish(appendType(append(b, `{"type":`...), typ)), nil
}

// payload is a frame's data: encoded by encoding/json (its omitempty and
// HTML-escaping rules are the wire format's), or, for the types on the
// message path, by the type itself straight into the frame.
type payload struct {
	raw  []byte
	app  appender
	size int // about what it adds to the frame
}

func encodeData(data any) (payload, error) {
	switch v := data.(type) {
	case nil:
		return payload{size: 1}, nil
	case appender:
		return payload{app: v, size: 10 + v.sizeHint()}, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return payload{}, fmt.Errorf("encode data: %w", err)
	}
	return payload{raw: raw, size: 10 + len(raw)}, nil
}

// finish adds the data field, if any, closes the object and the frame.
func (p payload) finish(b []byte) []byte {
	switch {
	case p.app != nil:
		b = p.app.appendJSON(append(b, `,"data":`...))
	case p.raw != nil:
		b = append(append(b, `,"data":`...), p.raw...)
	}
	return frameEnd(append(b, '}'))
}

// The frames are assembled by hand around the payload: an encoder would
// scan and copy a marshalled payload a second time. The fields come in the
// order, and with the omissions, the envelope types declare.

func frameStart(capacity int) []byte {
	return make([]byte, HeaderSize, HeaderSize+capacity)
}

func frameEnd(b []byte) []byte {
	n := len(b) - HeaderSize
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b
}

// appendType appends typ as a JSON string. Types are short ASCII names;
// anything else goes through encoding/json's quoting.
func appendType(b []byte, typ string) []byte {
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(typ) // a string always encodes
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), typ...), '"')
}

// LooseID extracts the id of a request that failed strict decoding, so that
// the error response can still name it. It returns 0 when there is none.
func LooseID(payload []byte) uint64 {
	var v struct {
		ID uint64 `json:"id"`
	}
	if json.Unmarshal(payload, &v) != nil {
		return 0
	}
	return v.ID
}
