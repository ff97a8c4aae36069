package hist

import (
	"encoding/json"
	"fmt"
)

// MarshalJSON writes the buckets that counted something, in order, each as
// [lowest ns, first ns above it, count]. The counts are h's as they are
// (cumulative, for a histogram kept since a start), so that a reader can
// take one reading from a later one with Sub.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	rows := make([][3]uint64, 0, 64)
	for i, c := range h.n {
		if c != 0 {
			rows = append(rows, [3]uint64{uint64(Low(i)), uint64(Low(i + 1)), c})
		}
	}
	return json.Marshal(rows)
}

// UnmarshalJSON reads what MarshalJSON writes. A row whose bounds are not
// one of this package's buckets is an error: the writer counted with other
// buckets.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var rows [][3]uint64
	if err := json.Unmarshal(b, &rows); err != nil {
		return err
	}
	*h = Histogram{}
	for _, r := range rows {
		i := Bucket(int64(min(r[0], Max)))
		if uint64(Low(i)) != r[0] || uint64(Low(i+1)) != r[1] {
			return fmt.Errorf("hist: [%d, %d) is not a bucket", r[0], r[1])
		}
		h.n[i] += r[2]
	}
	return nil
}
