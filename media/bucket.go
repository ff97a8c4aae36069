package media

import "sync/atomic"

// bucket is a token bucket in its GCRA form: one atomic "theoretical
// arrival time" instead of a token count and a timestamp, so a packet costs
// one load and one CAS and needs no lock. SO_REUSEPORT hashes a source's
// flow to one socket, so the CAS is practically never contended.
type bucket struct {
	tat      atomic.Int64 // ns on the relay's clock when the bucket is empty again
	interval int64        // ns one packet costs
	tau      int64        // burst * interval: how far tat may run ahead of now
}

func newBucket(rate, burst int) bucket {
	iv := int64(1e9) / int64(rate)
	if iv < 1 {
		iv = 1
	}
	return bucket{interval: iv, tau: iv * int64(burst)}
}

// take reports whether a packet at time now (ns) is within the rate.
func (b *bucket) take(now int64) bool {
	for {
		tat := b.tat.Load()
		next := max(tat, now) + b.interval
		if next-now > b.tau {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}
