package msgq

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bound is how long a blocking test waits for anything before it fails.
const bound = 10 * time.Second

// result is what a call made in the background returned.
type result struct {
	n     int
	mtype int64
	text  string
	err   error
}

// call runs f in the background; its result arrives on the channel.
func call(f func() result) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- f() }()
	return ch
}

// recvAsync starts a blocking msgrcv.
func recvAsync(ns *Namespace, id int, size int, msgtyp int64, flg int) <-chan result {
	return call(func() result {
		buf := make([]byte, size)
		n, mtype, err := ns.Msgrcv(id, buf, msgtyp, flg)
		if err != nil {
			return result{n: n, err: err}
		}
		return result{n: n, mtype: mtype, text: string(buf[:n])}
	})
}

// sendAsync starts a blocking msgsnd.
func sendAsync(ns *Namespace, id int, mtype int64, text string) <-chan result {
	return call(func() result { return result{err: ns.Msgsnd(id, mtype, []byte(text), 0)} })
}

// await returns the result of a background call, failing the test (with a
// dump of every goroutine) if it does not come within bound.
func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(bound):
		buf := make([]byte, 1<<20)
		t.Fatalf("call still blocked after %v\n%s", bound, buf[:runtime.Stack(buf, true)])
		return result{}
	}
}

// stillBlocked checks that a background call has not returned.
func stillBlocked(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("call returned %+v, want it still blocked", r)
	case <-time.After(20 * time.Millisecond):
	}
}

// waiting returns the number of blocked senders and receivers on queue id.
func waiting(t *testing.T, ns *Namespace, id int) (senders, receivers int) {
	t.Helper()
	q, err := ns.core.ids.lockID(int32(id))
	require.NoError(t, err)
	defer q.mu.Unlock()
	if ws := q.waits; ws != nil {
		eachIn(&ws.senders, func(*waiter) { senders++ })
		ws.receivers.each(func(*waiter) { receivers++ })
	}
	return senders, receivers
}

// waitFor waits until queue id has the given numbers of blocked senders and
// receivers, so that a test knows the order in which callers blocked.
func waitFor(t *testing.T, ns *Namespace, id int, senders, receivers int) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		s, r := waiting(t, ns, id)
		if s == senders && r == receivers {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d senders and %d receivers, have %d and %d", senders, receivers, s, r)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPipelinedSend(t *testing.T) {
	clock := newClock()
	ns := newNS(t, WithClock(clock.now))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	r := recvAsync(ns.As(member), id, 10, 5, 0)
	waitFor(t, ns, id, 0, 1)
	at := clock.advance(time.Second)
	require.NoError(t, ns.As(stranger).Msgsnd(id, 5, []byte("five"), 0))
	assert.Equal(t, result{n: 4, mtype: 5, text: "five"}, await(t, r))
	ds := stat(t, ns, id)
	assert.Zero(t, ds.Qnum, "the message went straight to the receiver")
	assert.Zero(t, ds.Cbytes)
	assert.Equal(t, member.PID, ds.Lrpid)
	assert.Equal(t, stranger.PID, ds.Lspid)
	assert.Equal(t, at, ds.Stime)
	assert.Equal(t, at, ds.Rtime)
}

func TestBlockedReceivers(t *testing.T) {
	type recv struct {
		msgtyp int64
		flg    int
		size   int
	}
	tests := []struct {
		name  string
		recvs []recv   // block in this order
		sends []msg    // then these are sent
		want  []result // what each receiver gets; a zero result: still blocked
		rest  []msg    // what stays queued
	}{
		{"the oldest matching receiver wins",
			[]recv{{0, 0, 10}, {0, 0, 10}}, []msg{{1, "a"}},
			[]result{{n: 1, mtype: 1, text: "a"}, {}}, []msg{}},
		{"a receiver for another type is passed over",
			[]recv{{7, 0, 10}, {0, 0, 10}}, []msg{{1, "a"}},
			[]result{{}, {n: 1, mtype: 1, text: "a"}}, []msg{}},
		{"with no matching receiver the message is queued",
			[]recv{{7, 0, 10}}, []msg{{1, "a"}, {2, "b"}},
			[]result{{}}, []msg{{1, "a"}, {2, "b"}}},
		{"each message goes to its own type's receiver",
			[]recv{{2, 0, 10}, {1, 0, 10}}, []msg{{1, "a"}, {2, "b"}},
			[]result{{n: 1, mtype: 2, text: "b"}, {n: 1, mtype: 1, text: "a"}}, []msg{}},
		{"msgtyp < 0 waits for a type at most |msgtyp|",
			[]recv{{-5, 0, 10}}, []msg{{7, "seven"}, {3, "three"}},
			[]result{{n: 5, mtype: 3, text: "three"}}, []msg{{7, "seven"}}},
		{"MSG_EXCEPT waits for another type",
			[]recv{{5, MSG_EXCEPT, 10}}, []msg{{5, "five"}, {6, "six"}},
			[]result{{n: 3, mtype: 6, text: "six"}}, []msg{{5, "five"}}},
		{"a too-small receiver gets E2BIG and the message goes on",
			[]recv{{0, 0, 2}, {0, 0, 100}}, []msg{{1, "0123456789"}},
			[]result{{n: -1, err: syscall.E2BIG}, {n: 10, mtype: 1, text: "0123456789"}}, []msg{}},
		{"a too-small receiver alone gets E2BIG and the message is queued",
			[]recv{{0, 0, 2}}, []msg{{1, "0123456789"}},
			[]result{{n: -1, err: syscall.E2BIG}}, []msg{{1, "0123456789"}}},
		{"MSG_NOERROR takes a longer message, truncated",
			[]recv{{0, MSG_NOERROR, 2}}, []msg{{1, "0123456789"}},
			[]result{{n: 2, mtype: 1, text: "01"}}, []msg{}},
		{"E2BIG only for receivers the message suits",
			[]recv{{2, 0, 1}, {0, 0, 1}, {1, 0, 100}}, []msg{{1, "abc"}},
			[]result{{}, {n: -1, err: syscall.E2BIG}, {n: 3, mtype: 1, text: "abc"}}, []msg{}},
		{"an exact-type receiver older than an any-type receiver wins",
			[]recv{{3, 0, 10}, {0, 0, 10}, {-9, 0, 10}}, []msg{{3, "c"}, {4, "d"}, {5, "e"}},
			[]result{{n: 1, mtype: 3, text: "c"}, {n: 1, mtype: 4, text: "d"}, {n: 1, mtype: 5, text: "e"}}, []msg{}},
		{"a type-bounded receiver older than an any-type receiver wins",
			[]recv{{-4, 0, 10}, {0, 0, 10}}, []msg{{4, "d"}, {3, "c"}},
			[]result{{n: 1, mtype: 4, text: "d"}, {n: 1, mtype: 3, text: "c"}}, []msg{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			var chans []<-chan result
			for i, r := range tt.recvs {
				chans = append(chans, recvAsync(ns, id, r.size, r.msgtyp, r.flg))
				waitFor(t, ns, id, 0, i+1)
			}
			for _, m := range tt.sends {
				require.NoError(t, ns.Msgsnd(id, m.Type, []byte(m.Text), 0))
			}
			for i, want := range tt.want {
				if want == (result{}) {
					stillBlocked(t, chans[i])
					continue
				}
				assert.Equal(t, want, await(t, chans[i]), "receiver %d", i)
			}
			assert.Equal(t, tt.rest, contents(t, ns, id))
			_, err := ns.Msgctl(id, IPC_RMID, nil) // release the ones still blocked
			require.NoError(t, err)
			for i, want := range tt.want {
				if want == (result{}) {
					assert.Equal(t, syscall.EIDRM, await(t, chans[i]).err)
				}
			}
		})
	}
}

// fullQueue returns a queue of qbytes bytes holding the given messages.
func fullQueue(t *testing.T, ns *Namespace, qbytes uint64, msgs ...msg) int {
	t.Helper()
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	ds := stat(t, ns, id)
	ds.Qbytes = qbytes
	_, err := ns.Msgctl(id, IPC_SET, &ds)
	require.NoError(t, err)
	mustSend(t, ns, id, msgs...)
	return id
}

func TestBlockedSenders(t *testing.T) {
	t.Run("a receive makes room for a blocked sender", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 10, msg{1, "0123456789"})
		s := sendAsync(ns.As(member), id, 2, "x")
		waitFor(t, ns, id, 1, 0)
		stillBlocked(t, s)
		_, _, err := ns.Msgrcv(id, make([]byte, 10), 0, 0)
		require.NoError(t, err)
		assert.NoError(t, await(t, s).err)
		assert.Equal(t, []msg{{2, "x"}}, contents(t, ns, id))
		assert.Equal(t, member.PID, stat(t, ns, id).Lspid)
	})
	t.Run("a small sender passes a large one blocked ahead of it", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 100, msg{1, string(make([]byte, 40))}, msg{1, string(make([]byte, 60))})
		s1 := sendAsync(ns, id, 11, string(make([]byte, 60)))
		waitFor(t, ns, id, 1, 0)
		s2 := sendAsync(ns, id, 12, string(make([]byte, 30)))
		waitFor(t, ns, id, 2, 0)
		_, _, err := ns.Msgrcv(id, make([]byte, 100), 0, 0) // frees 40
		require.NoError(t, err)
		assert.NoError(t, await(t, s2).err)
		stillBlocked(t, s1)
		_, _, err = ns.Msgrcv(id, make([]byte, 100), 0, 0) // frees 60
		require.NoError(t, err)
		assert.NoError(t, await(t, s1).err)
		var types []int64
		for _, m := range contents(t, ns, id) {
			types = append(types, m.Type)
		}
		assert.Equal(t, []int64{12, 11}, types)
	})
	t.Run("senders that fit go in FIFO order", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 3, msg{1, "a"}, msg{1, "b"}, msg{1, "c"})
		var chans []<-chan result
		for i := range 3 {
			chans = append(chans, sendAsync(ns, id, int64(10+i), "x"))
			waitFor(t, ns, id, i+1, 0)
		}
		for i := range 3 {
			_, _, err := ns.Msgrcv(id, make([]byte, 1), 0, 0)
			require.NoError(t, err)
			assert.NoError(t, await(t, chans[i]).err, "sender %d", i)
			for _, later := range chans[i+1:] {
				stillBlocked(t, later)
			}
		}
		assert.Equal(t, []msg{{10, "x"}, {11, "x"}, {12, "x"}}, contents(t, ns, id))
	})
	t.Run("the count bound blocks empty messages too", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 2, msg{1, ""}, msg{1, ""})
		s := sendAsync(ns, id, 1, "")
		waitFor(t, ns, id, 1, 0)
		_, _, err := ns.Msgrcv(id, nil, 0, 0)
		require.NoError(t, err)
		assert.NoError(t, await(t, s).err)
	})
	t.Run("a blocked sender's message goes straight to a receiver", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 1, msg{1, "a"})
		s := sendAsync(ns, id, 2, "b")
		waitFor(t, ns, id, 1, 0)
		r := recvAsync(ns, id, 10, 2, 0)
		waitFor(t, ns, id, 1, 1)
		_, _, err := ns.Msgrcv(id, make([]byte, 1), 1, 0)
		require.NoError(t, err)
		assert.NoError(t, await(t, s).err)
		assert.Equal(t, result{n: 1, mtype: 2, text: "b"}, await(t, r))
		assert.Equal(t, []msg{}, contents(t, ns, id))
	})
	t.Run("a full queue blocks a sender even if a receiver waits for its type", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 1, msg{1, "a"})
		r := recvAsync(ns, id, 10, 7, 0)
		waitFor(t, ns, id, 0, 1)
		assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 7, []byte("x"), IPC_NOWAIT), "as Linux: fits is checked first")
		_, err := ns.Msgctl(id, IPC_RMID, nil)
		require.NoError(t, err)
		assert.Equal(t, syscall.EIDRM, await(t, r).err)
	})
}

func TestIPCSetWakes(t *testing.T) {
	setMode := func(t *testing.T, ns *Namespace, id int, mode uint16, qbytes uint64) {
		t.Helper()
		ds := stat(t, ns, id)
		ds.Perm.Mode = mode
		if qbytes != 0 {
			ds.Qbytes = qbytes
		}
		_, err := ns.Msgctl(id, IPC_SET, &ds)
		require.NoError(t, err)
	}
	t.Run("raising qbytes lets a blocked sender through", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 5, msg{1, "12345"})
		s := sendAsync(ns, id, 1, "678")
		waitFor(t, ns, id, 1, 0)
		setMode(t, ns, id, 0o666, 8)
		assert.NoError(t, await(t, s).err)
	})
	t.Run("a receiver that loses read permission gets EACCES at once", func(t *testing.T) {
		ns := newNS(t)
		id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
		r := recvAsync(ns.As(stranger), id, 10, 0, 0)
		kept := recvAsync(ns.As(member), id, 10, 0, 0)
		waitFor(t, ns, id, 0, 2)
		setMode(t, ns, id, 0o642, 0)
		assert.Equal(t, syscall.EACCES, await(t, r).err)
		stillBlocked(t, kept)
		mustSend(t, ns, id, msg{1, "hi"})
		assert.Equal(t, result{n: 2, mtype: 1, text: "hi"}, await(t, kept))
	})
	t.Run("a receiver with CAP_IPC_OWNER keeps waiting", func(t *testing.T) {
		ns := newNS(t)
		id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
		r := recvAsync(ns.As(Cred{UID: 77, Caps: CapIPCOwner}), id, 10, 0, 0)
		waitFor(t, ns, id, 0, 1)
		setMode(t, ns, id, 0, 0)
		stillBlocked(t, r)
		mustSend(t, ns.As(Root), id, msg{1, "hi"})
		assert.Equal(t, result{n: 2, mtype: 1, text: "hi"}, await(t, r))
	})
	t.Run("a sender that loses write permission waits until it fits, then gets EACCES", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 5, msg{1, "12345"})
		s := sendAsync(ns.As(stranger), id, 2, "x")
		waitFor(t, ns, id, 1, 0)
		setMode(t, ns, id, 0o664, 0)
		stillBlocked(t, s)
		_, _, err := ns.Msgrcv(id, make([]byte, 5), 0, 0)
		require.NoError(t, err)
		assert.Equal(t, syscall.EACCES, await(t, s).err)
		assert.Equal(t, []msg{}, contents(t, ns, id))
	})
	t.Run("losing write permission while qbytes grows gives EACCES at once", func(t *testing.T) {
		ns := newNS(t)
		id := fullQueue(t, ns, 5, msg{1, "12345"})
		s := sendAsync(ns.As(stranger), id, 2, "x")
		waitFor(t, ns, id, 1, 0)
		setMode(t, ns, id, 0o664, 100)
		assert.Equal(t, syscall.EACCES, await(t, s).err)
		assert.Equal(t, []msg{{1, "12345"}}, contents(t, ns, id))
	})
}

func TestRemoveWakesEveryone(t *testing.T) {
	ns := newNS(t)
	id := fullQueue(t, ns, 1, msg{10, "a"})
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	ctx := context.Background()
	var chans []<-chan result
	for i := range 3 {
		chans = append(chans, sendAsync(ns, id, 1, "b"))
		chans = append(chans, call(func() result { return result{err: q.Send(ctx, 2, []byte("c"), 0)} }))
		chans = append(chans, recvAsync(ns, id, 10, 5, 0))
		chans = append(chans, call(func() result { _, err := q.Recv(ctx, -3, 10, MSG_EXCEPT); return result{err: err} }))
		chans = append(chans, call(func() result { _, _, err := q.RecvInto(ctx, nil, 10, MSG_EXCEPT); return result{err: err} }))
		waitFor(t, ns, id, 2*(i+1), 3*(i+1))
	}
	require.NoError(t, q.Remove())
	for i, ch := range chans {
		assert.Equal(t, syscall.EIDRM, await(t, ch).err, "call %d", i)
	}
}

func TestCancelledReceiverConsumesNothing(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	q, err := ns.Lookup(id)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	r := call(func() result { m, err := q.Recv(ctx, 1, 10, 0); return result{mtype: m.Type, err: err} })
	waitFor(t, ns, id, 0, 1)
	cancel()
	got := await(t, r)
	assert.ErrorIs(t, got.err, context.Canceled)
	waitFor(t, ns, id, 0, 0)
	mustSend(t, ns, id, msg{1, "after"})
	assert.Equal(t, []msg{{1, "after"}}, contents(t, ns, id), "the message sent after the cancel is queued, not lost")

	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	_, _, err = q.RecvInto(dctx, make([]byte, 10), 2, 0)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, []msg{{1, "after"}}, contents(t, ns, id))
}

func TestCancelledSenderSendsNothing(t *testing.T) {
	ns := newNS(t)
	id := fullQueue(t, ns, 1, msg{1, "a"})
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s := call(func() result { return result{err: q.Send(ctx, 2, []byte("b"), 0)} })
	waitFor(t, ns, id, 1, 0)
	cancel()
	assert.ErrorIs(t, await(t, s).err, context.Canceled)
	_, _, err = ns.Msgrcv(id, make([]byte, 1), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []msg{}, contents(t, ns, id), "the cancelled sender's message never arrives")
}

func TestContextConsultedOnlyWhenWaiting(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, q.Send(done, 1, []byte("x"), 0), "a send that can complete does")
	m, err := q.Recv(done, 0, 10, 0)
	require.NoError(t, err, "a receive that can complete does")
	assert.Equal(t, "x", string(m.Text))
	_, err = q.Recv(done, 0, 10, IPC_NOWAIT)
	assert.Equal(t, syscall.ENOMSG, err, "IPC_NOWAIT decides before the context")
	_, err = q.Recv(done, 0, 10, 0)
	assert.ErrorIs(t, err, context.Canceled, "a receive that would wait does not")
	waitFor(t, ns, id, 0, 0)

	full := fullQueue(t, ns, 0)
	fq, err := ns.Lookup(full)
	require.NoError(t, err)
	assert.ErrorIs(t, fq.Send(done, 1, nil, 0), context.Canceled)
	assert.Equal(t, syscall.EAGAIN, fq.Send(done, 1, nil, IPC_NOWAIT))
}

// TestCancelRacesDelivery sends while receivers' contexts end, many times
// over: each message must end up exactly once, either returned by a
// receiver that reports success or still in the queue.
func TestCancelRacesDelivery(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	const rounds = 300
	received := map[string]bool{}
	for i := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		r := call(func() result {
			m, err := q.Recv(ctx, 0, 10, 0)
			return result{text: string(m.Text), err: err}
		})
		waitFor(t, ns, id, 0, 1)
		var wg sync.WaitGroup
		wg.Go(cancel)
		text := fmt.Sprint(i)
		wg.Go(func() { assert.NoError(t, ns.Msgsnd(id, 1, []byte(text), 0)) })
		wg.Wait()
		got := await(t, r)
		if got.err == nil {
			assert.Equal(t, text, got.text)
			received[text] = true
		} else {
			assert.ErrorIs(t, got.err, context.Canceled)
		}
		// Whatever the receiver did not take is still queued: drain it.
		for {
			buf := make([]byte, 10)
			n, _, err := ns.Msgrcv(id, buf, 0, IPC_NOWAIT)
			if errors.Is(err, syscall.ENOMSG) {
				break
			}
			require.NoError(t, err)
			assert.False(t, received[string(buf[:n])], "message %s twice", buf[:n])
			received[string(buf[:n])] = true
		}
		assert.True(t, received[text], "message %s lost", text)
	}
}

// TestCancelledSenderRacesRoom frees room while a sender's context ends:
// the sender either sent (and the message is queued) or did not (and it is
// not), never both or neither.
func TestCancelledSenderRacesRoom(t *testing.T) {
	ns := newNS(t)
	id := fullQueue(t, ns, 1, msg{1, "a"})
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	for range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		s := call(func() result { return result{err: q.Send(ctx, 2, []byte("b"), 0)} })
		waitFor(t, ns, id, 1, 0)
		var wg sync.WaitGroup
		wg.Go(cancel)
		wg.Go(func() {
			_, mtype, err := ns.Msgrcv(id, make([]byte, 1), 0, 0)
			assert.NoError(t, err)
			assert.Equal(t, int64(1), mtype)
		})
		wg.Wait()
		sent := await(t, s).err == nil
		queued := contents(t, ns, id)
		if sent {
			assert.Equal(t, []msg{{2, "b"}}, queued)
			_, _, err := ns.Msgrcv(id, make([]byte, 1), 0, IPC_NOWAIT)
			require.NoError(t, err)
		} else {
			assert.Equal(t, []msg{}, queued)
		}
		mustSend(t, ns, id, msg{1, "a"})
	}
}

func TestBlockedCallsManyTypes(t *testing.T) {
	// Receivers parked on many types each get their own message, whatever
	// the order of sends.
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	const n = 50
	var chans []<-chan result
	for i := range n {
		chans = append(chans, recvAsync(ns, id, 10, int64(i+1), 0))
	}
	waitFor(t, ns, id, 0, n)
	for i := n - 1; i >= 0; i-- {
		require.NoError(t, ns.Msgsnd(id, int64(i+1), []byte(fmt.Sprint(i+1)), 0))
	}
	for i, ch := range chans {
		assert.Equal(t, result{n: len(fmt.Sprint(i + 1)), mtype: int64(i + 1), text: fmt.Sprint(i + 1)}, await(t, ch))
	}
	assert.Equal(t, []msg{}, contents(t, ns, id))

	// Again, with few types (searched in order) and then more (indexed),
	// after the empty lists of the first round were swept away.
	for _, n := range []int{5, 12} {
		chans = chans[:0]
		for i := range n {
			chans = append(chans, recvAsync(ns, id, 10, int64(100+i), 0))
		}
		waitFor(t, ns, id, 0, n)
		for i := n - 1; i >= 0; i-- {
			require.NoError(t, ns.Msgsnd(id, int64(100+i), []byte("x"), 0))
		}
		for i, ch := range chans {
			assert.Equal(t, result{n: 1, mtype: int64(100 + i), text: "x"}, await(t, ch), "round of %d", n)
		}
	}
}

func TestRemoveAndSetWithManyTypes(t *testing.T) {
	// IPC_RMID and IPC_SET visit every blocked receiver and take each off
	// its list; with receivers waiting for many types, the emptied lists
	// are swept while the visit goes on.
	for _, op := range []struct {
		name string
		do   func(ns *Namespace, id int) error
		want error
	}{
		{"IPC_RMID fails every receiver with EIDRM", func(ns *Namespace, id int) error {
			_, err := ns.Msgctl(id, IPC_RMID, nil)
			return err
		}, syscall.EIDRM},
		{"IPC_SET that takes read permission away fails every receiver with EACCES", func(ns *Namespace, id int) error {
			ds := stat(t, ns, id)
			ds.Perm.Mode = 0o200
			_, err := ns.Msgctl(id, IPC_SET, &ds)
			return err
		}, syscall.EACCES},
	} {
		t.Run(op.name, func(t *testing.T) {
			ns := newNS(t)
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			const n = 100
			var chans []<-chan result
			for i := range n {
				chans = append(chans, recvAsync(ns, id, 10, int64(i+1), 0))
			}
			waitFor(t, ns, id, 0, n)
			require.NoError(t, op.do(ns, id))
			for _, ch := range chans {
				assert.Equal(t, op.want, await(t, ch).err)
			}
		})
	}
}
