package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of huddled. Every limit the server enforces lives here.
//
// Store empty means "not set": the store is then the SQLite database
// huddle.db inside Data, so that moving the data directory moves the database
// with it. Read the store through EffectiveStore, never Store directly.
type Config struct {
	Listen      string `yaml:"listen"` // HOST:PORT; port 0 picks a free one
	HTTP        string `yaml:"http"`   // HOST:PORT; port 0 picks a free one
	Store       string `yaml:"store"`  // sqlite:PATH, mysql:DSN, or empty for sqlite:<Data>/huddle.db
	Data        string `yaml:"data"`
	MediaIP     string `yaml:"media_ip"`
	MulticastIF string `yaml:"multicast_if"`

	Log      Log      `yaml:"log"`
	Net      Net      `yaml:"net"`
	Auth     Auth     `yaml:"auth"`
	Actors   Actors   `yaml:"actors"`
	Chat     Chat     `yaml:"chat"`
	Files    Files    `yaml:"files"`
	Meetings Meetings `yaml:"meetings"`
	Media    Media    `yaml:"media"`
	Metrics  Metrics  `yaml:"metrics"`
	Storage  Storage  `yaml:"storage"`
}

// Log configures slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Net configures the TCP control front end.
type Net struct {
	MaxFrame        int           `yaml:"max_frame"`
	AuthTimeout     time.Duration `yaml:"auth_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	Heartbeat       time.Duration `yaml:"heartbeat"`
	MaxConns        int           `yaml:"max_conns"`
	MaxConnsPerIP   int           `yaml:"max_conns_per_ip"`
	OutboundQueue   int           `yaml:"outbound_queue"`
	EventLoops      int           `yaml:"event_loops"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Auth configures accounts, password hashing and sessions.
type Auth struct {
	Argon2Memory  uint32        `yaml:"argon2_memory_kib"`
	Argon2Time    uint32        `yaml:"argon2_time"`
	Argon2Threads uint8         `yaml:"argon2_threads"`
	HashWorkers   int           `yaml:"hash_workers"`
	HashQueue     int           `yaml:"hash_queue"`
	SessionTTL    time.Duration `yaml:"session_ttl"`
	FailWindow    time.Duration `yaml:"login_fail_window"`
	// FailPerAccount counts one account's failures from one IP, so that
	// a stranger's guesses lock the owner out only from the stranger's
	// address; FailPerAccountTotal counts them from every IP, to bound
	// guessing spread over many addresses.
	FailPerAccount      int `yaml:"login_fail_per_account"`
	FailPerAccountTotal int `yaml:"login_fail_per_account_total"`
	FailPerIP           int `yaml:"login_fail_per_ip"`
	RegisterPerIP       int `yaml:"register_per_ip"`
}

// Actors configures the actor runtime.
type Actors struct {
	UserIdle       time.Duration `yaml:"user_idle"`
	PresenceGrace  time.Duration `yaml:"presence_grace"`
	RestartBackoff time.Duration `yaml:"restart_backoff"`
	RestartWindow  time.Duration `yaml:"restart_window"`
	RequestQueue   int           `yaml:"request_queue"`
	StoreTimeout   time.Duration `yaml:"store_timeout"`
}

// Chat configures messaging and the group-commit message writer.
type Chat struct {
	MaxText     int           `yaml:"max_text"`          // bytes of one message's text
	BatchSize   int           `yaml:"batch_size"`        // messages in one commit at most
	BatchDelay  time.Duration `yaml:"batch_delay"`       // wait for more messages before a commit
	WriterQueue int           `yaml:"writer_queue"`      // messages waiting for one writer; beyond it `unavailable`
	Writers     int           `yaml:"writers"`           // group-commit writers, each owning a share of the conversations
	GroupIdle   time.Duration `yaml:"group_idle"`        // an idle conversation actor stops after this long
	MaxMembers  int           `yaml:"max_group_members"` // members of one group at most
}

// Files configures file sharing over the HTTP data channel.
type Files struct {
	MaxSize             int64         `yaml:"max_size"`               // bytes of one file at most
	Quota               int64         `yaml:"quota"`                  // bytes one user may have sent in all, pending uploads included
	TokenTTL            time.Duration `yaml:"token_ttl"`              // lifetime of an upload or download token
	UploadTTL           time.Duration `yaml:"upload_ttl"`             // an unfinished upload is dropped after this long without bytes
	FinishedTTL         time.Duration `yaml:"finished_ttl"`           // how long the same upload asked again gets the stored file; then it is a new share
	MaxUploads          int           `yaml:"max_uploads"`            // unfinished uploads one user may have at once
	MaxTransfers        int           `yaml:"max_transfers"`          // HTTP uploads and downloads in progress at once
	MaxTransfersPerUser int           `yaml:"max_transfers_per_user"` // of those, one user's at most
	ReadTimeout         time.Duration `yaml:"read_timeout"`           // a transfer that moves nothing for this long is cut
	PublicURL           string        `yaml:"public_url"`             // base of transfer URLs; default http:// and the --http address
}

// Meetings configures meetings and calls.
type Meetings struct {
	MaxMembers     int           `yaml:"max_members"`       // members of one meeting at most, invited ones included
	MaxLivePerHost int           `yaml:"max_live_per_host"` // live meetings one user may host at once
	RingTimeout    time.Duration `yaml:"ring_timeout"`      // an unanswered call ends after this long
	MembersPush    time.Duration `yaml:"members_push"`      // meeting.members is pushed at most once per this interval and 100 members (0: on every change)
	Idle           time.Duration `yaml:"idle"`              // an idle meeting actor stops after this long (the meeting stays live)
	RecordMaxBytes int64         `yaml:"record_max_bytes"`  // bytes of one recording's files at most; at the limit it stops
	RecordMaxFiles int           `yaml:"record_max_files"`  // files of one recording at most (one per source, one per text track)
}

// Media configures the RTP relay.
type Media struct {
	Port             int           `yaml:"port"`              // UDP port on media_ip for RTP (RTCP muxed, or on port+1); 0 picks a free pair
	Workers          int           `yaml:"workers"`           // sockets per port (SO_REUSEPORT) with one goroutine each; 0 means one per CPU
	Batch            int           `yaml:"batch"`             // datagrams per ReadBatch/WriteBatch
	MaxPacket        int           `yaml:"max_packet"`        // bytes of one datagram at most; larger ones are dropped
	SocketBuffer     int           `yaml:"socket_buffer"`     // SO_RCVBUF and SO_SNDBUF of each relay socket, bytes; 0 keeps the kernel's
	SourceRate       int           `yaml:"source_rate"`       // packets per second one source may send
	SourceBurst      int           `yaml:"source_burst"`      // packets above the rate one source may send at once
	Multicast        bool          `yaml:"multicast"`         // forward to each meeting's multicast group; false: to unicast subscribers only
	MulticastRange   string        `yaml:"multicast_range"`   // IPv4 multicast prefix meetings' groups come from
	MulticastPorts   string        `yaml:"multicast_ports"`   // FIRST-LAST: UDP ports meetings' tracks use, 10 per meeting
	MulticastTTL     int           `yaml:"multicast_ttl"`     // TTL of multicast datagrams (1: this link only)
	MaxSources       int           `yaml:"max_sources"`       // sources one member may register in one meeting
	MaxSubscriptions int           `yaml:"max_subscriptions"` // unicast subscriptions one connection may hold
	RestartBackoff   time.Duration `yaml:"restart_backoff"`   // first pause before a failed relay worker starts again
	Timestamps       bool          `yaml:"timestamps"`        // measure the latency the relay adds from kernel receive timestamps (Linux)
}

// Metrics configures the operator's metrics endpoint.
type Metrics struct {
	Addr string `yaml:"addr"` // HOST:PORT serving GET /debug/vars; empty: off. No authentication: keep it private
}

// Storage configures the database backends.
type Storage struct {
	SQLiteBusyTimeout time.Duration `yaml:"sqlite_busy_timeout"`
	SQLiteMaxConns    int           `yaml:"sqlite_max_conns"`
	MySQLMaxOpen      int           `yaml:"mysql_max_open"`
	MySQLMaxIdle      int           `yaml:"mysql_max_idle"`
	MySQLConnLifetime time.Duration `yaml:"mysql_conn_lifetime"`
}

// DefaultConfig returns the configuration huddled runs with when nothing is set.
// configs/huddled.yaml must list exactly these values.
func DefaultConfig() Config {
	return Config{
		Listen:      "127.0.0.1:7700",
		HTTP:        "127.0.0.1:7701",
		Store:       "", // sqlite:<Data>/huddle.db; see EffectiveStore
		Data:        "./data",
		MediaIP:     "127.0.0.1",
		MulticastIF: "lo",
		Log:         Log{Level: "info", Format: "text"},
		Net: Net{
			MaxFrame:        1 << 20,
			AuthTimeout:     10 * time.Second,
			IdleTimeout:     90 * time.Second,
			Heartbeat:       30 * time.Second,
			MaxConns:        100000,
			MaxConnsPerIP:   50000,
			OutboundQueue:   4 << 20,
			EventLoops:      0,
			ShutdownTimeout: 10 * time.Second,
		},
		Auth: Auth{
			Argon2Memory:        19 * 1024,
			Argon2Time:          2,
			Argon2Threads:       1,
			HashWorkers:         0,
			HashQueue:           1024,
			SessionTTL:          30 * 24 * time.Hour,
			FailWindow:          time.Minute,
			FailPerAccount:      5,
			FailPerAccountTotal: 100,
			FailPerIP:           50,
			RegisterPerIP:       100,
		},
		Actors: Actors{
			UserIdle:       2 * time.Minute,
			PresenceGrace:  3 * time.Second,
			RestartBackoff: 100 * time.Millisecond,
			RestartWindow:  10 * time.Second,
			RequestQueue:   256,
			StoreTimeout:   10 * time.Second,
		},
		Chat: Chat{
			MaxText:     16 << 10,
			BatchSize:   512,
			BatchDelay:  0,
			WriterQueue: 65536,
			Writers:     1,
			GroupIdle:   2 * time.Minute,
			MaxMembers:  10000,
		},
		Files: Files{
			MaxSize:             2 << 30,
			Quota:               10 << 30,
			TokenTTL:            10 * time.Minute,
			UploadTTL:           24 * time.Hour,
			FinishedTTL:         2 * time.Minute,
			MaxUploads:          16,
			MaxTransfers:        256,
			MaxTransfersPerUser: 8,
			ReadTimeout:         30 * time.Second,
		},
		Meetings: Meetings{
			MaxMembers:     1000,
			MaxLivePerHost: 20,
			RingTimeout:    30 * time.Second,
			MembersPush:    100 * time.Millisecond,
			RecordMaxBytes: 1 << 30,
			RecordMaxFiles: 64,
		},
		Media: Media{
			Port:             7702,
			Workers:          0,
			Batch:            32,
			MaxPacket:        1500,
			SocketBuffer:     4 << 20,
			SourceRate:       2000,
			SourceBurst:      500,
			Multicast:        true,
			MulticastRange:   "239.255.0.0/16",
			MulticastPorts:   "20000-29999",
			MulticastTTL:     1,
			MaxSources:       8,
			MaxSubscriptions: 32,
			RestartBackoff:   100 * time.Millisecond,
			Timestamps:       true,
		},
		Storage: Storage{
			SQLiteBusyTimeout: 5 * time.Second,
			SQLiteMaxConns:    4,
			MySQLMaxOpen:      32,
			MySQLMaxIdle:      16,
			MySQLConnLifetime: 30 * time.Minute,
		},
	}
}

// DefaultStoreFile is the SQLite database's name inside the data directory
// when no store is set.
const DefaultStoreFile = "huddle.db"

// EffectiveStore is the store huddled opens: Store if it is set, otherwise
// the SQLite database DefaultStoreFile inside Data.
func (c Config) EffectiveStore() string {
	if c.Store != "" {
		return c.Store
	}
	return "sqlite:" + filepath.Join(c.Data, DefaultStoreFile)
}

// EffectiveEventLoops resolves EventLoops=0 to the number of CPUs.
func (n Net) EffectiveEventLoops() int {
	if n.EventLoops > 0 {
		return n.EventLoops
	}
	return runtime.NumCPU()
}

// EffectiveWorkers resolves Workers=0 to the number of CPUs.
func (m Media) EffectiveWorkers() int {
	if m.Workers > 0 {
		return m.Workers
	}
	return runtime.NumCPU()
}

// MulticastPrefix parses MulticastRange (Validate has checked it).
func (m Media) MulticastPrefix() netip.Prefix {
	p, _ := netip.ParsePrefix(m.MulticastRange)
	return p.Masked()
}

// PortRange parses MulticastPorts (Validate has checked it).
func (m Media) PortRange() (first, last uint16) {
	a, b, _ := strings.Cut(m.MulticastPorts, "-")
	f, _ := strconv.ParseUint(a, 10, 16)
	l, _ := strconv.ParseUint(b, 10, 16)
	return uint16(f), uint16(l)
}

// EffectiveHashWorkers resolves HashWorkers=0 to the number of CPUs.
func (a Auth) EffectiveHashWorkers() int {
	if a.HashWorkers > 0 {
		return a.HashWorkers
	}
	return runtime.NumCPU()
}

// LoadFile reads a YAML file on top of c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return c.LoadYAML(f)
}

// LoadYAML decodes YAML from r on top of c. Unknown keys are errors.
func (c *Config) LoadYAML(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for i, e := range te.Errors {
				te.Errors[i] = unknownField.ReplaceAllString(e, "unknown key $1")
			}
		}
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// KeysError reports whether err, from LoadFile or LoadYAML, is only about
// some keys (unknown ones, values of the wrong type): the rest of the file
// was read, so that Validate can report its problems too.
func KeysError(err error) bool {
	var te *yaml.TypeError
	return errors.As(err, &te)
}

// unknownField is how yaml names an unknown key: after the Go type it is
// not a field of, which tells an operator nothing.
var unknownField = regexp.MustCompile(`field (.+) not found in type \S+`)

// A Setting is a key that is also a flag (--listen) and an environment
// variable (HUDDLE_LISTEN).
type Setting struct {
	Flag  string // the flag's name: media-ip
	Key   string // the YAML key it overrides: media_ip, log.level
	Arg   string // what the flag takes, for usage: ADDR
	Usage string // what the setting is, for usage

	// unset says what an empty value stands for, where it is not nothing.
	unset string
	field func(*Config) *string
}

// settings are in the order huddled --help lists them.
var settings = []Setting{
	{Flag: "listen", Key: "listen", Arg: "ADDR", Usage: "control TCP address",
		field: func(c *Config) *string { return &c.Listen }},
	{Flag: "http", Key: "http", Arg: "ADDR", Usage: "HTTP data-channel address",
		field: func(c *Config) *string { return &c.HTTP }},
	{Flag: "metrics", Key: "metrics.addr", Arg: "ADDR", Usage: "operator metrics HTTP address, GET /debug/vars (no authentication: keep it private)",
		unset: "off",
		field: func(c *Config) *string { return &c.Metrics.Addr }},
	{Flag: "store", Key: "store", Arg: "URL", Usage: "database: sqlite:PATH or mysql:DSN",
		unset: "sqlite:<data>/" + DefaultStoreFile,
		field: func(c *Config) *string { return &c.Store }},
	{Flag: "data", Key: "data", Arg: "DIR", Usage: "directory for files, recordings and the default SQLite store",
		field: func(c *Config) *string { return &c.Data }},
	{Flag: "media-ip", Key: "media_ip", Arg: "IP", Usage: "IPv4 address the media relay receives RTP on",
		field: func(c *Config) *string { return &c.MediaIP }},
	{Flag: "multicast-if", Key: "multicast_if", Arg: "IFACE", Usage: "interface multicast is sent on",
		field: func(c *Config) *string { return &c.MulticastIF }},
	{Flag: "log-level", Key: "log.level", Arg: "LEVEL", Usage: "log level: debug, info, warn or error",
		field: func(c *Config) *string { return &c.Log.Level }},
	{Flag: "log-format", Key: "log.format", Arg: "FORMAT", Usage: "log format: text or json",
		field: func(c *Config) *string { return &c.Log.Format }},
}

// Settings lists the keys that are also flags and environment variables.
func Settings() []Setting { return append([]Setting(nil), settings...) }

// Env is the setting's environment variable: HUDDLE_MEDIA_IP.
func (s Setting) Env() string { return EnvName(s.Flag) }

// Default is the setting's default as huddled --help shows it.
func (s Setting) Default() string {
	d := DefaultConfig()
	if v := *s.field(&d); v != "" || s.unset == "" {
		return v
	}
	return s.unset
}

// EnvName returns the environment variable for a flag: media-ip → HUDDLE_MEDIA_IP.
func EnvName(flag string) string {
	return "HUDDLE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Set assigns one flag-named setting (see Settings).
func (c *Config) Set(flag, value string) error {
	for _, s := range settings {
		if s.Flag == flag {
			*s.field(c) = value
			return nil
		}
	}
	return fmt.Errorf("config: unknown setting %q", flag)
}

// FlagNames lists the settings that are also flags and environment variables.
func FlagNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.Flag
	}
	return names
}

// ApplyEnv applies HUDDLE_* variables found through lookup (os.LookupEnv).
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, s := range settings {
		if v, ok := lookup(s.Env()); ok {
			*s.field(c) = v
		}
	}
	return nil
}

// Validate checks every setting. The error names each bad key, one problem
// a line (errors.Join).
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	type addrKey struct{ key, addr, hint string }
	addrs := []addrKey{{"listen", c.Listen, ""}, {"http", c.HTTP, ""}}
	if c.Metrics.Addr != "" { // empty: off
		addrs = append(addrs, addrKey{"metrics.addr", c.Metrics.Addr, " (empty turns it off)"})
	}
	seen := map[string]string{} // address → the key that has it
	for _, a := range addrs {
		if other, ok := seen[a.addr]; ok && !strings.HasSuffix(a.addr, ":0") {
			bad(a.key, "%q is also %s's address", a.addr, other)
		}
		seen[a.addr] = a.key
		if _, port, err := net.SplitHostPort(a.addr); err != nil {
			bad(a.key, "%q is not HOST:PORT%s", a.addr, a.hint)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			// Port 0 is allowed: the kernel picks a free port (tests do).
			bad(a.key, "%q: port must be a number from 0 to 65535", a.addr)
		}
	}
	if c.Store != "" {
		kind, arg, _ := strings.Cut(c.Store, ":")
		if kind != "sqlite" && kind != "mysql" || arg == "" {
			bad("store", "%q must be sqlite:PATH or mysql:DSN (or unset for sqlite:<data>/%s)", c.Store, DefaultStoreFile)
		}
	}
	if c.Data == "" {
		bad("data", "must not be empty")
	}
	if ip, err := netip.ParseAddr(c.MediaIP); err != nil || !ip.Is4() {
		bad("media_ip", "%q is not an IPv4 address", c.MediaIP)
	} else if ip.IsUnspecified() || ip.IsMulticast() {
		// Members are told to send there, and the relay sends from it.
		bad("media_ip", "%s is not an address members can send RTP to: give the relay's unicast IPv4 address", c.MediaIP)
	}
	if c.MulticastIF == "" {
		bad("multicast_if", "must name an interface")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	n := c.Net
	positive := func(key string, v int64) {
		if v <= 0 {
			bad(key, "must be positive")
		}
	}
	if n.MaxFrame < 1024 || n.MaxFrame > 64<<20 {
		bad("net.max_frame", "%d is outside 1024..67108864", n.MaxFrame)
	}
	positive("net.auth_timeout", int64(n.AuthTimeout))
	positive("net.idle_timeout", int64(n.IdleTimeout))
	positive("net.heartbeat", int64(n.Heartbeat))
	if n.Heartbeat >= n.IdleTimeout {
		bad("net.heartbeat", "must be shorter than net.idle_timeout")
	}
	positive("net.max_conns", int64(n.MaxConns))
	positive("net.max_conns_per_ip", int64(n.MaxConnsPerIP))
	if n.OutboundQueue < n.MaxFrame {
		bad("net.outbound_queue", "must hold at least one frame of net.max_frame bytes")
	}
	if n.EventLoops < 0 {
		bad("net.event_loops", "must be 0 (one per CPU) or positive")
	}
	positive("net.shutdown_timeout", int64(n.ShutdownTimeout))
	a := c.Auth
	if a.Argon2Memory < 8*uint32(max(a.Argon2Threads, 1)) {
		bad("auth.argon2_memory_kib", "must be at least 8 KiB per thread")
	}
	positive("auth.argon2_time", int64(a.Argon2Time))
	positive("auth.argon2_threads", int64(a.Argon2Threads))
	if a.HashWorkers < 0 {
		bad("auth.hash_workers", "must be 0 (one per CPU) or positive")
	}
	positive("auth.hash_queue", int64(a.HashQueue))
	positive("auth.session_ttl", int64(a.SessionTTL))
	positive("auth.login_fail_window", int64(a.FailWindow))
	positive("auth.login_fail_per_account", int64(a.FailPerAccount))
	if a.FailPerAccountTotal < a.FailPerAccount {
		bad("auth.login_fail_per_account_total", "must be at least auth.login_fail_per_account")
	}
	positive("auth.login_fail_per_ip", int64(a.FailPerIP))
	positive("auth.register_per_ip", int64(a.RegisterPerIP))
	positive("actors.user_idle", int64(c.Actors.UserIdle))
	if c.Actors.PresenceGrace < 0 {
		bad("actors.presence_grace", "must not be negative")
	}
	positive("actors.restart_backoff", int64(c.Actors.RestartBackoff))
	positive("actors.restart_window", int64(c.Actors.RestartWindow))
	positive("actors.request_queue", int64(c.Actors.RequestQueue))
	positive("actors.store_timeout", int64(c.Actors.StoreTimeout))
	positive("files.max_size", c.Files.MaxSize)
	positive("files.quota", c.Files.Quota)
	positive("files.token_ttl", int64(c.Files.TokenTTL))
	positive("files.upload_ttl", int64(c.Files.UploadTTL))
	positive("files.finished_ttl", int64(c.Files.FinishedTTL))
	positive("files.max_uploads", int64(c.Files.MaxUploads))
	positive("files.max_transfers", int64(c.Files.MaxTransfers))
	positive("files.max_transfers_per_user", int64(c.Files.MaxTransfersPerUser))
	positive("files.read_timeout", int64(c.Files.ReadTimeout))
	positive("chat.max_text", int64(c.Chat.MaxText))
	if c.Chat.MaxText > c.Net.MaxFrame/2 {
		bad("chat.max_text", "must be at most half of net.max_frame (%d)", c.Net.MaxFrame)
	}
	positive("chat.batch_size", int64(c.Chat.BatchSize))
	if c.Chat.BatchDelay < 0 || c.Chat.BatchDelay > time.Second {
		bad("chat.batch_delay", "must be 0-1s")
	}
	positive("chat.writer_queue", int64(c.Chat.WriterQueue))
	if c.Chat.Writers < 1 || c.Chat.Writers > 16 {
		bad("chat.writers", "must be 1-16")
	}
	positive("chat.group_idle", int64(c.Chat.GroupIdle))
	positive("chat.max_group_members", int64(c.Chat.MaxMembers))
	mt := c.Meetings
	positive("meetings.max_members", int64(mt.MaxMembers))
	positive("meetings.max_live_per_host", int64(mt.MaxLivePerHost))
	positive("meetings.ring_timeout", int64(mt.RingTimeout))
	if mt.MembersPush < 0 {
		bad("meetings.members_push", "must not be negative")
	}
	positive("meetings.record_max_bytes", mt.RecordMaxBytes)
	positive("meetings.record_max_files", int64(mt.RecordMaxFiles))
	md := c.Media
	if md.Port < 0 || md.Port > 65534 {
		bad("media.port", "%d is outside 0..65534 (RTCP uses port+1)", md.Port)
	}
	if md.Workers < 0 {
		bad("media.workers", "must be 0 (one per CPU) or positive")
	}
	if md.Batch < 1 || md.Batch > 1024 {
		bad("media.batch", "%d is outside 1..1024", md.Batch)
	}
	if md.MaxPacket < 64 || md.MaxPacket > 65507 {
		bad("media.max_packet", "%d is outside 64..65507", md.MaxPacket)
	}
	if md.SocketBuffer < 0 || md.SocketBuffer > 1<<30 {
		bad("media.socket_buffer", "%d is outside 0..1073741824", md.SocketBuffer)
	}
	positive("media.source_rate", int64(md.SourceRate))
	if md.SourceBurst < 1 {
		bad("media.source_burst", "must be at least 1")
	}
	if p, err := netip.ParsePrefix(md.MulticastRange); err != nil || !p.Addr().Is4() || !p.Masked().Addr().IsMulticast() || p.Bits() < 4 || p.Bits() > 30 {
		bad("media.multicast_range", "%q is not an IPv4 multicast prefix such as 239.255.0.0/16 (/4 to /30)", md.MulticastRange)
	}
	lo, hi, ok := strings.Cut(md.MulticastPorts, "-")
	first, err1 := strconv.ParseUint(lo, 10, 16)
	last, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || first < 1024 || last < first+9 {
		bad("media.multicast_ports", "%q is not FIRST-LAST with FIRST >= 1024 and room for 10 ports", md.MulticastPorts)
	}
	if md.MulticastTTL < 0 || md.MulticastTTL > 255 {
		bad("media.multicast_ttl", "%d is outside 0..255", md.MulticastTTL)
	}
	positive("media.max_sources", int64(md.MaxSources))
	positive("media.max_subscriptions", int64(md.MaxSubscriptions))
	positive("media.restart_backoff", int64(md.RestartBackoff))
	s := c.Storage
	positive("storage.sqlite_busy_timeout", int64(s.SQLiteBusyTimeout))
	positive("storage.sqlite_max_conns", int64(s.SQLiteMaxConns))
	positive("storage.mysql_max_open", int64(s.MySQLMaxOpen))
	if s.MySQLMaxIdle < 0 || s.MySQLMaxIdle > s.MySQLMaxOpen {
		bad("storage.mysql_max_idle", "must be between 0 and storage.mysql_max_open")
	}
	positive("storage.mysql_conn_lifetime", int64(s.MySQLConnLifetime))
	return errors.Join(errs...)
}
