//go:build unix

package msgq

import (
	"os"
	"syscall"
)

// fileID returns the inode and device numbers of the file at path.
func fileID(path string) (ino, dev uint64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	return uint64(st.Ino), uint64(st.Dev), nil
}
