package msgq

import (
	"context"
	"errors"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockedCall is one call a Blocked test starts and expects listed.
type blockedCall struct {
	rule  string // what the row pins
	cred  Cred
	send  bool
	mtype int64 // msgsnd's mtype, msgrcv's msgtyp
	size  int
	flags int
}

// TestBlockedLists starts blocking senders and receivers one at a time
// (each waited for with WaitBlocked, so their order is known) and checks
// that Blocked lists each with its queue, credentials, type, size and
// flags, the senders first in the order they will be let through, then the
// receivers in the order they started waiting, whichever selector they
// wait with.
func TestBlockedLists(t *testing.T) {
	ns := newNS(t)
	full := mustQueue(t, ns, IPC_PRIVATE, 0o666)  // blocked senders
	empty := mustQueue(t, ns, IPC_PRIVATE, 0o666) // blocked receivers
	ds := stat(t, ns, full)
	ds.Qbytes = 4
	_, err := ns.Msgctl(full, IPC_SET, &ds)
	require.NoError(t, err)
	mustSend(t, ns, full, msg{1, "full"})

	calls := []blockedCall{
		{rule: "a sender blocked by bytes", cred: member, send: true, mtype: 3, size: 2},
		{rule: "a sender of the largest type", cred: stranger, send: true, mtype: math.MaxInt64, size: 1},
		{rule: "a sender with MSG_NOERROR, which msgsnd ignores", cred: suppl, send: true, mtype: 1, size: 3, flags: MSG_NOERROR},
		{rule: "a receiver of any type", cred: member, mtype: 0, size: 10},
		{rule: "a receiver of one type", cred: stranger, mtype: 5, size: 1},
		{rule: "a receiver of types up to 3", cred: suppl, mtype: -3, size: 8, flags: MSG_NOERROR},
		{rule: "a receiver of any other type", cred: creator, mtype: 5, size: 6, flags: MSG_EXCEPT},
		{rule: "a receiver of the same type as an earlier one", cred: owner, mtype: 5, size: 64},
		{rule: "a receiver with msgtyp MinInt64 (any type up to MaxInt64)", cred: member, mtype: math.MinInt64, size: 0},
		{rule: "a receiver of type MaxInt64", cred: stranger, mtype: math.MaxInt64, size: 2, flags: MSG_NOERROR},
		{rule: "a receiver of any type again, after the others", cred: owner, mtype: 0, size: 3},
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var want []Call
	var chans []<-chan result
	var nSend, nRecv int
	for _, c := range calls {
		v := ns.As(c.cred)
		id := empty
		if c.send {
			id = full
			text := make([]byte, c.size)
			chans = append(chans, call(func() result { return result{err: v.Msgsnd(id, c.mtype, text, c.flags)} }))
			nSend++
			require.NoError(t, ns.WaitBlocked(ctx, full, nSend), c.rule)
		} else {
			chans = append(chans, recvAsync(v, id, c.size, c.mtype, c.flags))
			nRecv++
			require.NoError(t, ns.WaitBlocked(ctx, empty, nRecv), c.rule)
		}
		want = append(want, Call{Op: map[bool]string{true: "msgsnd", false: "msgrcv"}[c.send],
			Cred: c.cred, ID: id, Type: c.mtype, Size: c.size, Flags: c.flags})
	}
	got := ns.Blocked()
	require.Len(t, got, len(want))
	for i, c := range calls {
		assert.Equal(t, want[i], got[i], "%s (listed %d)", c.rule, i)
	}

	// A receiver that is served leaves the list, and the rest keep their order.
	require.NoError(t, ns.As(owner).Msgsnd(empty, 5, []byte("x"), IPC_NOWAIT))
	assert.Equal(t, result{n: 1, mtype: 5, text: "x"}, await(t, chans[3]), "the oldest receiver a type-5 message suits")
	got = ns.Blocked()
	assert.Equal(t, append(append([]Call(nil), want[:3]...), want[4:]...), got, "served receiver removed")

	// Removing the queues completes everyone and empties the list.
	_, err = ns.Msgctl(full, IPC_RMID, nil)
	require.NoError(t, err)
	_, err = ns.Msgctl(empty, IPC_RMID, nil)
	require.NoError(t, err)
	for i, ch := range chans {
		if i != 3 {
			assert.ErrorIs(t, await(t, ch).err, syscall.EIDRM, calls[i].rule)
		}
	}
	assert.Empty(t, ns.Blocked())
}

// TestBlockedGoLayer: calls blocked through the Go-shaped layer are listed
// too, and one whose context ends leaves the list.
func TestBlockedGoLayer(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	q, err := ns.As(member).Lookup(id)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := call(func() result {
		m, err := q.Recv(ctx, 9, 16, MSG_NOERROR)
		return result{n: len(m.Text), mtype: m.Type, err: err}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), bound)
	defer wcancel()
	require.NoError(t, ns.WaitBlocked(wctx, id, 1))
	assert.Equal(t, []Call{{Op: "msgrcv", Cred: member, ID: id, Type: 9, Size: 16, Flags: MSG_NOERROR}}, ns.Blocked())
	cancel()
	assert.ErrorIs(t, await(t, done).err, context.Canceled)
	assert.Empty(t, ns.Blocked(), "a call whose context ended is no longer blocked")
}

func TestWaitBlocked(t *testing.T) {
	tests := []struct {
		name        string
		blocked     int                                       // receivers started before the wait
		removeFirst bool                                      // remove the queue before the wait
		n           int                                       // what the wait asks for
		id          func(live int) int                        // the id waited on
		during      func(t *testing.T, ns *Namespace, id int) // runs while the wait is in progress
		timeout     time.Duration                             // the wait's context; 0: bound
		want        error
	}{
		{name: "n already blocked: nil at once", blocked: 2, n: 2, id: same},
		{name: "n of zero: nil at once on an idle queue", n: 0, id: same},
		{name: "the n-th call blocking ends the wait", blocked: 1, n: 2, id: same,
			during: func(t *testing.T, ns *Namespace, id int) { recvAsync(ns, id, 8, 0, 0) }},
		{name: "an id naming no queue is EINVAL", n: 1, id: func(live int) int { return live + 1<<15 }, want: syscall.EINVAL},
		{name: "an id above int32 is EINVAL, not the queue of its low bits", n: 1, id: func(live int) int { return live + 1<<32 }, want: syscall.EINVAL},
		{name: "MinInt64 is EINVAL", n: 1, id: func(int) int { return math.MinInt64 }, want: syscall.EINVAL},
		{name: "a negative id is EINVAL", n: 1, id: func(int) int { return -1 }, want: syscall.EINVAL},
		{name: "a queue removed before the wait is EINVAL", removeFirst: true, n: 1, id: same, want: syscall.EINVAL},
		{name: "removal of the queue during the wait is EIDRM", blocked: 1, n: 3, id: same,
			during: func(t *testing.T, ns *Namespace, id int) {
				_, err := ns.Msgctl(id, IPC_RMID, nil)
				require.NoError(t, err)
			}, want: syscall.EIDRM},
		{name: "the context's deadline ends the wait", blocked: 1, n: 2, id: same,
			timeout: 20 * time.Millisecond, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			live := mustQueue(t, ns, IPC_PRIVATE, 0o666)
			defer ns.Msgctl(live, IPC_RMID, nil) // frees any receiver still blocked
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			for i := range tt.blocked {
				recvAsync(ns, live, 8, 0, 0)
				require.NoError(t, ns.WaitBlocked(ctx, live, i+1))
			}
			if tt.removeFirst {
				_, err := ns.Msgctl(live, IPC_RMID, nil)
				require.NoError(t, err)
			}
			wctx := ctx
			if tt.timeout > 0 {
				var c context.CancelFunc
				wctx, c = context.WithTimeout(context.Background(), tt.timeout)
				defer c()
			}
			id := tt.id(live)
			errc := make(chan error, 1)
			go func() { errc <- ns.WaitBlocked(wctx, id, tt.n) }()
			if tt.during != nil {
				time.Sleep(5 * time.Millisecond) // let the wait start (it must not matter if it has not)
				tt.during(t, ns, id)
			}
			select {
			case err := <-errc:
				if tt.want == nil {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, tt.want)
				}
			case <-time.After(bound):
				t.Fatalf("WaitBlocked did not return within %v", bound)
			}
		})
	}
}

func same(live int) int { return live }

// TestWaitBlockedCancel: cancelling the context ends a wait that nothing
// else would end, with the context's error.
func TestWaitBlockedCancel(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ns.WaitBlocked(ctx, id, 1) }()
	time.Sleep(5 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	case <-time.After(bound):
		t.Fatal("WaitBlocked ignored its context")
	}
	// A senders' wait counts too: one blocked sender satisfies n=1.
	ds := stat(t, ns, id)
	ds.Qbytes = 1
	_, err := ns.Msgctl(id, IPC_SET, &ds)
	require.NoError(t, err)
	mustSend(t, ns, id, msg{1, "a"})
	s := sendAsync(ns.As(member), id, 2, "b")
	wctx, wcancel := context.WithTimeout(context.Background(), bound)
	defer wcancel()
	require.NoError(t, ns.WaitBlocked(wctx, id, 1))
	_, err = ns.Msgctl(id, IPC_RMID, nil)
	require.NoError(t, err)
	assert.ErrorIs(t, await(t, s).err, syscall.EIDRM)
}
