package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/rtp"

	"huddle/client"
	"huddle/media/rtpfile"
	"huddle/protocol"
)

// outputFile is where subscribe writes a track, and its container; the
// text tracks (rtpfile.None) are printed instead.
func outputFile(dir, track string) (string, rtpfile.Format) {
	format := rtpfile.FormatOf(track)
	if format == rtpfile.None {
		return "", format
	}
	return filepath.Join(dir, track+format.Ext()), format
}

// receiver receives one track on its own socket.
type receiver struct {
	track  string
	conn   *net.UDPConn
	relay  netip.Addr // packets from any other IP are not the relay's and are ignored
	path   string
	format rtpfile.Format // rtpfile.None: the track is text, shown by onText
	// onText shows a T.140 payload (text and caption tracks).
	onText func(track, text string)
	// onWarn reports a packet the file could not take, once per track.
	onWarn func(track string, err error)

	file   *rtpfile.File
	warned bool
	stats  trackStats
}

func newReceiver(track string, conn *net.UDPConn, relay netip.Addr, dir string) *receiver {
	path, format := outputFile(dir, track)
	return &receiver{track: track, conn: conn, relay: relay, path: path, format: format, stats: trackStats{Track: track}}
}

// receive takes the track's RTP until ctx ends, writing media to the file,
// which is created at the first packet: a track nobody sent leaves no
// file. RTCP (muxed, RFC 5761: second byte 192-223) is skipped.
func (r *receiver) receive(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = r.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	pt := protocol.PayloadType(r.track)
	buf := make([]byte, 64<<10)
	var p rtp.Packet
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive %s: %w", r.track, err)
		}
		if !rtpfile.Parse(buf[:n], from, r.relay, pt, &p) {
			continue
		}
		r.stats.Packets++
		r.stats.Bytes += uint64(n)
		if err := r.write(&p); err != nil {
			return err
		}
	}
}

func (r *receiver) write(p *rtp.Packet) error {
	if r.format == rtpfile.None {
		if r.onText != nil && len(p.Payload) > 0 {
			r.onText(r.track, string(p.Payload))
		}
		return nil
	}
	if r.file == nil {
		f, err := rtpfile.Create(r.path, r.format, nil)
		if err != nil {
			return fmt.Errorf("create %s: %w", r.path, err)
		}
		r.file, r.stats.File = f, r.path
	}
	// A packet the writer cannot parse is the sender's problem, not a
	// reason to stop recording the others.
	if err := r.file.WriteRTP(p); err != nil && !r.warned && r.onWarn != nil {
		r.warned = true
		r.onWarn(r.track, err)
	}
	return nil
}

// close finishes the file (IVF frame count, Ogg end of stream).
func (r *receiver) close() error {
	if r.file == nil {
		return nil
	}
	return r.file.Close()
}

// receiveAll runs the receivers until ctx ends and closes their files.
func receiveAll(ctx context.Context, rs []*receiver) error {
	errs := make([]error, 2*len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() { errs[i] = r.receive(ctx) })
	}
	wg.Wait()
	for i, r := range rs {
		errs[len(rs)+i] = r.close()
	}
	return errors.Join(errs...)
}

func cmdMeetingSubscribe(ctx context.Context, a *app, cl *cmdLine) error {
	out := cl.fs.String("out", ".", "write audio.ogg, video.ivf and screen.ivf into DIR (created if missing)")
	duration := cl.fs.Duration("duration", 0, "stop after DUR (0: when interrupted or the meeting ends)")
	id, _, err := cl.parseMeeting(1, 1)
	if err != nil {
		return err
	}
	if *duration < 0 {
		return cl.usageErrorf("--duration must not be negative")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return cl.usageErrorf("--out %s: %v", *out, err)
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		rs, err := a.prepareSubscribe(ctx, c, id, *out)
		defer func() {
			for _, r := range rs {
				_ = r.conn.Close()
			}
		}()
		if err != nil {
			return err
		}
		wctx, stop := watchMeeting(ctx, c, id, true)
		defer stop()
		if *duration > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(wctx, *duration)
			defer cancel()
		}
		a.note("receiving meeting %d into %s", id, *out)
		err = receiveAll(wctx, rs)
		stats := make([]trackStats, len(rs))
		for i, r := range rs {
			stats[i] = r.stats
		}
		if perr := a.printStats(stats); perr != nil {
			return perr
		}
		if err != nil {
			return err
		}
		if cause := context.Cause(wctx); cause != nil && !errors.Is(cause, context.Canceled) &&
			!errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, errMeetingEnded) {
			return cause
		}
		return nil
	})
}

// prepareSubscribe joins, then opens a socket per track and subscribes it.
// The subscriptions end with the connection, so there is nothing to undo.
func (a *app) prepareSubscribe(ctx context.Context, c *client.Client, meeting int64, dir string) ([]*receiver, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	j, ip, err := joinMedia(rctx, c, meeting)
	if err != nil {
		return nil, err
	}
	var rs []*receiver
	for _, track := range protocol.Tracks {
		relay, err := relayAddr(j, track)
		if err != nil {
			return rs, err
		}
		conn, err := listenUDP(ip)
		if err != nil {
			return rs, err
		}
		r := newReceiver(track, conn, relay.Addr(), dir)
		r.onText = func(track, text string) { a.note("[%s] %s", track, printable(rtpfile.T140Text(text))) }
		r.onWarn = func(track string, err error) { a.warn(track+" packet not written", err) }
		rs = append(rs, r)
		if err := c.MediaSubscribe(rctx, meeting, track, localAddrPort(conn)); err != nil {
			return rs, fmt.Errorf("subscribe to %s: %w", track, err)
		}
	}
	return rs, nil
}
