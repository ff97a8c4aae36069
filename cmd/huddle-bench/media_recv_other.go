//go:build !linux

package main

import (
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// startReceiving runs one goroutine per subscriber socket, each blocked in
// ReadBatch, until stop: a read deadline in the past ends each read, and
// is lifted once all have returned, so that the sockets can be read again.
// There are no kernel receive timestamps here.
func startReceiving(recvs []*receiver, size int) (stop func(), err error) {
	var wg sync.WaitGroup
	for _, r := range recvs {
		wg.Go(func() { r.run(size) })
	}
	return func() {
		for _, r := range recvs {
			_ = r.uc.SetReadDeadline(time.Unix(1, 0))
		}
		wg.Wait()
		for _, r := range recvs {
			_ = r.uc.SetReadDeadline(time.Time{})
		}
	}, nil
}

// run reads until the read fails (stop's deadline, or a closed socket).
func (r *receiver) run(size int) {
	pc := ipv4.NewPacketConn(r.uc)
	ms := make([]ipv4.Message, rxBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, rtpHeaderLen+size+1)}
	}
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		good := int64(0)
		for i := range n {
			if r.got(ms[i].Buffers[0][:ms[i].N], size, now, 0) {
				good++
			}
		}
		r.received.Add(good)
	}
}
