package msgq_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/internal/badint"
)

// msqid, msgflg and cmd are C ints: a Go int outside the int32 range is
// EINVAL before any other check, on every entry point, and changes nothing.
// It is never truncated into another queue's id, flag set or command.

func TestCIntSyscallLayer(t *testing.T) {
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}))
	ids, err := badint.Setup(ns)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, ids, "a fresh namespace numbers its first queues 0 and 1")
	for _, bad := range badint.Check(ns, ids) {
		t.Error(bad)
	}
	// The table reaches every entry point with every argument shape: msgget
	// (2 keys × 5 flags); per live queue, 5 ids × (msgsnd, 2 msgrcv, 7
	// msgctl commands), 5 flags × (msgsnd, msgrcv), 7 commands × 5; and
	// MsgctlInfo (2 commands × 5).
	assert.Equal(t, 2*5+2*(5*10+5*2+7*5)+2*5, len(badint.Cases(ids)))
}

func TestCIntGoLayer(t *testing.T) {
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}))
	ids, err := badint.Setup(ns)
	require.NoError(t, err)
	q, err := ns.Lookup(ids[0])
	require.NoError(t, err)
	ctx := context.Background()

	var cases []badint.Case
	add := func(name string, call func() error) {
		cases = append(cases, badint.Case{Name: name, Call: func(msgq.IPC) error { return call() }})
	}
	for _, flg := range badint.Values(msgq.IPC_CREAT | 0o600) {
		add(fmt.Sprintf("Get(key, %d)", flg), func() error { _, err := ns.Get(0x5eed, flg); return err })
		add(fmt.Sprintf("Get(IPC_PRIVATE, %d)", flg), func() error { _, err := ns.Get(msgq.IPC_PRIVATE, flg); return err })
	}
	for _, live := range ids {
		for _, id := range badint.Values(live) {
			add(fmt.Sprintf("Lookup(%d)", id), func() error { _, err := ns.Lookup(id); return err })
		}
	}
	for _, flg := range badint.Values(msgq.IPC_NOWAIT) {
		add(fmt.Sprintf("Send(msgflg %d)", flg), func() error { return q.Send(ctx, 1, []byte("x"), flg) })
		add(fmt.Sprintf("Recv(msgflg %d)", flg), func() error { _, err := q.Recv(ctx, 0, 64, flg); return err })
		add(fmt.Sprintf("RecvInto(msgflg %d)", flg), func() error {
			_, _, err := q.RecvInto(ctx, make([]byte, 64), 0, flg)
			return err
		})
	}

	before, err := badint.State(ns, ids)
	require.NoError(t, err)
	for _, c := range cases {
		assert.Equal(t, syscall.EINVAL, c.Call(ns), c.Name)
		after, err := badint.State(ns, ids)
		require.NoError(t, err)
		require.Equal(t, before, after, "%s changed the namespace", c.Name)
	}
}

func TestCIntBeforeOtherChecks(t *testing.T) {
	// EINVAL comes first: before EFAULT for a nil buffer, before EIDRM on a
	// removed queue's handle, before any lookup.
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Root))
	q, err := ns.Get(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, q.Remove())
	ctx := context.Background()
	wide := 1<<32 | msgq.IPC_NOWAIT
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"IPC_SET with a nil buffer", func() error { _, err := ns.Msgctl(1<<32, msgq.IPC_SET, nil); return err }()},
		{"IPC_STAT with a nil buffer", func() error { _, err := ns.Msgctl(0, 1<<32|msgq.IPC_STAT, nil); return err }()},
		{"MsgctlInfo with a nil buffer", func() error { _, err := ns.MsgctlInfo(1<<32|msgq.IPC_INFO, nil); return err }()},
		{"Send on a removed queue", q.Send(ctx, 1, nil, wide)},
		{"Recv on a removed queue", func() error { _, err := q.Recv(ctx, 0, 1, wide); return err }()},
		{"RecvInto on a removed queue", func() error { _, _, err := q.RecvInto(ctx, nil, 0, wide); return err }()},
		{"msgsnd with mtype 0", ns.Msgsnd(1<<32, 0, nil, 0)},
		{"msgrcv with a negative msgsz is impossible in Go; MSG_COPY without IPC_NOWAIT", func() error {
			_, _, err := ns.Msgrcv(0, nil, 0, 1<<32|msgq.MSG_COPY)
			return err
		}()},
	} {
		assert.Equal(t, syscall.EINVAL, tc.err, tc.name)
	}
}
