// Package wait polls a condition in tests: for what another goroutine or
// process makes true a little later, without a sleep that guesses how
// long that takes. It imports nothing of Huddle, so every package's tests
// can use it.
package wait

import (
	"testing"
	"time"
)

// For polls cond every few milliseconds until it holds, and fails the test
// if it still does not after within.
func For(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(within); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
