package msgq

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// caller parked on a queue, or one of the library's own (the clock's
// timer, a context's AfterFunc), once they have had a moment to finish.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRemoveHook(t *testing.T) {
	var got []Removal
	ns := NewNamespace(WithCred(owner), WithRemoveHook(func(r Removal) {
		got = append(got, r)
	}))
	id := mustQueue(t, ns, 9, 0o600)
	mustSend(t, ns, id, msg{2, "b"}, msg{1, "a"}, msg{2, "c"})
	_, _, err := ns.Msgrcv(id, make([]byte, 1), 1, 0)
	require.NoError(t, err)
	r := recvAsync(ns, id, 10, 7, 0)
	waitFor(t, ns, id, 0, 1)
	_, err = ns.Msgctl(id, IPC_RMID, nil)
	require.NoError(t, err)
	assert.Equal(t, syscall.EIDRM, await(t, r).err)
	assert.Equal(t, []Removal{{ID: id, Key: 9, Woken: 1, Dropped: []Message{{2, []byte("b")}, {2, []byte("c")}}}}, got)

	q, err := ns.Get(IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, q.Remove())
	assert.Equal(t, Removal{ID: q.ID(), Key: IPC_PRIVATE, Dropped: []Message{}}, got[1])
	live, err := ns.Get(IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	assert.Equal(t, syscall.EPERM, handleAs(live, stranger).Remove())
	assert.Equal(t, syscall.EIDRM, q.Remove())
	assert.Len(t, got, 2, "a refused removal calls no hook")
}

// TestLockOrder runs everything that takes more than one lock, and
// everything that waits, at once: queues made until the id table has
// grown many times, removals, IPC_SET, blocking sends and receives with
// deadlines, msgget by key, MSG_INFO and the ipcs listing (which visit
// every slot under the namespace lock). A watchdog dumps every goroutine
// if progress stops.
func TestLockOrder(t *testing.T) {
	ns := NewNamespace(WithCred(owner), WithLimits(Limits{MsgMni: 4096, MsgMax: 64, MsgMnb: 256}))
	var ids sync.Map // index → id of queues that may exist
	var progress atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	spawn := func(n int, f func(r *rand.Rand)) {
		for i := range n {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), uint64(n)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					f(r)
					progress.Add(1)
				}
			})
		}
	}
	anyID := func(r *rand.Rand) int {
		if v, ok := ids.Load(r.IntN(4096)); ok {
			return v.(int)
		}
		return r.IntN(4096)
	}
	spawn(2, func(r *rand.Rand) { // growth
		if id, err := ns.Msgget(Key(r.IntN(64)), IPC_CREAT|0o600); err == nil {
			ids.Store(id&(1<<15-1), id)
		}
		if id, err := ns.Msgget(IPC_PRIVATE, 0o600); err == nil {
			ids.Store(id&(1<<15-1), id)
		}
	})
	spawn(2, func(r *rand.Rand) { ns.Msgctl(anyID(r), IPC_RMID, nil) })
	spawn(2, func(r *rand.Rand) {
		ds := MsqidDS{Perm: IPCPerm{UID: owner.UID, GID: owner.GID, Mode: 0o600}, Qbytes: uint64(r.IntN(257))}
		ns.Msgctl(anyID(r), IPC_SET, &ds)
	})
	spawn(8, func(r *rand.Rand) {
		q, err := ns.Lookup(anyID(r))
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(500))*time.Microsecond)
		defer cancel()
		if r.IntN(2) == 0 {
			q.Send(ctx, int64(1+r.IntN(3)), make([]byte, r.IntN(65)), 0)
		} else {
			q.RecvInto(ctx, make([]byte, 64), int64(r.IntN(4)), MSG_NOERROR)
		}
	})
	spawn(1, func(r *rand.Rand) {
		var info MsgInfo
		ns.MsgctlInfo(MSG_INFO, &info)
		_ = ns.String()
		var ds MsqidDS
		ns.Msgctl(r.IntN(64), MSG_STAT_ANY, &ds)
	})

	deadline := time.Now().Add(2 * time.Second)
	if testing.Short() {
		deadline = time.Now().Add(300 * time.Millisecond)
	}
	last := int64(-1)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if n := progress.Load(); n == last {
			buf := make([]byte, 8<<20)
			t.Fatalf("no progress for 200ms: deadlock?\n%s", buf[:runtime.Stack(buf, true)])
		} else {
			last = n
		}
	}
	close(stop)
	// Release whatever still waits: remove every queue.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		for idx := range 4096 {
			if id, err := ns.Msgctl(idx, MSG_STAT_ANY, new(MsqidDS)); err == nil {
				ns.Msgctl(id, IPC_RMID, nil)
			}
		}
		select {
		case <-done:
			require.NoError(t, checkInvariants(ns))
			assert.Greater(t, ns.core.ids.table.Load().size(), initialSlots, "the table grew")
			t.Logf("%d operations", progress.Load())
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestFloodIsBounded floods every queue a namespace may have: the messages
// it holds stay within MsgMni queues of qbytes bytes and qbytes messages
// each, further sends fail with EAGAIN without growing the heap, and
// draining and flooding again grows nothing either.
func TestFloodIsBounded(t *testing.T) {
	const mni, mnb = 16, 4096
	ns := NewNamespace(WithCred(owner), WithLimits(Limits{MsgMni: mni, MsgMnb: mnb, MsgMax: 512}))
	var ids []int
	for {
		id, err := ns.Msgget(IPC_PRIVATE, 0o600)
		if err == syscall.ENOSPC {
			break
		}
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.Len(t, ids, mni)
	text := make([]byte, 100)
	flood := func() {
		for i, id := range ids {
			for {
				size := []int{0, 1, 100}[i%3] // empty messages hit the count bound
				if err := ns.Msgsnd(id, 1, text[:size], IPC_NOWAIT); err != nil {
					require.Equal(t, syscall.EAGAIN, err)
					break
				}
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	flood()
	var info MsgInfo
	_, err := ns.MsgctlInfo(MSG_INFO, &info)
	require.NoError(t, err)
	assert.LessOrEqual(t, int(info.Msgtql), mni*mnb, "bytes queued within MsgMni × qbytes")
	assert.LessOrEqual(t, int(info.Msgmap), mni*mnb, "messages queued within MsgMni × qbytes")
	full := heap()
	// A queued message costs at most ~128 bytes beyond its text (its
	// header, its ring slot, slack): the bound is in messages and bytes.
	assert.Less(t, full-base, uint64(info.Msgtql)+uint64(info.Msgmap)*160, "heap after the flood")

	for range 50 { // keep flooding: nothing more fits, nothing grows
		flood()
	}
	assert.Less(t, heap(), full+full/10+1<<20, "sends refused with EAGAIN do not grow the heap")

	buf := make([]byte, 512)
	for _, id := range ids { // drain, then flood again: recycled storage is bounded too
		for {
			if _, _, err := ns.Msgrcv(id, buf, 0, IPC_NOWAIT); err != nil {
				break
			}
		}
	}
	flood()
	assert.Less(t, heap(), full+full/4+1<<20, "draining and flooding again")
	runtime.KeepAlive(ns)
}
