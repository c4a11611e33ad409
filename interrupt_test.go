package msgq

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterrupt blocks receivers and senders of three processes on both
// layers, interrupts one process and checks that only its calls return
// EINTR, that nothing of the queues changed, and that the others still
// complete normally afterwards.
func TestInterrupt(t *testing.T) {
	ns := newNS(t, WithCred(Root))
	pids := []int32{21, 22, 23}
	as := func(pid int32) *Namespace { return ns.As(Cred{UID: 0, Caps: AllCaps, PID: pid}) }
	empty := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	full := fullQueue(t, ns, 3, msg{1, "abc"})
	before := map[int]MsqidDS{empty: stat(t, ns, empty), full: stat(t, ns, full)}

	type pending struct {
		pid  int32
		what string
		ch   <-chan result
	}
	var calls []pending
	for _, pid := range pids {
		v := as(pid)
		calls = append(calls,
			pending{pid, "msgrcv", recvAsync(v, empty, 8, 0, 0)},
			pending{pid, "msgsnd", sendAsync(v, full, 2, fmt.Sprint("from ", pid))},
			pending{pid, "Recv", call(func() result {
				q, err := v.Lookup(empty)
				if err != nil {
					return result{err: err}
				}
				m, err := q.Recv(context.Background(), int64(pid), 8, 0)
				return result{mtype: m.Type, text: string(m.Text), err: err}
			})},
			pending{pid, "Send", call(func() result {
				q, err := v.Lookup(full)
				if err != nil {
					return result{err: err}
				}
				return result{err: q.Send(context.Background(), 3, []byte("go"), 0)}
			})},
		)
	}
	require.NoError(t, ns.WaitBlocked(ctxBound(t), empty, 6))
	require.NoError(t, ns.WaitBlocked(ctxBound(t), full, 6))

	assert.Equal(t, 0, ns.Interrupt(99), "no call is blocked as pid 99")
	assert.Equal(t, 4, ns.Interrupt(22))
	for _, c := range calls {
		if c.pid != 22 {
			continue
		}
		r := await(t, c.ch)
		assert.Equal(t, syscall.EINTR, r.err, "%s as pid 22", c.what)
	}
	for _, c := range calls {
		if c.pid != 22 {
			stillBlocked(t, c.ch)
		}
	}
	for _, c := range ns.Blocked() {
		assert.NotEqual(t, int32(22), c.Cred.PID, "%s is no longer blocked", c.Op)
	}
	for id, ds := range before {
		assert.Equal(t, ds, stat(t, ns, id), "queue %d is as it was", id)
	}
	assert.Equal(t, []msg{{1, "abc"}}, contents(t, ns, full), "no interrupted sender's message was queued")
	assert.Equal(t, 0, ns.Interrupt(22), "a second signal finds nothing blocked")

	// The others are still waiting and complete as usual.
	assert.Equal(t, 8, ns.Interrupt(21)+ns.Interrupt(23))
	for _, c := range calls {
		if c.pid != 22 {
			assert.Equal(t, syscall.EINTR, await(t, c.ch).err, "%s as pid %d", c.what, c.pid)
		}
	}
	assert.Empty(t, ns.Blocked())
}

// ctxBound is a context that ends after bound, for WaitBlocked.
func ctxBound(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	t.Cleanup(cancel)
	return ctx
}

// TestInterruptTheGoLayer: Recv and Send report EINTR as an error for which
// errors.Is(err, syscall.EINTR) holds, and a later call on the handle works.
func TestInterruptTheGoLayer(t *testing.T) {
	ns := newNS(t)
	q, err := ns.Get(IPC_PRIVATE, IPC_CREAT|0o600)
	require.NoError(t, err)
	r := call(func() result {
		m, err := q.Recv(context.Background(), 0, 8, 0)
		return result{mtype: m.Type, err: err}
	})
	require.NoError(t, ns.WaitBlocked(ctxBound(t), q.ID(), 1))
	assert.Equal(t, 1, ns.Interrupt(owner.PID))
	assert.True(t, errors.Is(await(t, r).err, syscall.EINTR))
	require.NoError(t, q.Send(context.Background(), 1, []byte("after"), 0))
	m, err := q.Recv(context.Background(), 0, 8, IPC_NOWAIT)
	require.NoError(t, err)
	assert.Equal(t, "after", string(m.Text))
}

// TestInterruptedSenderMakesNoRoom: a blocked sender interrupted leaves the
// senders behind it blocked (it held no room), and those that fit later
// are let through in order.
func TestInterruptedSenderMakesNoRoom(t *testing.T) {
	ns := newNS(t, WithCred(Root))
	id := fullQueue(t, ns, 4, msg{1, "abcd"})
	first := sendAsync(ns.As(Cred{PID: 31, Caps: AllCaps}), id, 2, "xy")
	waitFor(t, ns, id, 1, 0)
	second := sendAsync(ns.As(Cred{PID: 32, Caps: AllCaps}), id, 3, "z")
	waitFor(t, ns, id, 2, 0)
	assert.Equal(t, 1, ns.Interrupt(31))
	assert.Equal(t, syscall.EINTR, await(t, first).err)
	stillBlocked(t, second)
	_, _, err := ns.Msgrcv(id, make([]byte, 4), 0, IPC_NOWAIT)
	require.NoError(t, err)
	require.NoError(t, await(t, second).err)
	assert.Equal(t, []msg{{3, "z"}}, contents(t, ns, id))
}

// TestInterruptRaces interrupts processes while their messages are being
// handed over, their queue removed and their contexts cancelled, and keeps
// a ledger: every message a sender was told it sent is received exactly
// once or dropped by IPC_RMID, and no message of a failed send appears.
func TestInterruptRaces(t *testing.T) {
	const (
		procs  = 6
		rounds = 40
	)
	var mu sync.Mutex
	sent := map[string]bool{}    // sends that returned nil
	failed := map[string]bool{}  // sends that returned an error
	received := map[string]int{} // times each text was received
	dropped := map[string]int{}  // times each text was dropped by IPC_RMID
	interrupted := map[string]int{}
	ns := newNS(t, WithCred(Root), WithRemoveHook(func(r Removal) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range r.Dropped {
			dropped[string(m.Text)]++
		}
	}))
	deadline := time.Now().Add(bound)
	for round := range rounds {
		if time.Now().After(deadline) {
			t.Fatalf("round %d not reached within %v", round, bound)
		}
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		setQbytes(t, ns, id, 36) // room for three messages: senders block too
		var done atomic.Int32    // calls finished this round
		q, err := ns.Lookup(id)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for p := range procs {
			pid := int32(100 + p)
			v := ns.As(Cred{PID: pid, Caps: AllCaps})
			vq, err := v.Lookup(id)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			wg.Go(func() { // a sender
				defer cancel()
				for k := range 4 {
					text := fmt.Sprintf("r%d p%d k%d", round, p, k)
					var err error
					if k%2 == 0 {
						err = v.Msgsnd(id, 1, []byte(text), 0)
					} else {
						err = vq.Send(ctx, 1, []byte(text), 0)
					}
					done.Add(1)
					mu.Lock()
					if err == nil {
						sent[text] = true
					} else {
						failed[text] = true
						if errors.Is(err, syscall.EINTR) {
							interrupted["send"]++
						}
					}
					mu.Unlock()
					if errors.Is(err, syscall.EIDRM) {
						return
					}
				}
			})
			wg.Go(func() { // a receiver
				buf := make([]byte, 16)
				for k := range 5 {
					var n int
					var err error
					if k%2 == 0 {
						n, _, err = v.Msgrcv(id, buf, 0, MSG_NOERROR)
					} else {
						n, _, err = vq.RecvInto(ctx, buf, 0, MSG_NOERROR)
					}
					done.Add(1)
					mu.Lock()
					if err == nil {
						received[string(buf[:n])]++
					} else if errors.Is(err, syscall.EINTR) {
						interrupted["recv"]++
					}
					mu.Unlock()
					if errors.Is(err, syscall.EIDRM) {
						return
					}
				}
			})
		}
		r := rand.New(rand.NewPCG(uint64(round), 7))
		wg.Go(func() { // signals, a cancel, and finally the removal
			// Until half the calls are done and something was interrupted:
			// receivers try once more than senders send, so some block.
			for n := 0; done.Load() < procs*4 || n == 0; {
				n += ns.Interrupt(int32(100 + r.IntN(procs)))
				runtime.Gosched()
				if time.Now().After(deadline) {
					t.Errorf("round %d: %d calls done, %d interrupted by the deadline", round, done.Load(), n)
					break
				}
			}
			require.NoError(t, q.Remove())
		})
		wg.Wait()
	}

	mu.Lock()
	defer mu.Unlock()
	for text := range sent {
		assert.Equal(t, 1, received[text]+dropped[text], "%q was sent: received or dropped exactly once", text)
	}
	for text := range failed {
		assert.Zero(t, received[text]+dropped[text], "%q was not sent, yet it arrived", text)
	}
	for text := range received {
		assert.True(t, sent[text], "%q was received but never sent", text)
	}
	t.Logf("%d sent, %d failed, %v interrupted", len(sent), len(failed), interrupted)
	assert.NotZero(t, interrupted["send"]+interrupted["recv"], "some calls were interrupted")
}

// TestInterruptInABubble: in a testing/synctest bubble a blocked call is
// durably blocked until Interrupt ends it, and a sender blocked until its
// deadline is interrupted long before it, in bubble time.
func TestInterruptInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ns := newNS(t, WithCred(Cred{PID: 5, Caps: AllCaps}))
		id := fullQueue(t, ns, 1, msg{1, "x"})
		q, err := ns.Lookup(id)
		require.NoError(t, err)
		recv := make(chan error, 1)
		send := make(chan error, 1)
		go func() { _, _, err := ns.Msgrcv(id, nil, 7, 0); recv <- err }()
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			send <- q.Send(ctx, 2, []byte("y"), 0)
		}()
		synctest.Wait()
		start := time.Now()
		time.Sleep(time.Minute)
		assert.Equal(t, 2, ns.Interrupt(5))
		assert.Equal(t, syscall.EINTR, <-recv)
		assert.ErrorIs(t, <-send, syscall.EINTR)
		assert.Equal(t, time.Minute, time.Since(start))
		assert.Equal(t, []msg{{1, "x"}}, contents(t, ns, id))
	})
}
