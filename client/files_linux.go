package client

import (
	"os"

	"golang.org/x/sys/unix"
)

// readAhead tells the kernel that f is read from start to end, once: it
// reads further ahead of a file that is not in the page cache.
func readAhead(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), 0, 0, unix.FADV_SEQUENTIAL) })
	}
}
