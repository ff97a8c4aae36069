package protocol

import (
	"strings"
	"testing"
)

// TestFileUploadSHA256: the sum may be left out (given with the bytes);
// given, it must be 64 lower-case hex digits.
func TestFileUploadSHA256(t *testing.T) {
	ok := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		sum  string
		fine bool
	}{
		{"", true},
		{ok, true},
		{strings.ToUpper(ok), false},
		{ok[:62], false},
		{strings.Repeat("zz", 32), false},
	} {
		in := FileUpload{Conversation: Conversation{User: "bob"}, Name: "a.txt", Size: 3, SHA256: tc.sum}
		if err := in.Validate(); (err == nil) != tc.fine || (err != nil && CodeOf(err) != CodeBadRequest) {
			t.Errorf("sha256 %q: Validate() = %v; want fine %v", tc.sum, err, tc.fine)
		}
	}
}
