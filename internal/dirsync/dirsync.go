// Package dirsync makes the entries of a directory durable: after a file
// is created or renamed in it, the file's own fsync is not enough on
// Linux; the directory must be synced too. The server's stores and the
// client's downloads use it.
package dirsync

import (
	"fmt"
	"os"
)

// Sync fsyncs directory dir. Windows cannot open a directory for syncing:
// there it fails, and callers that run there ignore the error.
func Sync(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
