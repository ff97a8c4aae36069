//go:build windows

package main

import (
	"os"
	"syscall"
)

// SetConsoleMode is not in package syscall; loading it here keeps the CLI
// on the standard library.
var procSetConsoleMode = syscall.NewLazyDLL("kernel32.dll").NewProc("SetConsoleMode")

const enableEchoInput = 0x0004

func isTerminal(f *os.File) bool {
	var mode uint32
	return syscall.GetConsoleMode(syscall.Handle(f.Fd()), &mode) == nil
}

func disableEcho(f *os.File) (restore func(), err error) {
	h := syscall.Handle(f.Fd())
	var mode uint32
	if err := syscall.GetConsoleMode(h, &mode); err != nil {
		return nil, err
	}
	if err := setConsoleMode(h, mode&^enableEchoInput); err != nil {
		return nil, err
	}
	return func() { _ = setConsoleMode(h, mode) }, nil
}

func setConsoleMode(h syscall.Handle, mode uint32) error {
	if r, _, err := procSetConsoleMode.Call(uintptr(h), uintptr(mode)); r == 0 {
		return err
	}
	return nil
}
