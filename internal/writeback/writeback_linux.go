package writeback

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// startWriteBack starts writing the dirty pages of n bytes at off to disk
// and does not wait for them.
func startWriteBack(f *os.File, off, n int64) error {
	return syncRange(f, off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// waitWriteBack waits until n bytes at off, whose write-back was started,
// are written, writing what is still dirty.
func waitWriteBack(f *os.File, off, n int64) error {
	return syncRange(f, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
}

func syncRange(f *os.File, off, n int64, flags int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SyncFileRange(int(fd), off, n, flags) }); err != nil {
		return err
	}
	if serr != nil {
		return &os.SyscallError{Syscall: "sync_file_range", Err: serr}
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

// unsupported reports whether err says that the file system cannot start
// write-back of a range.
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ESPIPE)
}
