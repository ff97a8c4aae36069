package actors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var testParams = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	h := NewHasher(testParams, 2, 8)
	defer h.Close()
	ctx := context.Background()
	hash, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id", hash)
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == hash {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	for _, tt := range []struct {
		hash, pw string
		ok       bool
	}{
		{hash, "correct horse", true},
		{hash, "correct horsE", false},
		{"", "correct horse", false}, // unknown user: dummy hash
	} {
		ok, err := h.Verify(ctx, tt.hash, tt.pw)
		if err != nil || ok != tt.ok {
			t.Fatalf("Verify(%q) = %v, %v; want %v", tt.pw, ok, err, tt.ok)
		}
	}
	if _, err := h.Verify(ctx, "$bcrypt$nope", "x"); err == nil {
		t.Fatal("accepted a foreign hash format")
	}
}

// Hashes made with other parameters still verify: the PHC string carries them.
func TestVerifyUsesParamsFromHash(t *testing.T) {
	old := NewHasher(Argon2Params{Memory: 128, Time: 2, Threads: 1}, 1, 1)
	hash, err := old.Hash(context.Background(), "password one")
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher(testParams, 1, 1)
	defer h.Close()
	if ok, err := h.Verify(context.Background(), hash, "password one"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestHasherQueueIsBounded(t *testing.T) {
	h := NewHasher(testParams, 1, 1)
	defer h.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), func() { close(started); <-release }) // occupies the worker
	<-started
	queued := make(chan error, 1)
	go func() { queued <- h.do(context.Background(), func() {}) }() // fills the queue
	deadline := time.Now().Add(2 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err = h.Hash(ctx, "x")
		cancel()
		if errors.Is(err, ErrHasherBusy) {
			break
		}
	}
	close(release)
	<-queued
	if !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("err = %v, want ErrHasherBusy", err)
	}
}
