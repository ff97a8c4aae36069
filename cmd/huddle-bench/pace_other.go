//go:build !unix

package main

import "time"

// sleepShort sleeps about d (see pace_unix.go).
func sleepShort(d time.Duration) { time.Sleep(d) }
