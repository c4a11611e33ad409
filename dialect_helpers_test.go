package msgq

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rule is one row of a dialect's table: named after the rule of
// dialects.md it pins, its source in a comment at the row. run gets a
// fresh namespace of the dialect acting as owner, with a fake clock.
type rule struct {
	name string
	run  func(t *testing.T, ns *Namespace)
}

// runRules runs a dialect's table.
func runRules(t *testing.T, d Dialect, rows []rule, opts ...Option) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ns := newNS(t, append([]Option{WithDialect(d), WithClock(newClock().now)}, opts...)...)
			require.Equal(t, d, ns.Dialect())
			row.run(t, ns)
			require.NoError(t, checkInvariants(ns))
		})
	}
}

// bound is how long a blocking case may take before it fails.
const dialectBound = 5 * time.Second

// async runs f in a goroutine with a context that ends after
// dialectBound, and returns its outcome channel.
func async(f func(ctx context.Context) error) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), dialectBound)
		defer cancel()
		ch <- f(ctx)
	}()
	return ch
}

// blockedSend starts a Send as c on queue id that must block, and waits
// until it (and n-1 others) do.
func blockedSend(t *testing.T, ns *Namespace, c Cred, id int, n int, mtype int64, text string) <-chan error {
	t.Helper()
	q, err := ns.As(c).Lookup(id)
	require.NoError(t, err)
	ch := async(func(ctx context.Context) error { return q.Send(ctx, mtype, []byte(text), 0) })
	waitBlocked(t, ns, id, n)
	return ch
}

// blockedRecv starts a Recv as c on queue id that must block.
func blockedRecv(t *testing.T, ns *Namespace, c Cred, id int, n int, msgtyp int64, size int, flg int) <-chan error {
	t.Helper()
	q, err := ns.As(c).Lookup(id)
	require.NoError(t, err)
	ch := async(func(ctx context.Context) error {
		_, err := q.Recv(ctx, msgtyp, size, flg)
		return err
	})
	waitBlocked(t, ns, id, n)
	return ch
}

func waitBlocked(t *testing.T, ns *Namespace, id, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dialectBound)
	defer cancel()
	require.NoError(t, ns.WaitBlocked(ctx, id, n))
}

// result waits for a blocked call's result, within the bound.
func outcome(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(2 * dialectBound):
		t.Fatal("a blocked call did not return")
		return nil
	}
}

// stillWaits asserts that a blocked call has not returned after d.
func stillWaits(t *testing.T, ch <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("the call returned %v; it should still wait", err)
	case <-time.After(d):
	}
}

// create makes a queue with key and mode as ns and returns its id.
func create(t *testing.T, ns *Namespace, key Key, mode int) int {
	t.Helper()
	return mustQueue(t, ns, key, mode)
}

// rmid removes queue id as Root.
func rmid(t *testing.T, ns *Namespace, id int) {
	t.Helper()
	_, err := ns.As(Root).Msgctl(id, IPC_RMID, nil)
	require.NoError(t, err)
}

// setq runs IPC_SET as c with ds changed by f from the queue's current
// state, and returns its error.
func setq(t *testing.T, ns *Namespace, c Cred, id int, f func(ds *MsqidDS)) error {
	t.Helper()
	ds := stat(t, ns, id)
	f(&ds)
	_, err := ns.As(c).Msgctl(id, IPC_SET, &ds)
	return err
}

// recvType receives one message of msgtyp with IPC_NOWAIT and returns its
// type.
func recvType(t *testing.T, ns *Namespace, id int, msgtyp int64) int64 {
	t.Helper()
	_, mtype, err := ns.Msgrcv(id, make([]byte, 64), msgtyp, IPC_NOWAIT)
	require.NoError(t, err)
	return mtype
}

// types lists the types queued in id, oldest first.
func types(t *testing.T, ns *Namespace, id int) []int64 {
	t.Helper()
	var out []int64
	ns.core.mu.Lock()
	defer ns.core.mu.Unlock()
	q, err := ns.core.ids.lockID(int32(id))
	require.NoError(t, err)
	defer q.mu.Unlock()
	for _, m := range q.msgs.all() {
		out = append(out, m.Type)
	}
	return out
}

// ---- Scenarios shared by several dialects' tables. ----

// negTypeSelects: queue [2, 5, 1], msgtyp −3 takes want (§4).
func negTypeSelects(want int64) func(t *testing.T, ns *Namespace) {
	return func(t *testing.T, ns *Namespace) {
		id := create(t, ns, 1, 0o600)
		mustSend(t, ns, id, msg{2, "a"}, msg{5, "b"}, msg{1, "c"})
		assert.Equal(t, want, recvType(t, ns, id, -3))
	}
}

// tooLong: a 10-byte message into a 4-byte buffer, with and without
// MSG_NOERROR (§4): errno want without it (nil: truncated).
func tooLong(want error) func(t *testing.T, ns *Namespace) {
	return func(t *testing.T, ns *Namespace) {
		id := create(t, ns, 1, 0o600)
		mustSend(t, ns, id, msg{1, "0123456789"}, msg{1, "0123456789"})
		buf := make([]byte, 4)
		n, _, err := ns.Msgrcv(id, buf, 0, IPC_NOWAIT)
		if want != nil {
			assert.Equal(t, want, err)
			assert.Equal(t, 2, len(types(t, ns, id)), "the message stays")
		} else {
			require.NoError(t, err)
			assert.Equal(t, 4, n)
			assert.Equal(t, "0123", string(buf))
		}
		n, _, err = ns.Msgrcv(id, buf, 0, IPC_NOWAIT|MSG_NOERROR)
		require.NoError(t, err)
		assert.Equal(t, 4, n)
	}
}

// firstIDs: the first two queues get these ids (§2).
func firstIDs(a, b int) func(t *testing.T, ns *Namespace) {
	return func(t *testing.T, ns *Namespace) {
		assert.Equal(t, a, create(t, ns, 1, 0o600))
		assert.Equal(t, b, create(t, ns, 2, 0o600))
	}
}

// getMode: the owner creates key 1 with mode; as asks for flg: want.
func getMode(mode int, as Cred, flg int, want error) func(t *testing.T, ns *Namespace) {
	return func(t *testing.T, ns *Namespace) {
		create(t, ns, 1, mode)
		_, err := ns.As(as).Msgget(1, flg)
		assert.Equal(t, want, err)
	}
}

// onlyCommands: IPC_STAT, IPC_SET and IPC_RMID exist, nothing else (§5).
func onlyCommands(t *testing.T, ns *Namespace) {
	id := create(t, ns, 1, 0o600)
	for _, cmd := range []int{IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY, 4, 14, -1} {
		var ds MsqidDS
		_, err := ns.As(Root).Msgctl(id, cmd, &ds)
		assert.Equal(t, syscall.EINVAL, err, "cmd %d on a live id", cmd)
		_, err = ns.As(Root).Msgctl(0, cmd, &ds)
		assert.Equal(t, syscall.EINVAL, err, "cmd %d on index 0", cmd)
	}
	for _, cmd := range []int{IPC_INFO, MSG_INFO} {
		var info MsgInfo
		_, err := ns.MsgctlInfo(cmd, &info)
		assert.Equal(t, syscall.EINVAL, err)
	}
	var ds MsqidDS
	_, err := ns.Msgctl(id, IPC_STAT, &ds)
	assert.NoError(t, err)
}

// setNilBuf: IPC_SET with a nil buffer on a bad id, as a stranger and as
// the owner: late is whether the system copies the buffer in only after
// the lookup and the owner check (§6).
func setNilBuf(late bool) func(t *testing.T, ns *Namespace) {
	return func(t *testing.T, ns *Namespace) {
		id := create(t, ns, 1, 0o600)
		_, badID := ns.Msgctl(id+12345, IPC_SET, nil)
		_, stranger := ns.As(stranger).Msgctl(id, IPC_SET, nil)
		_, own := ns.Msgctl(id, IPC_SET, nil)
		if late {
			assert.Equal(t, []error{syscall.EINVAL, ns.core.rules.notOwner, syscall.EFAULT}, []error{badID, stranger, own})
		} else {
			assert.Equal(t, []error{syscall.EFAULT, syscall.EFAULT, syscall.EFAULT}, []error{badID, stranger, own})
		}
	}
}
