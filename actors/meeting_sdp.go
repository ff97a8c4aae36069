package actors

import (
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"

	"huddle/protocol"
	"huddle/storage"
)

// meetingSDP describes a meeting's multicast streams (RFC 4566), one media
// section per track with the track's name as its label (RFC 4574), so that
// standard receivers such as ffmpeg can play them:
// ffmpeg -protocol_whitelist file,udp,rtp -i meeting.sdp.
func meetingSDP(m storage.Meeting, origin netip.Addr, ttl int) (string, error) {
	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: uint64(m.ID), SessionVersion: uint64(m.Created.Unix()),
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: origin.String(),
		},
		SessionName: sdp.SessionName(m.Name),
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4",
			Address: &sdp.Address{Address: m.Group.String(), TTL: &ttl},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
	}
	for i, track := range protocol.Tracks {
		pt := protocol.PayloadType(track)
		kind, rtpmap := "text", "t140/1000"
		switch pt {
		case protocol.PayloadOpus:
			kind, rtpmap = "audio", "opus/48000/2"
		case protocol.PayloadVP8:
			kind, rtpmap = "video", "VP8/90000"
		}
		format := strconv.Itoa(int(pt))
		md := &sdp.MediaDescription{MediaName: sdp.MediaName{
			Media: kind, Port: sdp.RangedPort{Value: int(m.Ports[i])},
			Protos: []string{"RTP", "AVP"}, Formats: []string{format},
		}}
		md = md.WithValueAttribute("rtpmap", format+" "+rtpmap).
			WithValueAttribute("label", track).
			WithPropertyAttribute(sdp.AttrKeyRecvOnly)
		sd.MediaDescriptions = append(sd.MediaDescriptions, md)
	}
	out, err := sd.Marshal()
	return string(out), err
}
