package writeback

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncData writes f's dirty pages and what the kernel needs to read them
// back to disk and flushes the disk's cache (fdatasync).
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return &os.SyscallError{Syscall: "fdatasync", Err: serr}
	}
	return nil
}

// dropCache tells the kernel that n bytes at off, which are on disk, will
// not be read soon: it may free their pages. A download reads them back.
func dropCache(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), off, n, unix.FADV_DONTNEED) })
	}
}

// unsupported reports whether err says that the file cannot be synced.
func unsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EROFS) // fdatasync(2): a file that cannot be synced
}
