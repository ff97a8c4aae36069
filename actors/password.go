package actors

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// ErrHasherBusy means the hashing queue is full; the request is refused with
// `unavailable` rather than queued without bound.
var ErrHasherBusy = errors.New("password hasher busy")

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher runs argon2id on a fixed pool of workers fed by a bounded queue, so
// that logins can neither starve the CPU nor grow memory without bound.
type Hasher struct {
	params Argon2Params
	jobs   chan func()
	wg     sync.WaitGroup
	dummy  string // hash verified for unknown users, to equalize timing
}

// NewHasher starts workers goroutines; Close stops them.
func NewHasher(p Argon2Params, workers, queue int) *Hasher {
	h := &Hasher{params: p, jobs: make(chan func(), queue)}
	for range workers {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for job := range h.jobs {
				job()
			}
		}()
	}
	h.dummy = encodeHash(p, make([]byte, saltLen), argon2.IDKey([]byte("huddle-dummy-password"), make([]byte, saltLen), p.Time, p.Memory, p.Threads, keyLen))
	return h
}

// Close stops the workers after the queued jobs finish.
func (h *Hasher) Close() {
	close(h.jobs)
	h.wg.Wait()
}

func (h *Hasher) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case h.jobs <- func() { fn(); close(done) }:
	default:
		return ErrHasherBusy
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hash returns a PHC-formatted argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	var out string
	err := h.do(ctx, func() {
		p := h.params
		out = encodeHash(p, salt, argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen))
	})
	return out, err
}

// Verify checks password against a PHC hash made by Hash, with the cost
// parameters recorded in the hash. An empty hash (unknown user) is checked
// against a dummy hash so that it takes the same time, and fails.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (bool, error) {
	known := phc != ""
	if !known {
		phc = h.dummy
	}
	p, salt, want, err := decodeHash(phc)
	if err != nil {
		return false, err
	}
	var ok bool
	err = h.do(ctx, func() {
		got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
		ok = subtle.ConstantTimeCompare(got, want) == 1
	})
	return ok && known, err
}

var b64 = base64.RawStdEncoding

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decodeHash(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 parameters: %w", err)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2 salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, errors.New("argon2 key is invalid")
	}
	return p, salt, key, nil
}
