package protocol

// Hello is the first request on every connection.
type Hello struct {
	Version int    `json:"version"`
	Client  string `json:"client,omitempty"`
}

// Validate implements the payload check run by DecodeData.
func (h *Hello) Validate() error {
	if h.Version != Version {
		return Errorf(CodeBadRequest, "unsupported protocol version %d (server speaks %d)", h.Version, Version)
	}
	if len(h.Client) > MaxClientLen {
		return Errorf(CodeBadRequest, "client must be at most %d characters", MaxClientLen)
	}
	return nil
}

// HelloReply tells the client what the server expects of it.
type HelloReply struct {
	Server        string `json:"server"`
	Version       int    `json:"version"`
	MaxFrame      int    `json:"max_frame"`
	HeartbeatMS   int64  `json:"heartbeat_ms"`
	AuthTimeoutMS int64  `json:"auth_timeout_ms"`
}

// Ping keeps a connection alive.
type Ping struct{}

// Pong answers a ping with the server's clock.
type Pong struct {
	TS int64 `json:"ts"`
}
