//go:build unix

package msgq

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

type fileStat struct{ ino, dev uint64 }

func statOf(t *testing.T, path string) (fileStat, bool) {
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(path, &st))
	return fileStat{uint64(st.Ino), uint64(st.Dev)}, true
}
