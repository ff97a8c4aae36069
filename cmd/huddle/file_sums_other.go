//go:build !linux && !darwin

package main

import "os"

// statIdentity: no change time or inode here (Windows), so no sum is
// remembered.
func statIdentity(os.FileInfo) (fileIdentity, bool) { return fileIdentity{}, false }
