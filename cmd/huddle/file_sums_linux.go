package main

import (
	"os"
	"syscall"
)

func statIdentity(st os.FileInfo) (fileIdentity, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{}, false
	}
	return fileIdentity{CTime: s.Ctim.Nano(), Dev: uint64(s.Dev), Inode: s.Ino}, true
}
