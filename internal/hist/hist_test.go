package hist

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuckets(t *testing.T) {
	// Every bucket starts where the one before ends, and holds its bounds.
	for i := range Buckets {
		if lo, hi := Low(i), Low(i+1); hi <= lo || Bucket(lo) != i || Bucket(hi-1) != i {
			t.Fatalf("bucket %d: [%d, %d) maps to %d and %d", i, lo, hi, Bucket(lo), Bucket(hi-1))
		}
	}
	for _, tc := range []struct {
		ns   int64
		want int
	}{
		{-5, 0}, {0, 0}, {31, 31}, {32, 32}, {33, 33}, {63, 63}, {64, 64}, {65, 64}, {66, 65},
		{Max, Buckets - 1}, {Max + 1, Buckets - 1}, {1 << 62, Buckets - 1},
	} {
		if got := Bucket(tc.ns); got != tc.want {
			t.Errorf("Bucket(%d) = %d, want %d", tc.ns, got, tc.want)
		}
	}
	if Low(Buckets) != Max+1 {
		t.Errorf("Low(Buckets) = %d, want %d", Low(Buckets), int64(Max+1))
	}
	// A bucket is at most 1/32 of its lowest value wide.
	for i := 32; i < Buckets; i++ {
		if w := Low(i+1) - Low(i); w*32 > Low(i) {
			t.Fatalf("bucket %d: [%d, %d) is wider than 1/32", i, Low(i), Low(i+1))
		}
	}
}

func TestPercentile(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 1000; v++ {
		h.Add(v * 1000) // 1 µs … 1 ms
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, time.Microsecond}, {0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		if got := h.Percentile(tc.p); got < tc.want*97/100 || got > tc.want*103/100 {
			t.Errorf("Percentile(%v) = %v, want %v within 3%%", tc.p, got, tc.want)
		}
	}
	if h.Count() != 1000 {
		t.Errorf("Count = %d", h.Count())
	}
	if got := (&Histogram{}).Percentile(0.5); got != 0 {
		t.Errorf("empty histogram: %v", got)
	}
	// Below 32 ns every value is its own bucket.
	var small Histogram
	for _, v := range []int64{3, 3, 3, 7} {
		small.Add(v)
	}
	if small.Percentile(0.75) != 3 || small.Percentile(1) != 7 {
		t.Errorf("small values: p75 %v, p100 %v", small.Percentile(0.75), small.Percentile(1))
	}
}

func TestMergeAndSub(t *testing.T) {
	var a, b, all Histogram
	for v := int64(0); v < 5000; v += 7 {
		a.Add(v)
		all.Add(v)
	}
	for v := int64(100); v < 1e6; v += 997 {
		b.Add(v)
		all.Add(v)
	}
	m := a
	m.Merge(&b)
	if m != all {
		t.Fatal("a merged with b differs from adding all values to one histogram")
	}
	if !m.Sub(&a) || m != b {
		t.Fatal("(a+b)-a is not b")
	}
	// b is not an earlier reading of a: nothing changes.
	before := a
	if a.Sub(&b) || a != before {
		t.Fatal("Sub of a histogram that is not an earlier reading changed it")
	}
}

func TestJSON(t *testing.T) {
	var h Histogram
	for _, v := range []int64{0, 5, 5, 40, 1000, 1001, 123456789, Max + 10} {
		h.Add(v)
	}
	b, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[[0,1,1],[5,6,2],[40,41,1],[992,1008,2],[121634816,123731968,1],[67645734912,68719476736,1]]`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil || back != h {
		t.Fatalf("round trip: %v, equal %v", err, back == h)
	}
	for _, bad := range []string{`[[1000,1024,1]]`, `[[992,1000,1]]`, `{"a":1}`, `[[1,2]]x`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted it", bad)
		}
	}
	if b, _ := json.Marshal(&Histogram{}); string(b) != "[]" {
		t.Errorf("empty histogram: %s", b)
	}
}

// An Atomic counts what a Histogram counts, and can be read while its
// writer goes on (run with -race).
func TestAtomic(t *testing.T) {
	var a Atomic
	var want Histogram
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var h Histogram
			a.AddTo(&h)
			_ = h.Percentile(0.99)
		}
	})
	for v := int64(0); v < 200000; v += 3 {
		a.Add(v)
		want.Add(v)
	}
	close(done)
	wg.Wait()
	var got Histogram
	a.AddTo(&got)
	if got != want {
		t.Fatal("Atomic counted other values than Histogram")
	}
}

// The cost of a value: a plain Histogram (the bench's receivers) and an
// Atomic with one writer (the relay's workers).
func BenchmarkAdd(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		var h Histogram
		for i := range b.N {
			h.Add(int64(i & 0xffff))
		}
	})
	b.Run("atomic", func(b *testing.B) {
		var a Atomic
		for i := range b.N {
			a.Add(int64(i & 0xffff))
		}
	})
}
