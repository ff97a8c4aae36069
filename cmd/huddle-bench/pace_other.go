//go:build !linux

package main

import "time"

// sleepShort sleeps about d (see pace_linux.go).
func sleepShort(d time.Duration) { time.Sleep(d) }
