package media

import "sync/atomic"

// Stats are the relay's counters since Start.
type Stats struct {
	Received       uint64 `json:"received"`        // datagrams in
	Forwarded      uint64 `json:"forwarded"`       // datagrams sent (one in, N out counts N; the server's own text too)
	Unregistered   uint64 `json:"unregistered"`    // not from a registered source or subscriber
	Malformed      uint64 `json:"malformed"`       // not RTP/RTCP version 2, short, bad lengths
	WrongPayload   uint64 `json:"wrong_payload"`   // RTP with another payload type than the source registered
	Oversize       uint64 `json:"oversize"`        // larger than MaxPacket
	RateLimited    uint64 `json:"rate_limited"`    // over the source's rate
	SendErrors     uint64 `json:"send_errors"`     // datagrams the kernel refused
	RTCPIn         uint64 `json:"rtcp_in"`         // RTCP datagrams in (muxed or on port+1)
	FeedbackRouted uint64 `json:"feedback_routed"` // PLI/FIR/NACK datagrams sent to a source
	Restarts       uint64 `json:"restarts"`        // worker restarts after a failure
}

// MeetingStats are one meeting's counters.
type MeetingStats struct {
	Forwarded                 [Tracks]uint64 // datagrams sent per track (RTP and RTCP)
	WrongPayload, RateLimited uint64
}

// counts is a worker's private tally of one batch; the worker adds it to
// its published counters once per batch, so the packet path does plain
// increments on memory no other core writes.
type counts struct {
	received, forwarded, unregistered, malformed, wrongPayload uint64
	oversize, rateLimited, sendErrors, rtcpIn, feedbackRouted  uint64
}

// published are a worker's counters as Stats reads them; each worker owns
// one, padded so that two workers never share a cache line.
type published struct {
	received, forwarded, unregistered, malformed, wrongPayload atomic.Uint64
	oversize, rateLimited, sendErrors, rtcpIn, feedbackRouted  atomic.Uint64
	_                                                          [48]byte
}

func (p *published) add(c *counts) {
	for _, f := range [...]struct {
		dst *atomic.Uint64
		n   uint64
	}{
		{&p.received, c.received}, {&p.forwarded, c.forwarded}, {&p.unregistered, c.unregistered},
		{&p.malformed, c.malformed}, {&p.wrongPayload, c.wrongPayload}, {&p.oversize, c.oversize},
		{&p.rateLimited, c.rateLimited}, {&p.sendErrors, c.sendErrors}, {&p.rtcpIn, c.rtcpIn},
		{&p.feedbackRouted, c.feedbackRouted},
	} {
		if f.n != 0 {
			f.dst.Add(f.n)
		}
	}
	*c = counts{}
}

func (p *published) addTo(s *Stats) {
	s.Received += p.received.Load()
	s.Forwarded += p.forwarded.Load()
	s.Unregistered += p.unregistered.Load()
	s.Malformed += p.malformed.Load()
	s.WrongPayload += p.wrongPayload.Load()
	s.Oversize += p.oversize.Load()
	s.RateLimited += p.rateLimited.Load()
	s.SendErrors += p.sendErrors.Load()
	s.RTCPIn += p.rtcpIn.Load()
	s.FeedbackRouted += p.feedbackRouted.Load()
}

// meetingCounts are one worker's counters for one meeting, a cache line
// of their own (7 × 8 bytes + padding).
type meetingCounts struct {
	forwarded                 [Tracks]atomic.Uint64
	wrongPayload, rateLimited atomic.Uint64
	_                         [8]byte
}
