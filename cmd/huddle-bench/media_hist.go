package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram counts latencies in log-linear buckets: exact below 32 ns, then
// 32 buckets per power of two, so a percentile read from it is within about
// 3% of the true value. The media scenario receives millions of packets; a
// sorted slice of all their latencies would cost the bench more memory and
// time than the histogram's 4 KiB per receiver.
type histogram struct {
	n [histBuckets]uint32
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	// histMax is the largest latency held apart (about 68 s); longer ones
	// land in the last bucket.
	histMax     = 1<<36 - 1
	histBuckets = (36 - histSubBits + 1) * histSub
)

func histBucket(ns int64) int {
	v := uint64(min(max(ns, 0), histMax))
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)<<histSubBits | int(v>>shift&(histSub-1))
}

// histLow is the smallest latency in bucket i, histLow(i+1) the first one
// above it.
func histLow(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i>>histSubBits - 1
	return int64(histSub+i&(histSub-1)) << shift
}

func (h *histogram) add(ns int64) { h.n[histBucket(ns)]++ }

func (h *histogram) merge(o *histogram) {
	for i, c := range o.n {
		h.n[i] += c
	}
}

func (h *histogram) count() int64 {
	var n int64
	for _, c := range h.n {
		n += int64(c)
	}
	return n
}

// percentile returns the middle of the bucket that holds the nearest-rank
// p-quantile, 0 for an empty histogram.
func (h *histogram) percentile(p float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(float64(total)*p)), 1)
	var seen int64
	for i, c := range h.n {
		seen += int64(c)
		if seen >= rank {
			return time.Duration((histLow(i) + histLow(i+1) - 1) / 2)
		}
	}
	return time.Duration(histMax)
}
