//go:build !linux

package writeback

import (
	"errors"
	"os"
)

var errNoWriteBack = errors.New("no write-back of a range on this system")

func startWriteBack(*os.File, int64, int64) error { return errNoWriteBack }
func waitWriteBack(*os.File, int64, int64) error  { return errNoWriteBack }
func dropCache(*os.File, int64, int64)            {}
func unsupported(err error) bool                  { return errors.Is(err, errNoWriteBack) }
