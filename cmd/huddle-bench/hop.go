package main

import (
	"context"
	"flag"
	"io"
	"math/rand/v2"
	"net"
)

// forwarderEnv, set, makes huddle-bench hop's forwarder process (hop_linux.go).
const forwarderEnv = "HUDDLE_BENCH_FORWARDER"

// hopFlags: the media scenario's load with no server: the same paced
// publishers and the same receivers, and between them a forwarder process
// that does nothing but pass each datagram on to its meeting's --fanout
// receivers: pinned to --cpu, GOMAXPROCS 1, one goroutine in blocking
// recvmmsg and sendmmsg (hop_linux.go). No validation, no table but a map
// filled before the run, no other work beside it: it shows what latency
// the machine itself gives a packet that takes the relay's two loopback
// hops through another CPU, the floor under the relay's figures at the
// same rate, as udplimit is the ceiling of its throughput. Linux only.
func hopFlags(fs *flag.FlagSet) runFunc {
	l := mediaLoadFlags(fs, "publishers, each with its own --fanout receivers (as media's meetings)", "receivers per publisher")
	cpu := fs.Int("cpu", -1, "CPU to pin the forwarder to (-1: leave it to the kernel)")
	return func(ctx context.Context, _ globals, progress io.Writer) (result, error) {
		if err := l.check(); err != nil {
			return result{}, err
		}
		if *cpu < -1 {
			return result{}, usagef("--cpu must be a CPU number, or -1")
		}
		if err := checkConns(l.meetings*(l.fanout+1), 0); err != nil { // a UDP socket each
			return result{}, err
		}
		f, err := startForwarder(*cpu, l.size)
		if err != nil {
			return result{}, err
		}
		defer f.stop()
		ms := make([]*benchMeeting, l.meetings)
		defer func() {
			for _, m := range ms {
				if m != nil {
					m.close()
				}
			}
		}()
		for k := range ms {
			m := &benchMeeting{}
			ms[k] = m
			var outs []*net.UDPAddr
			for range l.fanout {
				uc, err := listenUDP(net.IPv4(127, 0, 0, 1))
				if err != nil {
					return result{}, err
				}
				m.subs = append(m.subs, &receiver{uc: uc})
				outs = append(outs, uc.LocalAddr().(*net.UDPAddr))
			}
			uc, err := listenUDP(net.IPv4(127, 0, 0, 1))
			if err != nil {
				return result{}, err
			}
			m.pub = newPublisher(uc, f.addr, rand.Uint32(), l.size)
			if err := f.route(uc.LocalAddr().(*net.UDPAddr), outs); err != nil { // f.route stopped it
				return result{}, err
			}
		}
		if err := f.ready(); err != nil {
			return result{}, err
		}
		// The forwarder's CPU time is reported as the server's.
		res, err := runMedia(ctx, ms, serverProc{pid: f.pid(), progress: progress}, nil, l, progress)
		if ferr := f.stop(); ferr != nil && err == nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = ferr.Error()
			}
		}
		res.ForwarderDropped, res.ForwarderTruncated = f.dropped, f.truncated
		res.Scenario, res.Conns = "hop", 0 // UDP sockets only
		return res, err
	}
}
