package files

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseReprDigest(t *testing.T) {
	raw := sha256.Sum256([]byte("abc"))
	b64, want := base64.StdEncoding.EncodeToString(raw[:]), hex.EncodeToString(raw[:])
	for _, v := range []string{
		"sha-256=:" + b64 + ":",
		"SHA-256=:" + b64 + ":",
		"sha-512=:AAAA:, sha-256=:" + b64 + ":",
		"  sha-256=:" + b64 + ":  ,unixsum=:1:",
		// Non-zero pad bits in the last character: parsers should not
		// fail on them (RFC 8941 §4.2.7), and the bytes are the same.
		"sha-256=:" + b64[:42] + string(b64[42]+1) + "=:",
		// Nor on a missing "=" pad (also §4.2.7).
		"sha-256=:" + strings.TrimSuffix(b64, "=") + ":",
	} {
		if got, err := parseReprDigest(v); err != nil || got != want {
			t.Errorf("parseReprDigest(%q) = %q, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []string{
		"",
		"sha-512=:AAAA:",
		"sha-256=" + b64,               // not a byte sequence
		"sha-256=:" + b64[:20] + ":",   // too short
		"sha-256=:" + b64 + "AAAA:",    // too long
		"sha-256=:" + b64[:43] + "==:", // two pads on 43 characters
		"sha-256=:" + strings.Repeat("!", 44) + ":",
		"sha-256=::",
		"sha-256",
	} {
		if got, err := parseReprDigest(v); err == nil {
			t.Errorf("parseReprDigest(%q) = %q; want an error", v, got)
		}
	}
}

// FuzzParseReprDigest: any field value gives 64 lower-case hex digits or
// an error, never a panic; what it accepts is what it was given, but for
// the two pad bits of the last base64 character, which decoding ignores
// (RFC 8941 §4.2.7: parsers should not fail on them).
func FuzzParseReprDigest(f *testing.F) {
	raw := sha256.Sum256(nil)
	f.Add("sha-256=:" + base64.StdEncoding.EncodeToString(raw[:]) + ":")
	f.Add("sha-512=:AAAA:, sha-256=:AAAA:")
	f.Add(",,=::,")
	f.Fuzz(func(t *testing.T, v string) {
		got, err := parseReprDigest(v)
		if err != nil {
			return
		}
		b, herr := hex.DecodeString(got)
		if herr != nil || len(b) != sha256.Size || strings.ToLower(got) != got {
			t.Fatalf("parseReprDigest(%q) = %q: not a sha256 in hex", v, got)
		}
		if !strings.Contains(v, base64.StdEncoding.EncodeToString(b)[:42]) { // the 252 bits of 42 characters
			t.Fatalf("parseReprDigest(%q) = %q: not in the field", v, got)
		}
	})
}
