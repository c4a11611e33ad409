//go:build !unix

package msgq

import "testing"

type fileStat struct{ ino, dev uint64 }

func statOf(*testing.T, string) (fileStat, bool) { return fileStat{}, false }
