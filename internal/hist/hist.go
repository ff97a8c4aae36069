package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	subBits = 5
	sub     = 1 << subBits
	// Max is the largest value held apart (about 68 s); larger ones land
	// in the last bucket, negative ones in the first.
	Max = 1<<36 - 1
	// Buckets is the number of buckets.
	Buckets = (36 - subBits + 1) * sub
)

// Bucket is the index of the bucket that counts ns.
func Bucket(ns int64) int {
	v := uint64(min(max(ns, 0), Max))
	if v < sub {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)<<subBits | int(v>>shift&(sub-1))
}

// Low is the smallest value in bucket i; Low(i+1) is the first one above
// it (Low(Buckets) is Max+1).
func Low(i int) int64 {
	if i < sub {
		return int64(i)
	}
	shift := i>>subBits - 1
	return int64(sub+i&(sub-1)) << shift
}

// Histogram is a count per bucket. The zero value is empty and ready.
type Histogram struct {
	n [Buckets]uint64
}

// Add counts one value of ns nanoseconds.
func (h *Histogram) Add(ns int64) { h.n[Bucket(ns)]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.n {
		h.n[i] += c
	}
}

// Sub takes an earlier reading o of the same cumulative histogram from h,
// leaving what was counted between the two. It reports false, and leaves
// h as it was, if o has more in some bucket than h: o is not an earlier
// reading of h (the counter was restarted in between).
func (h *Histogram) Sub(o *Histogram) bool {
	for i, c := range o.n {
		if c > h.n[i] {
			return false
		}
	}
	for i, c := range o.n {
		h.n[i] -= c
	}
	return true
}

// Count is the number of values counted.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.n {
		n += c
	}
	return n
}

// Percentile returns the middle of the bucket that holds the nearest-rank
// p-quantile (0 ≤ p ≤ 1), 0 for an empty histogram.
func (h *Histogram) Percentile(p float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(float64(total)*p)), 1)
	var seen uint64
	for i, c := range h.n {
		seen += c
		if seen >= rank {
			return time.Duration((Low(i) + Low(i+1) - 1) / 2)
		}
	}
	return time.Duration(Max)
}

// Atomic is a Histogram that one goroutine adds to while others read it.
// Each bucket is an atomic counter, so Add costs an atomic increment; with
// one writer per Atomic the cache line stays on the writer's core except
// when a reader copies it.
type Atomic struct {
	n [Buckets]atomic.Uint64
}

// Add counts one value of ns nanoseconds.
func (a *Atomic) Add(ns int64) { a.n[Bucket(ns)].Add(1) }

// AddTo adds a's counts to h. Values added meanwhile may or may not be in
// it, bucket by bucket; a later AddTo never sees fewer.
func (a *Atomic) AddTo(h *Histogram) {
	for i := range a.n {
		h.n[i] += a.n[i].Load()
	}
}
