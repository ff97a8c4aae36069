package actors

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if !l.Allowed("k") {
			t.Fatalf("blocked after %d hits", i)
		}
		l.Hit("k")
	}
	if l.Allowed("k") {
		t.Fatal("allowed after reaching the limit")
	}
	if !l.Allowed("other") {
		t.Fatal("keys are not independent")
	}
	now = now.Add(time.Minute)
	if !l.Allowed("k") {
		t.Fatal("still blocked in the next window")
	}
	l.Hit("k")
	l.Reset("k")
	if !l.Allowed("k") {
		t.Fatal("blocked after Reset")
	}
}

func TestLimiterSweepsExpiredKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(1, time.Second)
	l.now = func() time.Time { return now }
	for i := range maxLimiterKeys {
		l.Hit(strconv.Itoa(i))
	}
	now = now.Add(2 * time.Second)
	l.Hit("fresh")
	if n := len(l.keys); n != 1 {
		t.Fatalf("%d keys after sweep, want 1", n)
	}
}
