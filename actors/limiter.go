package actors

import (
	"sync"
	"time"
)

// Limiter counts events per key in fixed windows: Hit records one, Allowed
// says whether the key is still under its limit in the current window. It
// throttles failed logins per account and per IP, and registrations per IP.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

// maxLimiterKeys bounds the table; past it, expired windows are swept.
const maxLimiterKeys = 100_000

// NewLimiter allows limit events per key per window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{limit: limit, window: window, now: time.Now, keys: make(map[string]*windowCount)}
}

// Allowed reports whether key has had fewer than limit events this window.
func (l *Limiter) Allowed(key string) bool { return l.Wait(key) == 0 }

// Wait returns how long key must wait until it is allowed again: 0 when it
// is allowed now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.keys[key]
	if !ok || w.n < l.limit {
		return 0
	}
	return max(0, l.window-l.now().Sub(w.start))
}

// Hit records one event for key.
func (l *Limiter) Hit(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w, ok := l.keys[key]
	if !ok || now.Sub(w.start) >= l.window {
		if len(l.keys) >= maxLimiterKeys {
			l.sweep(now)
		}
		l.keys[key] = &windowCount{start: now, n: 1}
		return
	}
	w.n++
}

// Reset forgets key, e.g. after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

func (l *Limiter) sweep(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.window {
			delete(l.keys, k)
		}
	}
}
