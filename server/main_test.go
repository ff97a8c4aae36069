package server_test

import (
	"testing"

	"go.uber.org/goleak"

	"huddle/internal/testutil/leak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leak.Options()...) }
