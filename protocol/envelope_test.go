package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code Code // "" = ok
	}{
		{"ok", `{"id":1,"type":"ping"}`, ""},
		{"ok with data", `{"id":7,"type":"auth.login","data":{"name":"a"}}`, ""},
		{"null data", `{"id":7,"type":"ping","data":null}`, ""},
		{"invalid json", `{"id":1,`, CodeBadRequest},
		{"not an object", `[1,2]`, CodeBadRequest},
		{"unknown field", `{"id":1,"type":"ping","extra":1}`, CodeBadRequest},
		{"missing id", `{"type":"ping"}`, CodeBadRequest},
		{"negative id", `{"id":-1,"type":"ping"}`, CodeBadRequest},
		{"missing type", `{"id":1}`, CodeBadRequest},
		{"long type", `{"id":1,"type":"` + strings.Repeat("x", MaxTypeLen+1) + `"}`, CodeBadRequest},
		{"data not object", `{"id":1,"type":"ping","data":3}`, CodeBadRequest},
		{"trailing", `{"id":1,"type":"ping"} {}`, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.in))
			if tt.code == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.code != "" && CodeOf(err) != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
		})
	}
}

func TestLooseID(t *testing.T) {
	if id := LooseID([]byte(`{"id":42,"type":"x","bogus":true}`)); id != 42 {
		t.Fatalf("LooseID = %d, want 42", id)
	}
	if id := LooseID([]byte(`garbage`)); id != 0 {
		t.Fatalf("LooseID(garbage) = %d", id)
	}
}

func TestDecodeDataValidates(t *testing.T) {
	tests := []struct {
		name string
		data string
		v    any
		ok   bool
	}{
		{"register ok", `{"name":"alice","email":"a@example.com","password":"correct horse"}`, &Register{}, true},
		{"register short name", `{"name":"al","email":"a@example.com","password":"correct horse"}`, &Register{}, false},
		{"register long name", `{"name":"` + strings.Repeat("a", 33) + `","email":"a@example.com","password":"correct horse"}`, &Register{}, false},
		{"register upper name", `{"name":"Alice","email":"a@example.com","password":"correct horse"}`, &Register{}, false},
		{"register bad email", `{"name":"alice","email":"nope","password":"correct horse"}`, &Register{}, false},
		{"register display-name email", `{"name":"alice","email":"Al <a@example.com>","password":"correct horse"}`, &Register{}, false},
		{"register short password", `{"name":"alice","email":"a@example.com","password":"short"}`, &Register{}, false},
		{"register long password", `{"name":"alice","email":"a@example.com","password":"` + strings.Repeat("p", 129) + `"}`, &Register{}, false},
		{"register unknown field", `{"name":"alice","email":"a@example.com","password":"correct horse","admin":true}`, &Register{}, false},
		{"register missing data", ``, &Register{}, false},
		{"hello ok", `{"version":1,"client":"t"}`, &Hello{}, true},
		{"hello wrong version", `{"version":2}`, &Hello{}, false},
		{"friend target ok", `{"user":"bob"}`, &FriendTarget{}, true},
		{"friend target bad", `{"user":"../x"}`, &FriendTarget{}, false},
		{"passwd ok", `{"old_password":"x","new_password":"longenough"}`, &Passwd{}, true},
		{"passwd short new", `{"old_password":"x","new_password":"short"}`, &Passwd{}, false},
		{"wrong type", `{"user":5}`, &FriendTarget{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeData(json.RawMessage(tt.data), tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && CodeOf(err) != CodeBadRequest {
				t.Fatalf("code = %s, want bad_request", CodeOf(err))
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	frame, err := EncodeResponse(9, Profile{User: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	p, n, err := SplitFrame(frame, DefaultMaxFrame)
	if err != nil || n != len(frame) {
		t.Fatalf("SplitFrame: %v n=%d len=%d", err, n, len(frame))
	}
	m, err := DecodeIncoming(p)
	if err != nil || m.ID != 9 || !m.OK || m.IsPush() {
		t.Fatalf("DecodeIncoming = %+v, %v", m, err)
	}
	var prof Profile
	if err := json.Unmarshal(m.Data, &prof); err != nil || prof.User != "alice" {
		t.Fatalf("profile = %+v, %v", prof, err)
	}

	e := EncodeError(3, Errorf(CodeForbidden, "no <way>"))
	m, err = DecodeIncoming(e[HeaderSize:])
	if err != nil || m.OK || m.Error == nil || m.Error.Code != CodeForbidden || m.Error.Message != "no <way>" {
		t.Fatalf("error frame = %+v, %v", m, err)
	}

	push, _ := EncodePush(PushPresence, Presence{User: "bob", Online: true})
	m, err = DecodeIncoming(push[HeaderSize:])
	if err != nil || !m.IsPush() || m.Type != PushPresence {
		t.Fatalf("push = %+v, %v", m, err)
	}

	req, _ := EncodeRequest(5, TypePing, Ping{})
	r, err := DecodeRequest(req[HeaderSize:])
	if err != nil || r.ID != 5 || r.Type != TypePing {
		t.Fatalf("request = %+v, %v", r, err)
	}
}

// FuzzDecodeRequest checks that no input crashes the decoder, that every
// failure is a bad_request, and that inputs split at every offset and
// reassembled decode the same way (the event loop sees partial reads).
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"id":1,"type":"hello","data":{"version":1}}`))
	f.Add([]byte(`{"id":1,"type":"ping","x":1}`))
	f.Add([]byte(`{"id":18446744073709551615,"type":"a","data":{}}`))
	f.Add([]byte(`{"id":1e3,"type":"a"}`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			if CodeOf(err) != CodeBadRequest {
				t.Fatalf("error %v is not bad_request", err)
			}
		} else if req.ID == 0 || req.Type == "" {
			t.Fatalf("accepted invalid request %+v", req)
		}
		stream := AppendFrame(nil, data)
		for cut := 0; cut <= len(stream); cut++ {
			buf := append(append([]byte(nil), stream[:cut]...), stream[cut:]...)
			_, _, ferr := SplitFrame(buf[:cut], 1<<20)
			if ferr == nil && cut < len(stream) {
				t.Fatalf("frame complete after %d of %d bytes", cut, len(stream))
			}
			p, _, ferr := SplitFrame(buf, 1<<20)
			if len(data) == 0 {
				continue
			}
			if ferr != nil {
				t.Fatalf("whole frame: %v", ferr)
			}
			req2, err2 := DecodeRequest(p)
			if (err == nil) != (err2 == nil) || req2.ID != req.ID || req2.Type != req.Type {
				t.Fatalf("cut %d decodes differently", cut)
			}
		}
		var v Register
		_ = DecodeData(data, &v)
	})
}

// FuzzDecodeData feeds arbitrary bytes to the decoder of every request
// payload: nothing may panic, every refusal is a bad_request, and what is
// accepted passes its own validation.
func FuzzDecodeData(f *testing.F) {
	f.Add([]byte(`{"user":"bob","client_msg_id":"a1","text":"hi"}`))
	f.Add([]byte(`{"group":"devs","before":10,"after":0,"limit":200}`))
	f.Add([]byte(`{"group":"devs","users":["a","bob","bob"]}`))
	f.Add([]byte(`{"group":"devs","user":"bob","role":"owner"}`))
	f.Add([]byte(`{"user":"bob","group":"devs","seq":-1}`))
	f.Add([]byte(`{"text":"\ud800"}`))
	f.Add([]byte(`{"user":"bob","name":"a.txt","size":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","type":"text/plain; charset=\"\u0000\""}`))
	f.Add([]byte(`{"file":"abcdefghijklmnopqrstuvwxyz","before":"x","limit":500}`))
	f.Add([]byte(`{"meeting":7,"track":"audio","source":"127.0.0.1:5004","ssrc":4294967295}`))
	f.Add([]byte(`{"meeting":-1,"users":["bob"],"name":"\u202e"}`))
	f.Add([]byte(`{"meeting":1,"track":"video","address":"[::1]:0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []any{
			new(MsgSend), new(MsgHistory), new(MsgRead), new(MsgTyping),
			new(GroupName), new(GroupUsers), new(GroupRole),
			new(FileUpload), new(FileID), new(FileList),
			new(MeetingCreate), new(MeetingID), new(MeetingInvite), new(MeetingKick), new(MeetingSay),
			new(MediaRegister), new(MediaUnregister), new(MediaSubscribe), new(CallStart),
			new(Register), new(Login), new(Resume), new(Passwd), new(UserUpdate), new(FriendTarget), new(Hello),
		} {
			err := DecodeData(data, v)
			if err != nil && CodeOf(err) != CodeBadRequest {
				t.Fatalf("%T: error %v is not bad_request", v, err)
			}
			if val, ok := v.(interface{ Validate() error }); ok && err == nil {
				if verr := val.Validate(); verr != nil {
					t.Fatalf("%T accepted %q but does not validate: %v", v, data, verr)
				}
			}
		}
	})
}

// TestDecodeIncomingToleratesNewFields: a client keeps working when a newer
// server adds fields to its envelopes.
func TestDecodeIncomingToleratesNewFields(t *testing.T) {
	m, err := DecodeIncoming([]byte(`{"type":"msg.new","data":{"seq":1},"trace":"abc"}`))
	if err != nil || m.Type != "msg.new" || string(m.Data) != `{"seq":1}` {
		t.Fatalf("DecodeIncoming = %+v, %v", m, err)
	}
	if _, err := DecodeIncoming([]byte(`{"trace":"abc"}`)); err == nil {
		t.Fatal("accepted a message with neither id, type nor error")
	}
	if _, err := DecodeIncoming([]byte(`{"id":1,`)); err == nil {
		t.Fatal("accepted broken JSON")
	}
}

// The hand-assembled frames must be exactly what encoding/json makes of the
// envelope types.
func TestEncodeMatchesEnvelopeTypes(t *testing.T) {
	marshal := func(v any) []byte {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	raw := json.RawMessage(marshal(Message{Seq: 3, From: "alice", Text: "<b>&\"é\u2028"}))
	tests := []struct {
		name  string
		frame func() ([]byte, error)
		want  any
	}{
		{"request", func() ([]byte, error) { return EncodeRequest(7, TypeMsgSend, json.RawMessage(raw)) },
			Request{ID: 7, Type: TypeMsgSend, Data: raw}},
		{"request without data", func() ([]byte, error) { return EncodeRequest(1<<63, TypePing, nil) },
			Request{ID: 1 << 63, Type: TypePing}},
		{"odd type", func() ([]byte, error) { return EncodeRequest(3, "a\"b\\c\n", nil) },
			Request{ID: 3, Type: "a\"b\\c\n"}},
		{"response", func() ([]byte, error) { return EncodeResponse(9, json.RawMessage(raw)) },
			Response{ID: 9, OK: true, Data: raw}},
		{"response without data", func() ([]byte, error) { return EncodeResponse(9, nil) },
			Response{ID: 9, OK: true}},
		{"error", func() ([]byte, error) { return EncodeError(0, Errorf(CodeForbidden, "not <yours>")), nil },
			Response{Error: Errorf(CodeForbidden, "not <yours>")}},
		{"push", func() ([]byte, error) { return EncodePush(PushMsgNew, json.RawMessage(raw)) },
			Push{Type: PushMsgNew, Data: raw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := tt.frame()
			if err != nil {
				t.Fatal(err)
			}
			payload, n, err := SplitFrame(frame, DefaultMaxFrame)
			if err != nil || n != len(frame) {
				t.Fatalf("SplitFrame: n=%d of %d, %v", n, len(frame), err)
			}
			var got, want any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatalf("frame %s is not JSON: %v", payload, err)
			}
			if err := json.Unmarshal(marshal(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("frame %s, want %s", payload, marshal(tt.want))
			}
		})
	}
}

// Requests are decoded with v2's strict rules: exact names, no duplicates,
// valid UTF-8, nothing after the value.
func TestDecodeStrictRules(t *testing.T) {
	bad := []string{
		`{"ID":1,"type":"ping"}`,
		`{"id":1,"Type":"ping"}`,
		`{"id":1,"type":"ping","type":"pong"}`,
		"{\"id\":1,\"type\":\"p\xffing\"}",
		`{"id":1,"type":"ping"}x`,
		`{"id":1.5,"type":"ping"}`,
		`{"id":"1","type":"ping"}`,
	}
	for _, in := range bad {
		if _, err := DecodeRequest([]byte(in)); CodeOf(err) != CodeBadRequest {
			t.Errorf("DecodeRequest(%q) = %v, want bad_request", in, err)
		}
	}
	var m MsgSend
	if err := DecodeData(json.RawMessage(`{"user":"bob","client_msg_id":"c-1","text":"hi","text":"again"}`), &m); CodeOf(err) != CodeBadRequest {
		t.Errorf("duplicate text: %v, want bad_request", err)
	}
	req, err := DecodeRequest([]byte(" {\"id\":5,\"type\":\"ping\",\"data\":{\"a\":[1,2]}}\n"))
	if err != nil || req.ID != 5 || string(req.Data) != `{"a":[1,2]}` {
		t.Fatalf("DecodeRequest = %+v, %v", req, err)
	}
}

// The hand-written encoders say what encoding/json says of the same value.
func TestAppendersMatchEncodingJSON(t *testing.T) {
	ts := time.Date(2026, 12, 1, 19, 4, 5, 123456000, time.UTC)
	values := []appender{
		MsgSendReply{Seq: 1, TS: ts},
		MsgSendReply{Seq: 1 << 60, TS: ts.In(time.FixedZone("x", 3600)), Duplicate: true},
		Message{Seq: 3, From: "alice", To: "bob", Text: "hi", TS: ts, ClientMsgID: "c-1"},
		Message{Seq: 4, From: "alice", Group: "team", Text: "<b>&\"\\\n\t\u2028é\x01\xff", TS: time.Time{}, ClientMsgID: "x\"y"},
		Message{},
		MsgSend{Conversation: Conversation{User: "bob"}, ClientMsgID: "c-1", Text: "<hi>"},
		MsgSend{Conversation: Conversation{Group: "team"}, ClientMsgID: "\u00e9", Text: ""},
		MsgSend{},
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := v.appendJSON(nil)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%T %+v encodes as %s, not JSON: %v", v, v, got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%T encodes as\n%s\nencoding/json says\n%s", v, got, want)
		}
	}
}

// FuzzDecodeIncoming checks the client's fast path against the full
// decoder: whatever the fast path takes, the full decoder reads the same
// way, or finds fault only inside data (which its consumer decodes).
func FuzzDecodeIncoming(f *testing.F) {
	push, _ := EncodePush(PushMsgNew, Message{Seq: 3, From: "a", Text: `x"}{\`, TS: time.Unix(1, 0)})
	resp, _ := EncodeResponse(9, MsgSendReply{Seq: 1, TS: time.Unix(1, 0)})
	f.Add(push[HeaderSize:])
	f.Add(resp[HeaderSize:])
	f.Add(EncodeError(0, Errorf(CodeBadRequest, "x"))[HeaderSize:])
	f.Add([]byte(`{"id":7,"ok":true}`))
	f.Add([]byte(`{"type":"t","data":{"a":[1,"]"]},"more":1}`))
	f.Add([]byte(`{"id":07,"ok":true,"data":"s"}`))
	f.Add([]byte(`{"type":"t","data":[}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		fast, ok := incomingFast(payload)
		if !ok {
			_, _ = DecodeIncoming(payload) // must not panic
			return
		}
		var full Incoming
		if err := DecodeLenient(payload, &full); err != nil {
			if len(fast.Data) > 0 && !jsontext.Value(fast.Data).IsValid() {
				return // the fault is in data
			}
			t.Fatalf("fast path took %q, which does not decode: %v", payload, err)
		}
		if fast.ID != full.ID || fast.Type != full.Type || fast.OK != full.OK || full.Error != nil ||
			!bytes.Equal(fast.Data, full.Data) {
			t.Fatalf("%q: fast path %+v, full decoder %+v", payload, fast, full)
		}
	})
}

// FuzzRequestFast checks that what the fast path accepts, the strict
// decoder accepts alike, and that the fast path takes what clients send.
func FuzzRequestFast(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"type":"msg.send","data":{"user":"bob","client_msg_id":"c1","text":"hi \u00e9"}}`,
		`{"id":7,"type":"ping"}`, `{"id":7,"type":"ping","data":{}}`, `{"id":07,"type":"ping"}`,
		`{"id":1,"type":"a","data":{"x":1,"x":2}}`, `{"id":1,"type":"a","data":{"x":"\xff"}}`,
		"{\"id\":1,\"type\":\"a\",\"data\":{\"x\":\"\xff\"}}", `{"id":1,"type":"a","data":{"x":1}} `,
		`{"id":1,"type":"a","data":{"x":1},"data":{}}`, `{"id":1,"type":"a\u0062","data":{}}`,
		`{"id":1,"type":"a","data":{}}}`, `{"id":1,"type":"a","data":{"a":[}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		fast, ok := requestFast(payload)
		strict, err := decodeRequestStrict(payload)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path took %q, which the strict decoder refuses: %v", payload, err)
		}
		if fast.ID != strict.ID || fast.Type != strict.Type || !bytes.Equal(fast.Data, strict.Data) {
			t.Fatalf("%q: fast path %+v, strict decoder %+v", payload, fast, strict)
		}
	})
}

// What the client library writes takes the fast path, and its data is a
// copy: the server's read buffer is reused once the request is decoded.
func TestRequestFastTakesClientRequests(t *testing.T) {
	frame, err := EncodeRequest(42, TypeMsgSend, MsgSend{Conversation: Conversation{User: "bob"}, ClientMsgID: "c-1", Text: "héllo \"there\" <b>"})
	if err != nil {
		t.Fatal(err)
	}
	payload := frame[HeaderSize:]
	req, ok := requestFast(payload)
	if !ok {
		t.Fatalf("requestFast refused %q", payload)
	}
	want, err := decodeRequestStrict(payload)
	if err != nil || req.ID != 42 || req.Type != TypeMsgSend || !bytes.Equal(req.Data, want.Data) {
		t.Fatalf("requestFast = %+v, strict decoder %+v, %v", req, want, err)
	}
	clear(payload)
	var m MsgSend
	if err := DecodeData(req.Data, &m); err != nil || m.Text != "héllo \"there\" <b>" {
		t.Fatalf("data after the payload was overwritten: %+v, %v", m, err)
	}
	for _, p := range []string{`{"id":1,"type":"ping"}`, `{"id":1,"type":"ping","data":{}}`} {
		if req, ok := requestFast([]byte(p)); !ok || req.ID != 1 || req.Type != TypePing {
			t.Errorf("requestFast(%s) = %+v, %v", p, req, ok)
		}
	}
}

// FuzzValueEnd checks valueEnd against the byte-at-a-time scan it replaced.
func FuzzValueEnd(f *testing.F) {
	for _, s := range []string{`{"a":"x\"}"}`, `"\\"`, `"a\`, `[{"]":[1]}]x`, `{"t":"\\\"\\"}`, `"`, `{}}`, `x`,
		`"0123456789abcdefgh\"ij"`, `{"t":"0123456789abcdef\\"}`, `["0123456789abcdefghij`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := valueEnd(data), valueEndSlow(data); got != want {
			t.Fatalf("valueEnd(%q) = %d, the byte scan says %d", data, got, want)
		}
	})
}

func valueEndSlow(data []byte) int {
	if len(data) == 0 || (data[0] != '{' && data[0] != '[' && data[0] != '"') {
		return -1
	}
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				if depth == 0 {
					return i + 1
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
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

// The frequent pushes and the replies decode on the fast path without
// allocating: the type is one of the package's constants and data shares
// the frame's bytes.
func TestDecodeIncomingFastPathAllocs(t *testing.T) {
	for _, frame := range []string{
		`{"type":"msg.new","data":{"conv":"g:team","seq":7,"from":"alice","text":"a message longer than sixteen bytes, with \"quotes\""}}`,
		`{"type":"msg.read","data":{"conv":"d:bob","seq":7}}`,
		`{"type":"msg.typing","data":{"conv":"d:bob","from":"bob"}}`,
		`{"type":"presence","data":{"user":"bob","online":true}}`,
		`{"id":42,"ok":true,"data":{"seq":7}}`,
	} {
		b := []byte(frame)
		var m Incoming
		var err error
		if n := testing.AllocsPerRun(100, func() { m, err = DecodeIncoming(b) }); n != 0 || err != nil {
			t.Errorf("DecodeIncoming(%s): %v allocations, err %v", frame, n, err)
		}
		if m.Type == "" && m.ID == 0 || len(m.Data) == 0 {
			t.Errorf("DecodeIncoming(%s) = %+v", frame, m)
		}
	}
}
