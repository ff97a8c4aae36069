//go:build !linux

package writeback

import (
	"errors"
	"os"
)

var errNoWriteBack = errors.New("no write-back along the way on this system")

func syncData(*os.File) error          { return errNoWriteBack }
func dropCache(*os.File, int64, int64) {}
func unsupported(err error) bool       { return errors.Is(err, errNoWriteBack) }
