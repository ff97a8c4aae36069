package protocol

import "testing"

func TestMeetingPayloads(t *testing.T) {
	for _, tc := range []struct {
		data string
		v    any
		ok   bool
	}{
		{`{"name":"standup"}`, new(MeetingCreate), true},
		{`{"name":"Café Δ"}`, new(MeetingCreate), true},
		{`{"name":""}`, new(MeetingCreate), false},
		{`{"name":" x"}`, new(MeetingCreate), false},
		{`{"name":"a\u0000b"}`, new(MeetingCreate), false},
		{`{"name":"0123456789012345678901234567890123456789012345678901234567890123456789"}`, new(MeetingCreate), false},
		{`{"meeting":1}`, new(MeetingID), true},
		{`{"meeting":0}`, new(MeetingID), false},
		{`{"meeting":1,"x":1}`, new(MeetingID), false},
		{`{"meeting":1,"users":["bob","carol"]}`, new(MeetingInvite), true},
		{`{"meeting":1,"users":[]}`, new(MeetingInvite), false},
		{`{"meeting":1,"users":["Bob"]}`, new(MeetingInvite), false},
		{`{"meeting":1,"user":"bob"}`, new(MeetingKick), true},
		{`{"meeting":1,"text":"hi"}`, new(MeetingSay), true},
		{`{"meeting":1,"text":""}`, new(MeetingSay), false},
		{`{"meeting":1,"track":"audio","source":"127.0.0.1:5004","ssrc":4294967295}`, new(MediaRegister), true},
		{`{"meeting":1,"track":"audio","source":"127.0.0.1:5004","ssrc":4294967296}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"audio","source":"127.0.0.1:0","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"audio","source":"127.0.0.1:65535","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"audio","source":"[::1]:5004","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"audio","source":"0.0.0.0:5004","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"audio","source":"255.255.255.255:5004","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"smell","source":"127.0.0.1:5004","ssrc":1}`, new(MediaRegister), false},
		{`{"meeting":1,"track":"video","address":"127.0.0.1:6000"}`, new(MediaSubscribe), true},
		{`{"meeting":1,"track":"video","address":"239.255.0.1:6000"}`, new(MediaSubscribe), false},
		{`{"meeting":1,"track":"caption","ssrc":5}`, new(MediaUnregister), true},
		{`{"user":"bob"}`, new(CallStart), true},
		{`{"user":"b"}`, new(CallStart), false},
	} {
		err := DecodeData([]byte(tc.data), tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%T %s: err = %v, want ok=%v", tc.v, tc.data, err, tc.ok)
		}
		if err != nil && CodeOf(err) != CodeBadRequest {
			t.Errorf("%T %s: code %s, want bad_request", tc.v, tc.data, CodeOf(err))
		}
	}
}

func TestTracks(t *testing.T) {
	want := map[string]uint8{TrackText: PayloadT140, TrackAudio: PayloadOpus, TrackVideo: PayloadVP8, TrackScreen: PayloadVP8, TrackCaption: PayloadT140}
	for i, tr := range Tracks {
		if TrackIndex(tr) != i || PayloadType(tr) != want[tr] || CheckTrack(tr) != nil {
			t.Errorf("track %s: index %d, payload type %d", tr, TrackIndex(tr), PayloadType(tr))
		}
	}
	if TrackIndex("smell") != -1 || CheckTrack("") == nil {
		t.Error("unknown tracks accepted")
	}
}
