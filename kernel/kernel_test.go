//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sysvmsg/msgq"
)

// kernelQueue returns a new private kernel queue, removed when the test
// ends; it skips the test where the kernel offers no SysV queues.
func kernelQueue(t *testing.T, mode int) int {
	t.Helper()
	if err := Available(); err != nil {
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Skipf("SysV message queues unavailable: %v", err)
		}
		t.Fatal(err)
	}
	id, err := Kernel{}.Msgget(msgq.IPC_PRIVATE, mode)
	require.NoError(t, err)
	t.Cleanup(func() { Kernel{}.Msgctl(id, msgq.IPC_RMID, nil) })
	return id
}

func sysctl(t *testing.T, name string) int32 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/" + name)
	require.NoError(t, err)
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return int32(v)
}

func TestRoundTripAndStat(t *testing.T) {
	k := New()
	id := kernelQueue(t, 0o640)
	before := time.Now().Add(-time.Second)
	require.NoError(t, k.Msgsnd(id, 7, []byte("hello"), 0))
	var ds msgq.MsqidDS
	r, err := k.Msgctl(id, msgq.IPC_STAT, &ds)
	require.NoError(t, err)
	assert.Equal(t, 0, r)
	assert.Equal(t, msgq.IPCPerm{
		Key: msgq.IPC_PRIVATE, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()),
		CUID: uint32(os.Geteuid()), CGID: uint32(os.Getegid()), Mode: 0o640, Seq: uint16(id >> 15),
	}, ds.Perm)
	assert.Equal(t, uint64(5), ds.Cbytes)
	assert.Equal(t, uint64(1), ds.Qnum)
	assert.Equal(t, uint64(sysctl(t, "msgmnb")), ds.Qbytes)
	assert.Equal(t, int32(os.Getpid()), ds.Lspid)
	assert.Zero(t, ds.Lrpid)
	assert.True(t, ds.Rtime.IsZero(), "never received")
	assert.True(t, ds.Stime.After(before) && ds.Ctime.After(before))

	buf := make([]byte, 3)
	_, _, err = k.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT)
	assert.Equal(t, syscall.E2BIG, err, "errors are bare errno values")
	n, mtype, err := k.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT|msgq.MSG_NOERROR)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, int64(7), mtype)
	assert.Equal(t, "hel", string(buf))
	_, _, err = k.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT)
	assert.Equal(t, syscall.ENOMSG, err)
}

func TestSetAndMsgStat(t *testing.T) {
	k := New()
	id := kernelQueue(t, 0o600)
	var ds msgq.MsqidDS
	_, err := k.Msgctl(id, msgq.IPC_STAT, &ds)
	require.NoError(t, err)
	ds.Perm.Mode = 0o604
	ds.Qbytes = 100
	r, err := k.Msgctl(id, msgq.IPC_SET, &ds)
	require.NoError(t, err)
	assert.Equal(t, 0, r)
	var got msgq.MsqidDS
	r, err = k.Msgctl(id&(1<<15-1), msgq.MSG_STAT, &got)
	require.NoError(t, err)
	assert.Equal(t, id, r, "MSG_STAT returns the id")
	assert.Equal(t, uint16(0o604), got.Perm.Mode)
	assert.Equal(t, uint64(100), got.Qbytes)
	_, err = k.Msgctl(id, msgq.IPC_SET, nil)
	assert.Equal(t, syscall.EFAULT, err)
}

func TestInfo(t *testing.T) {
	k := New()
	id := kernelQueue(t, 0o600)
	var info msgq.MsgInfo
	r, err := k.MsgctlInfo(msgq.IPC_INFO, &info)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, r, id&(1<<15-1))
	assert.Equal(t, sysctl(t, "msgmax"), info.Msgmax)
	assert.Equal(t, sysctl(t, "msgmnb"), info.Msgmnb)
	assert.Equal(t, sysctl(t, "msgmni"), info.Msgmni)
	assert.Equal(t, int32(16), info.Msgssz)
	assert.Equal(t, uint16(0xffff), info.Msgseg)
	_, err = k.MsgctlInfo(msgq.MSG_INFO, &info)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, info.Msgpool, int32(1), "MSG_INFO counts queues in msgpool")
	_, err = k.MsgctlInfo(msgq.IPC_INFO, nil)
	assert.Equal(t, syscall.EFAULT, err)
	_, err = k.MsgctlInfo(msgq.IPC_STAT, &info)
	assert.Equal(t, syscall.EINVAL, err)
}

// TestBlockedThroughSignals blocks in msgrcv while the Go runtime preempts
// threads with signals: the call must be retried, not fail with EINTR.
func TestBlockedThroughSignals(t *testing.T) {
	k := New()
	id := kernelQueue(t, 0o600)
	done := make(chan error, 1)
	go func() {
		_, _, err := k.Msgrcv(id, make([]byte, 8), 3, 0)
		done <- err
	}()
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		runtime.GC()
		syscall.Kill(os.Getpid(), syscall.SIGURG) // what the runtime preempts with
	}
	require.NoError(t, k.Msgsnd(id, 3, []byte("x"), 0))
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("msgrcv did not return")
	}
}
