package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Tracks is the number of tracks a meeting has: 0 text, 1 audio, 2 video,
// 3 screen, 4 caption.
const Tracks = 5

// Config configures a Relay. Start checks it.
type Config struct {
	IP             netip.Addr    // unicast IPv4 to bind
	Port           int           // RTP port; RTCP on Port+1; 0 picks a free pair
	Workers        int           // sockets per port (SO_REUSEPORT), one goroutine each; >= 1
	Batch          int           // datagrams per ReadBatch/WriteBatch
	MaxPacket      int           // larger datagrams are dropped
	SourceRate     int           // packets/s per source; beyond: dropped, counted
	SourceBurst    int           // packets above the rate a source may send at once
	Multicast      bool          // forward to the meetings' multicast groups; false: to unicast subscribers only
	MulticastIF    string        // interface for IP_MULTICAST_IF ("" leaves the kernel's choice)
	MulticastTTL   int           // TTL of multicast datagrams
	RestartBackoff time.Duration // first pause before a failed worker restarts; doubles up to maxBackoff
	SocketBuffer   int           // SO_RCVBUF/SO_SNDBUF bytes per socket; 0 keeps the kernel default
	Timestamps     bool          // measure the latency the relay adds (Relay.Latency) from kernel receive timestamps; Linux only
	Logger         *slog.Logger  // nil: slog.Default()
}

// maxBackoff caps a worker's restart pause; healthyAfter is how long a
// worker must run before its backoff starts again from RestartBackoff.
const (
	maxBackoff   = 5 * time.Second
	healthyAfter = time.Minute
)

func (c *Config) check() error {
	switch {
	case !c.IP.Is4() || c.IP.IsMulticast() || c.IP.IsUnspecified():
		return fmt.Errorf("media: ip %v is not a unicast IPv4 address", c.IP)
	case c.Port < 0 || c.Port > 65534:
		return fmt.Errorf("media: port %d is outside 0..65534 (RTCP uses port+1)", c.Port)
	case c.Workers < 1:
		return fmt.Errorf("media: workers %d < 1", c.Workers)
	case c.Batch < 1:
		return fmt.Errorf("media: batch %d < 1", c.Batch)
	case c.MaxPacket < 12 || c.MaxPacket > 65507:
		return fmt.Errorf("media: max packet %d is outside 12..65507", c.MaxPacket)
	case c.SourceRate < 1 || c.SourceBurst < 1:
		return fmt.Errorf("media: source rate %d and burst %d must be positive", c.SourceRate, c.SourceBurst)
	case c.MulticastTTL < 0 || c.MulticastTTL > 255:
		return fmt.Errorf("media: multicast ttl %d is outside 0..255", c.MulticastTTL)
	case c.RestartBackoff <= 0:
		return fmt.Errorf("media: restart backoff %v must be positive", c.RestartBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
