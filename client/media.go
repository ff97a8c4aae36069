package client

import (
	"context"
	"net"
	"net/netip"

	"huddle/protocol"
)

// LocalAddr returns the IP of the control connection's local end. The
// relay accepts media sources and subscriber addresses only on this IP
// (the one the server sees), so media sockets are opened on it. It is the
// zero Addr if the connection has no IP address.
func (c *Client) LocalAddr() netip.Addr {
	if a, ok := c.conn().nc.LocalAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// MediaRegister registers a source the caller (a joined member) sends a
// track's RTP from, with its SSRC. The registration belongs to the member,
// not to this connection: it lasts until MediaUnregister, leaving, a kick
// or the end of the meeting.
func (c *Client) MediaRegister(ctx context.Context, meeting int64, track string, source netip.AddrPort, ssrc uint32) error {
	return c.Call(ctx, protocol.TypeMediaRegister, protocol.MediaRegister{Meeting: meeting, Track: track, Source: source.String(), SSRC: ssrc}, nil)
}

// MediaUnregister removes a registered source.
func (c *Client) MediaUnregister(ctx context.Context, meeting int64, track string, ssrc uint32) error {
	return c.Call(ctx, protocol.TypeMediaUnregister, protocol.MediaUnregister{Meeting: meeting, Track: track, SSRC: ssrc}, nil)
}

// MediaSubscribe asks the relay to send a track to addr, for as long as
// this connection lives.
func (c *Client) MediaSubscribe(ctx context.Context, meeting int64, track string, addr netip.AddrPort) error {
	return c.mediaSubscription(ctx, protocol.TypeMediaSubscribe, meeting, track, addr)
}

// MediaUnsubscribe ends a subscription before the connection does.
func (c *Client) MediaUnsubscribe(ctx context.Context, meeting int64, track string, addr netip.AddrPort) error {
	return c.mediaSubscription(ctx, protocol.TypeMediaUnsubscribe, meeting, track, addr)
}

func (c *Client) mediaSubscription(ctx context.Context, typ string, meeting int64, track string, addr netip.AddrPort) error {
	return c.Call(ctx, typ, protocol.MediaSubscribe{Meeting: meeting, Track: track, Address: addr.String()}, nil)
}
