//go:build !unix

package msgq

import (
	"errors"
	"os"
)

// fileID reports that this system has no inode numbers to build keys from.
func fileID(path string) (ino, dev uint64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, err
	}
	return 0, 0, errors.ErrUnsupported
}
