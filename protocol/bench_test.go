package protocol

import (
	"testing"
	"time"
)

var benchPayload = []byte(`{"id":12345,"type":"msg.send","data":{"user":"bob","client_msg_id":"c-1","text":"hello there, how is the meeting going?"}}`)

func BenchmarkSplitFrame(b *testing.B) {
	frame := AppendFrame(nil, benchPayload)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, err := SplitFrame(frame, DefaultMaxFrame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, err := DecodeRequest(benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	data := Profile{User: "alice", Email: "alice@example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(42, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePush(b *testing.B) {
	data := Presence{User: "alice", Online: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodePush(PushPresence, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMsgSend(b *testing.B) {
	req, err := DecodeRequest(benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var m MsgSend
		if err := DecodeData(req.Data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMsgNew(b *testing.B) {
	m := Message{Seq: 12345, From: "alice", To: "bob", Text: "hello there, how is the meeting going? <b>", TS: time.Now(), ClientMsgID: "c-1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodePush(PushMsgNew, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMsgSendReply(b *testing.B) {
	r := MsgSendReply{Seq: 12345, TS: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(7, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeIncomingPush(b *testing.B) {
	frame, err := EncodePush(PushMsgNew, Message{Seq: 12345, From: "alice", To: "bob", Text: "hello there, how is the meeting going?", TS: time.Now(), ClientMsgID: "c-1"})
	if err != nil {
		b.Fatal(err)
	}
	payload := frame[HeaderSize:]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeIncoming(payload); err != nil {
			b.Fatal(err)
		}
	}
}
