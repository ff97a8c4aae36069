package main

import "golang.org/x/sys/unix"

// allowedCPUs are the CPUs this process may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	return cpusOf(&set)
}
