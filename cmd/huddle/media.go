package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"

	"huddle/client"
	"huddle/protocol"
)

// Media commands: source registers someone else's sender, publish
// (media_publish.go) sends files, subscribe (media_subscribe.go) receives.
// Their UDP sockets are opened on the IP of the control connection's local
// end, because the relay takes sources and subscriber addresses only on
// the IP it sees for that connection.

// trackStats is the per-track summary publish and subscribe print: packets
// and bytes are whole RTP datagrams, header included.
type trackStats struct {
	Track   string `json:"track"`
	SSRC    uint32 `json:"ssrc,omitempty"`
	File    string `json:"file,omitempty"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (a *app) printStats(stats []trackStats) error {
	return printList(a, stats, "no tracks", func(s trackStats) []string {
		row := []string{s.Track, fmt.Sprintf("%d packets", s.Packets), fmt.Sprintf("%d bytes", s.Bytes)}
		if s.SSRC != 0 {
			row = append(row, fmt.Sprintf("ssrc %d", s.SSRC))
		}
		if s.File != "" {
			row = append(row, s.File)
		}
		return row
	})
}

// joinMedia joins the meeting (publishing and subscribing need a joined
// member; joining again is harmless) and returns the reply with the IP
// media sockets are to be opened on.
func joinMedia(ctx context.Context, c *client.Client, meeting int64) (protocol.MeetingJoinReply, netip.Addr, error) {
	j, err := c.MeetingJoin(ctx, meeting)
	if err != nil {
		return j, netip.Addr{}, err
	}
	ip := c.LocalAddr()
	if !ip.Is4() {
		return j, ip, &cliError{code: protocol.CodeBadRequest,
			msg: fmt.Sprintf("media needs an IPv4 control connection, not %v: use an IPv4 --server address", ip)}
	}
	return j, ip, nil
}

// listenUDP opens a UDP socket on ip with a port the system picks.
func listenUDP(ip netip.Addr) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, fmt.Errorf("open a UDP socket on %v: %w", ip, err)
	}
	return conn, nil
}

func localAddrPort(conn *net.UDPConn) netip.AddrPort {
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// relayAddr is where the relay takes a track's RTP, from a join reply.
func relayAddr(j protocol.MeetingJoinReply, track string) (netip.AddrPort, error) {
	s, ok := j.Relay[track]
	if !ok {
		return netip.AddrPort{}, &cliError{code: protocol.CodeInternal, msg: fmt.Sprintf("the server gave no relay address for the %s track", track)}
	}
	ap, err := protocol.ParseMediaAddr("relay", s)
	if err != nil {
		return ap, &cliError{code: protocol.CodeInternal, msg: fmt.Sprintf("the server's relay address for %s, %q: %v", track, s, err)}
	}
	return ap, nil
}

// ssrcFlag is --ssrc: a required uint32.
type ssrcFlag struct {
	v   uint32
	set bool
}

func (f *ssrcFlag) String() string { return strconv.FormatUint(uint64(f.v), 10) }

func (f *ssrcFlag) Set(s string) error {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return fmt.Errorf("want a number from 0 to %d", uint32(math.MaxUint32))
	}
	f.v, f.set = uint32(n), true
	return nil
}

func cmdMeetingSource(ctx context.Context, a *app, cl *cmdLine) error {
	track := cl.fs.String("track", "", "the track the sender sends: "+tracksText())
	from := cl.fs.String("from", "", "the sender's IP:PORT (the IP of this machine's connection to the server)")
	var ssrc ssrcFlag
	cl.fs.Var(&ssrc, "ssrc", "the SSRC the sender uses (0 to 4294967295)")
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	switch {
	case *track == "" || *from == "" || !ssrc.set:
		return cl.usageErrorf("--track, --from and --ssrc are required")
	case protocol.CheckTrack(*track) != nil:
		return cl.usageErrorf("--track must be one of %s, not %q", tracksText(), *track)
	}
	src, err := protocol.ParseMediaAddr("--from", *from)
	if err != nil {
		return cl.usageErrorf("%s, not %q", err.(*protocol.Error).Message, *from)
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		j, err := c.MeetingJoin(ctx, id) // registering needs a joined member; joining again is harmless
		if err != nil {
			return err
		}
		relay, err := relayAddr(j, *track)
		if err != nil {
			return err
		}
		if err := c.MediaRegister(ctx, id, *track, src, ssrc.v); err != nil {
			return err
		}
		if err := a.print(map[string]any{"meeting": id, "track": *track, "source": src.String(), "ssrc": ssrc.v, "relay": relay.String()},
			"registered %s source %s (ssrc %d) in meeting %d: send RTP (payload type %d) to %s",
			*track, src, ssrc.v, id, protocol.PayloadType(*track), relay); err != nil {
			return err
		}
		if *track == protocol.TrackAudio {
			a.note("for example: ffmpeg -re -i in.wav -c:a libopus -f rtp -ssrc %d -payload_type %d 'rtp://%s?localport=%d'",
				ssrc.v, protocol.PayloadOpus, relay, src.Port())
		}
		return nil
	})
}

func tracksText() string {
	s := ""
	for i, t := range protocol.Tracks {
		if i > 0 {
			s += "|"
		}
		s += t
	}
	return s
}

// watchMeeting returns a context that ends with ctx, or when the meeting
// ends or the user is no longer joined to it (kicked, left elsewhere),
// and, with untilLost, when the control connection is lost (a unicast
// subscription ends with it). context.Cause tells which.
func watchMeeting(ctx context.Context, c *client.Client, meeting int64, untilLost bool) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	me := c.Session().User
	var lost <-chan struct{}
	if untilLost {
		lost = c.Done()
	}
	go func() {
		for {
			select {
			case p := <-c.Pushes():
				if err := meetingGone(p, meeting, me); err != nil {
					cancel(err)
					return
				}
			case <-lost:
				cancel(c.Err())
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// errMeetingEnded ends publish and subscribe normally.
var errMeetingEnded = errors.New("the meeting ended")

// meetingGone reports whether push p takes user me out of the meeting.
func meetingGone(p protocol.Push, meeting int64, me string) error {
	switch p.Type {
	case protocol.PushMeetingEnded:
		var e protocol.MeetingEvent
		if json.Unmarshal(p.Data, &e) == nil && e.Meeting == meeting {
			return errMeetingEnded
		}
	case protocol.PushMeetingMembers:
		var m protocol.MeetingMembers
		if json.Unmarshal(p.Data, &m) != nil || m.Meeting != meeting {
			return nil
		}
		for _, mm := range m.Members {
			if mm.User == me && mm.Status != protocol.StatusJoined {
				return &cliError{code: protocol.CodeForbidden, msg: fmt.Sprintf("your status in meeting %d is now %s", meeting, mm.Status)}
			}
		}
	}
	return nil
}
