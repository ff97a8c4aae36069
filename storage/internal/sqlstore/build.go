package sqlstore

import "strings"

// Batched statements need one placeholder group per row. They are the only
// SQL built at run time, and only from the constant pieces below and a row
// count: values never enter the text.

// Bounds of one batched statement. 1000 rows of 7 columns stay far below the
// placeholder limits (SQLite 32766, MySQL 65535); the byte bound keeps one
// INSERT below MySQL's max_allowed_packet (16 MiB by default on the server,
// whatever the driver assumes), so that batches of long messages split
// instead of failing.
const (
	maxRowsPerStatement  = 1000
	maxBytesPerStatement = 4 << 20
)

// withRows returns head followed by n copies of row separated by commas,
// then tail.
func withRows(head, row, tail string, n int) string {
	var b strings.Builder
	b.Grow(len(head) + n*(len(row)+2) + len(tail))
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}
