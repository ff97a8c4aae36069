package client

import (
	"testing"

	"go.uber.org/goleak"

	"huddle/internal/testutil/leak"
)

// The file tests run a real server in-process: its libraries' pools are
// what leak.Options ignores.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leak.Options()...)
}
