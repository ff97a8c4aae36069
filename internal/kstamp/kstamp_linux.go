package kstamp

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// tsLen is the size of the SCM_TIMESTAMPNS payload, a struct timespec.
const tsLen = int(unsafe.Sizeof(unix.Timespec{}))

// Space is the control buffer one datagram's timestamp needs.
func Space() int { return unix.CmsgSpace(tsLen) }

// Enable turns SO_TIMESTAMPNS on for socket fd.
func Enable(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
}

// Nano is the receive timestamp in ctl, the control bytes recvmsg filled
// (msg_controllen of them), as Unix ns (CLOCK_REALTIME); 0 if there is
// none. It reads the first control message only: the callers enable no
// other. ctl must start 8-byte aligned, as Go's allocations of a []byte
// of Space() bytes or more do.
func Nano(ctl []byte) int64 {
	if len(ctl) < unix.CmsgLen(tsLen) {
		return 0
	}
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
	if cm.Level != unix.SOL_SOCKET || cm.Type != unix.SCM_TIMESTAMPNS || int(cm.Len) < unix.CmsgLen(tsLen) {
		return 0
	}
	return (*unix.Timespec)(unsafe.Pointer(&ctl[unix.CmsgLen(0)])).Nano()
}
