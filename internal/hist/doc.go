// Package hist counts durations in log-linear buckets: exact below 32 ns,
// then 32 buckets per power of two, so that a percentile read from it is
// within about 3% of the true value, in a fixed 8 KiB whatever the number
// of values. The relay (media) keeps one per worker to measure the latency
// it adds; huddle-bench keeps them for what its subscribers receive.
//
// It knows numbers only: no clocks, sockets or metrics formats beyond the
// JSON form of a histogram (hist_json.go).
package hist
