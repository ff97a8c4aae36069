//go:build !linux

package main

// allowedCPUs: hop, the only user, runs on Linux only.
func allowedCPUs() []int { return nil }
