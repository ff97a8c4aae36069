package configs

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
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
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v, want it to name the unknown key", err)
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
		{"store", func(c *Config) { c.Store = "postgres:x" }},
		{"store", func(c *Config) { c.Store = "mysql:" }},
		{"media_ip", func(c *Config) { c.MediaIP = "::1" }},
		{"log.level", func(c *Config) { c.Log.Level = "loud" }},
		{"net.max_frame", func(c *Config) { c.Net.MaxFrame = 10 }},
		{"net.heartbeat", func(c *Config) { c.Net.Heartbeat = c.Net.IdleTimeout }},
		{"net.outbound_queue", func(c *Config) { c.Net.OutboundQueue = 100 }},
		{"net.auth_timeout", func(c *Config) { c.Net.AuthTimeout = 0 }},
		{"auth.argon2_time", func(c *Config) { c.Auth.Argon2Time = 0 }},
		{"auth.login_fail_per_account", func(c *Config) { c.Auth.FailPerAccount = 0 }},
		{"actors.request_queue", func(c *Config) { c.Actors.RequestQueue = -1 }},
		{"storage.mysql_max_idle", func(c *Config) { c.Storage.MySQLMaxIdle = 1000 }},
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
