//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/internal/badint"
)

// TestKernelCInt runs the table of out-of-range C ints (msqid, msgflg,
// cmd) on the kernel backend, in a fresh IPC namespace whose queues 0 and 1
// hold messages: every call is EINVAL before the system call, and nothing
// changes. The msgq package runs the same table on a Namespace.
func TestKernelCInt(t *testing.T) {
	if why := skipReason(); why != "" {
		t.Skip(why)
	}
	k := kernelThread()
	var ids []int
	var bad []string
	var err error
	k.run(func() {
		if err = k.freshNamespace(limits); err != nil {
			return
		}
		if ids, err = badint.Setup(msgq.IPC(kernelIPC)); err != nil {
			return
		}
		bad = badint.Check(kernelIPC, ids)
	})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, ids, "a fresh IPC namespace numbers its first queues 0 and 1")
	for _, b := range bad {
		t.Error(b)
	}
}
