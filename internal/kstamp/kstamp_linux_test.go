package kstamp

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A datagram read from a socket with the option on carries the time the
// kernel took it in: after it was sent, before it was read.
func TestNano(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	rc, err := rx.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = Enable(int(fd)) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	before := time.Now().UnixNano()
	if _, err := tx.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf, ctl := make([]byte, 16), make([]byte, Space())
	var oobn int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, ctl, 0)
		return rerr != unix.EAGAIN
	}); err != nil || rerr != nil {
		t.Fatal(err, rerr)
	}
	after := time.Now().UnixNano()
	if at := Nano(ctl[:oobn]); at < before || at > after {
		t.Fatalf("timestamp %d outside [%d, %d]", at, before, after)
	}
	if Nano(ctl[:oobn-1]) != 0 || Nano(nil) != 0 {
		t.Fatal("a truncated control buffer gave a timestamp")
	}
	ctl[unix.SizeofCmsghdr-1]++ // another type
	if Nano(ctl[:oobn]) != 0 {
		t.Fatal("another control message gave a timestamp")
	}
}
