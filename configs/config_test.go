package configs

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The documented file must list every key with exactly its default.
func TestDocumentedYAMLMatchesDefaults(t *testing.T) {
	var c Config // zero: every value must come from the file
	if err := c.LoadYAML(bytes.NewReader(Documented)); err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(c, want) {
		t.Fatalf("huddled.yaml differs from DefaultConfig:\n file: %+v\n want: %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	c := DefaultConfig()
	err := c.LoadYAML(strings.NewReader("net:\n  max_frame: 2048\n  bogus: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: unknown key bogus") || strings.Contains(err.Error(), "configs.") {
		t.Fatalf("err = %v, want it to name the unknown key and its line, not a Go type", err)
	}
}

func TestEnvAndSet(t *testing.T) {
	c := DefaultConfig()
	env := map[string]string{"HUDDLE_LISTEN": "127.0.0.1:9000", "HUDDLE_MEDIA_IP": "127.0.0.2", "HUDDLE_LOG_FORMAT": "json"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.MediaIP != "127.0.0.2" || c.Log.Format != "json" {
		t.Fatalf("env not applied: %+v", c)
	}
	if err := c.Set("nope", "x"); err == nil {
		t.Fatal("Set accepted an unknown setting")
	}
}

func TestValidateNamesBadKey(t *testing.T) {
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"listen", func(c *Config) { c.Listen = "nonsense" }},
		{"listen", func(c *Config) { c.Listen = "127.0.0.1:99999" }},
		{"listen", func(c *Config) { c.Listen = "127.0.0.1:-1" }},
		{"listen", func(c *Config) { c.Listen = "127.0.0.1:" }},
		{"http", func(c *Config) { c.HTTP = "127.0.0.1:65536" }},
		{"http", func(c *Config) { c.HTTP = "localhost:http" }},
		{"metrics.addr", func(c *Config) { c.Metrics.Addr = "nonsense" }},
		{"metrics.addr", func(c *Config) { c.Metrics.Addr = "127.0.0.1:70000" }},
		{"metrics.addr", func(c *Config) { c.Metrics.Addr = c.Listen }},
		{"http", func(c *Config) { c.HTTP = c.Listen }},
		{"store", func(c *Config) { c.Store = "sqlite:" }},
		{"store", func(c *Config) { c.Store = "postgres:x" }},
		{"store", func(c *Config) { c.Store = "mysql:" }},
		{"media_ip", func(c *Config) { c.MediaIP = "::1" }},
		{"media_ip", func(c *Config) { c.MediaIP = "0.0.0.0" }},
		{"log.level", func(c *Config) { c.Log.Level = "loud" }},
		{"net.max_frame", func(c *Config) { c.Net.MaxFrame = 10 }},
		{"net.heartbeat", func(c *Config) { c.Net.Heartbeat = c.Net.IdleTimeout }},
		{"net.outbound_queue", func(c *Config) { c.Net.OutboundQueue = 100 }},
		{"net.auth_timeout", func(c *Config) { c.Net.AuthTimeout = 0 }},
		{"auth.argon2_time", func(c *Config) { c.Auth.Argon2Time = 0 }},
		{"auth.login_fail_per_account", func(c *Config) { c.Auth.FailPerAccount = 0 }},
		{"auth.login_fail_per_account_total", func(c *Config) { c.Auth.FailPerAccountTotal = c.Auth.FailPerAccount - 1 }},
		{"actors.request_queue", func(c *Config) { c.Actors.RequestQueue = -1 }},
		{"chat.writers", func(c *Config) { c.Chat.Writers = 0 }},
		{"chat.writers", func(c *Config) { c.Chat.Writers = 17 }},
		{"storage.mysql_max_idle", func(c *Config) { c.Storage.MySQLMaxIdle = 1000 }},
		{"multicast_if", func(c *Config) { c.MulticastIF = "" }},
		{"meetings.max_members", func(c *Config) { c.Meetings.MaxMembers = 0 }},
		{"meetings.max_live_per_host", func(c *Config) { c.Meetings.MaxLivePerHost = -1 }},
		{"meetings.ring_timeout", func(c *Config) { c.Meetings.RingTimeout = 0 }},
		{"meetings.members_push", func(c *Config) { c.Meetings.MembersPush = -1 }},
		{"media.port", func(c *Config) { c.Media.Port = 65535 }},
		{"media.workers", func(c *Config) { c.Media.Workers = -1 }},
		{"media.batch", func(c *Config) { c.Media.Batch = 0 }},
		{"media.max_packet", func(c *Config) { c.Media.MaxPacket = 70000 }},
		{"media.source_rate", func(c *Config) { c.Media.SourceRate = 0 }},
		{"media.socket_buffer", func(c *Config) { c.Media.SocketBuffer = -1 }},
		{"media.source_burst", func(c *Config) { c.Media.SourceBurst = 0 }},
		{"media.multicast_range", func(c *Config) { c.Media.MulticastRange = "10.0.0.0/8" }},
		{"media.multicast_range", func(c *Config) { c.Media.MulticastRange = "239.255.0.1/32" }},
		{"media.multicast_ports", func(c *Config) { c.Media.MulticastPorts = "20000-20005" }},
		{"media.multicast_ports", func(c *Config) { c.Media.MulticastPorts = "80-1000" }},
		{"media.multicast_ttl", func(c *Config) { c.Media.MulticastTTL = 256 }},
		{"media.max_sources", func(c *Config) { c.Media.MaxSources = 0 }},
		{"media.max_subscriptions", func(c *Config) { c.Media.MaxSubscriptions = 0 }},
		{"media.restart_backoff", func(c *Config) { c.Media.RestartBackoff = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}

func TestMediaRanges(t *testing.T) {
	c := DefaultConfig()
	c.Media.MulticastRange, c.Media.MulticastPorts = "239.1.2.3/24", "30000-30019"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := c.Media.MulticastPrefix(); p.String() != "239.1.2.0/24" {
		t.Errorf("MulticastPrefix = %s", p)
	}
	if first, last := c.Media.PortRange(); first != 30000 || last != 30019 {
		t.Errorf("PortRange = %d-%d", first, last)
	}
}

// media.multicast is on by default (issue #6 forwards to the meeting's
// group); a network without multicast turns it off. YAML takes only a bool.
func TestMediaMulticast(t *testing.T) {
	if !DefaultConfig().Media.Multicast {
		t.Fatal("media.multicast is off by default")
	}
	c := DefaultConfig()
	if err := c.LoadYAML(strings.NewReader("media:\n  multicast: false\n")); err != nil {
		t.Fatal(err)
	}
	if c.Media.Multicast {
		t.Fatal("media.multicast: false did not turn it off")
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("multicast off does not validate: %v", err)
	}
	c = DefaultConfig()
	if err := c.LoadYAML(strings.NewReader("media:\n  multicast: sometimes\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("media.multicast: sometimes: err = %v, want a decode error at line 2", err)
	}
}

// The relay measures its latency unless media.timestamps turns it off;
// the metrics endpoint that shows it is off unless metrics.addr is set.
func TestMediaTimestampsAndMetrics(t *testing.T) {
	c := DefaultConfig()
	if !c.Media.Timestamps || c.Metrics.Addr != "" {
		t.Fatalf("defaults: media.timestamps %v, metrics.addr %q", c.Media.Timestamps, c.Metrics.Addr)
	}
	if err := c.LoadYAML(strings.NewReader("media:\n  timestamps: false\nmetrics:\n  addr: 127.0.0.1:7843\n")); err != nil {
		t.Fatal(err)
	}
	if c.Media.Timestamps || c.Metrics.Addr != "127.0.0.1:7843" {
		t.Fatalf("from YAML: media.timestamps %v, metrics.addr %q", c.Media.Timestamps, c.Metrics.Addr)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// --help shows the unset default as "off"; the value itself is empty.
	c.Metrics.Addr = "off"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "empty turns it off") {
		t.Fatalf("metrics.addr off: err = %v, want one that says how to turn it off", err)
	}
}

func TestValidatePorts(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1:1", "[::1]:65535", ":7700", "localhost:7700"} {
		for _, set := range []func(c *Config){
			func(c *Config) { c.Listen = addr },
			func(c *Config) { c.HTTP = addr },
			func(c *Config) { c.Metrics.Addr = addr },
		} {
			c := DefaultConfig()
			set(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("%q: %v", addr, err)
			}
		}
	}
}

// Validate reports every problem, one a line, in the same order each time.
func TestValidateOneProblemALine(t *testing.T) {
	c := DefaultConfig()
	c.Listen, c.HTTP, c.Chat.MaxText = "127.0.0.1:99999", "nonsense", -5
	first := c.Validate()
	if first == nil {
		t.Fatal("Validate accepted three bad keys")
	}
	lines := strings.Split(first.Error(), "\n")
	want := []string{"config: listen:", "config: http:", "config: chat.max_text:"}
	if len(lines) != len(want) {
		t.Fatalf("Validate() = %q, want %d lines", first, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start %q", i, lines[i], w)
		}
	}
	for range 20 {
		if err := c.Validate(); err.Error() != first.Error() {
			t.Fatalf("Validate() = %q, then %q", first, err)
		}
	}
}

// With no store set, the store is SQLite inside the data directory, wherever
// that is; a store that is set stays as it is.
func TestEffectiveStore(t *testing.T) {
	tests := []struct {
		store, data, want string
	}{
		{"", "./data", "sqlite:data/huddle.db"},
		{"", "/var/lib/huddle", "sqlite:/var/lib/huddle/huddle.db"},
		{"sqlite:/elsewhere/h.db", "/var/lib/huddle", "sqlite:/elsewhere/h.db"},
		{"mysql:root@tcp(127.0.0.1:3306)/huddle", "/var/lib/huddle", "mysql:root@tcp(127.0.0.1:3306)/huddle"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		c.Store, c.Data = tt.store, tt.data
		if got := c.EffectiveStore(); got != filepath.FromSlash(tt.want) {
			t.Errorf("store %q, data %q: EffectiveStore() = %q, want %q", tt.store, tt.data, got, tt.want)
		}
	}
	if got, want := DefaultConfig().EffectiveStore(), "sqlite:"+filepath.Join("data", "huddle.db"); got != want {
		t.Errorf("default EffectiveStore() = %q, want %q", got, want)
	}
}

// Every setting sets and shows its own field, under its own variable.
func TestSettings(t *testing.T) {
	defaults := map[string]string{
		"listen": "127.0.0.1:7700", "http": "127.0.0.1:7701", "store": "sqlite:<data>/huddle.db",
		"data": "./data", "media-ip": "127.0.0.1", "multicast-if": "lo", "log-level": "info", "log-format": "text",
		"metrics": "off",
	}
	if len(Settings()) != len(defaults) {
		t.Fatalf("%d settings, want %d", len(Settings()), len(defaults))
	}
	for _, s := range Settings() {
		if got := s.Default(); got != defaults[s.Flag] {
			t.Errorf("--%s default %q, want %q", s.Flag, got, defaults[s.Flag])
		}
		if s.Key == "" || s.Arg == "" || s.Usage == "" || s.Env() != EnvName(s.Flag) {
			t.Errorf("--%s is not fully described: %+v", s.Flag, s)
		}
		c, env := DefaultConfig(), DefaultConfig()
		if err := c.Set(s.Flag, "x-"+s.Flag); err != nil {
			t.Fatal(err)
		}
		if err := env.ApplyEnv(func(k string) (string, bool) { return "x-" + s.Flag, k == s.Env() }); err != nil {
			t.Fatal(err)
		}
		if c != env {
			t.Errorf("--%s and %s set different fields", s.Flag, s.Env())
		}
		// Exactly one field changed, and it is the one named by Key.
		if n := strings.Count(fmt.Sprintf("%+v", c), "x-"+s.Flag); n != 1 {
			t.Errorf("--%s set %d fields", s.Flag, n)
		}
		if !strings.Contains(fmt.Sprintf("%+v", yamlOf(t, c)), s.Key+": x-"+s.Flag) {
			t.Errorf("--%s did not set key %s:\n%s", s.Flag, s.Key, yamlOf(t, c))
		}
	}
}

// yamlOf renders c as YAML with dotted keys for nested settings (log.level).
func yamlOf(t *testing.T, c Config) string {
	t.Helper()
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			fmt.Fprintf(&out, "%s%s: %v\n", prefix, k, v)
		}
	}
	walk("", tree)
	return out.String()
}
