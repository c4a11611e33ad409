package msgq

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestDialectStress runs blocking senders and receivers on a few queues of
// each dialect, with namespace-wide limits small enough that senders wait
// for each other across queues (MsgTql, the segment pool, MsgMnm) and
// contexts that end at random, then removes the queues: every message sent
// must be received or dropped by the removal, nobody may stay blocked, and
// the pool's accounting must come back to zero.
func TestDialectStress(t *testing.T) {
	for d := range Dialect(len(dialectRules)) {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			var dropped atomic.Int64
			ns := NewNamespace(WithCred(owner), WithDialect(d),
				WithLimits(Limits{MsgMax: 64, MsgMnb: 256, MsgMni: 8, MsgTql: 12, MsgMnm: 6, MsgSeg: 40}),
				WithRemoveHook(func(r Removal) { dropped.Add(int64(len(r.Dropped))) }))
			var ids []int
			for k := range 4 {
				ids = append(ids, create(t, ns, Key(k+1), 0o600))
			}
			var sent, received atomic.Int64
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), uint64(d)))
					for {
						select {
						case <-stop:
							return
						default:
						}
						q, err := ns.Lookup(ids[r.IntN(len(ids))])
						if err != nil {
							t.Error(err)
							return
						}
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(2000))*time.Microsecond)
						if w%2 == 0 {
							err = q.Send(ctx, int64(1+r.IntN(4)), make([]byte, r.IntN(64)), 0)
							if err == nil {
								sent.Add(1)
							}
						} else {
							_, err = q.Recv(ctx, int64(r.IntN(9)-4), 64, MSG_NOERROR)
							if err == nil {
								received.Add(1)
							}
						}
						cancel()
						if err != nil && !errors.Is(err, context.DeadlineExceeded) && err != syscall.EIDRM {
							t.Errorf("%v", err)
							return
						}
					}
				}()
			}
			time.Sleep(300 * time.Millisecond)
			close(stop)
			wg.Wait()
			if err := checkInvariants(ns); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				rmid(t, ns, id)
			}
			if got := received.Load() + dropped.Load(); got != sent.Load() {
				t.Fatalf("%d sent, %d received, %d dropped", sent.Load(), received.Load(), dropped.Load())
			}
			if p := ns.core.pool; p != nil && p.used.Load() != 0 {
				t.Fatalf("the pool still holds %#x", p.used.Load())
			}
			if sent.Load() == 0 || received.Load() == 0 {
				t.Fatalf("nothing moved: %d sent, %d received", sent.Load(), received.Load())
			}
		})
	}
}
