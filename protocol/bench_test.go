package protocol

import "testing"

var benchPayload = []byte(`{"id":12345,"type":"msg.send","data":{"to":"bob","client_msg_id":"c-1","text":"hello there, how is the meeting going?"}}`)

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
