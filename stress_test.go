package msgq

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestStress runs many goroutines over a few queues doing every kind of
// call (blocking and IPC_NOWAIT sends, receives of every selection mode,
// MSG_COPY peeks, IPC_SET of qbytes and mode, contexts that end at random)
// while other goroutines remove queues and make them again by key. Every
// message carries a unique id, and a ledger proves at the end that each one
// sent was received or dropped by a removal exactly once, that no failed or
// cancelled send delivered anything, that nothing a receive consumed went
// missing, and that every caller woken by a removal got EIDRM.
//
// MSGQ_STRESS_OPS sets the number of operations (default 200,000; 20,000
// under -short).
func TestStress(t *testing.T) {
	total := 200_000
	if testing.Short() {
		total = 20_000
	}
	if v := os.Getenv("MSGQ_STRESS_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		total = n
	}
	s := newStress(t, 64, 16)
	start := time.Now()
	s.run(total)
	s.verify()
	t.Logf("%d operations by %d goroutines on %d keys in %v: %d sent, %d received, %d dropped by %d removals, "+
		"%d woken by removals, %d cancelled or timed out, %d peeks, lost 0, duplicated 0",
		s.ops.Load(), s.workers, s.keys, time.Since(start).Round(time.Millisecond), len(s.sent), s.receivedN,
		s.droppedN, s.removals, s.woken, s.cancelled.Load(), s.peeks.Load())
	goleak.VerifyNone(t)
}

type stress struct {
	t       *testing.T
	ns      *Namespace
	root    *Namespace
	workers int
	keys    int

	mu      sync.Mutex // guards the handles and the ledger below
	handles []*Queue   // the current queue of each key
	closing bool

	sent      map[uint64]bool // sends that succeeded
	failed    map[uint64]bool // sends that failed or were cancelled
	got       map[uint64]int  // how often each id was received or dropped
	peeked    map[uint64]bool // ids seen by MSG_COPY
	receivedN int
	droppedN  int
	removals  int
	woken     int
	eidrm     int // EIDRM results of calls made without IPC_NOWAIT

	nextID    atomic.Uint64
	ops       atomic.Int64
	cancelled atomic.Int64
	peeks     atomic.Int64
}

func newStress(t *testing.T, workers, keys int) *stress {
	s := &stress{t: t, workers: workers, keys: keys,
		sent: map[uint64]bool{}, failed: map[uint64]bool{}, got: map[uint64]int{}, peeked: map[uint64]bool{}}
	s.ns = NewNamespace(WithCred(owner), WithLimits(Limits{MsgMax: 128, MsgMnb: 2048, MsgMni: 64}), WithRemoveHook(s.removed))
	s.root = s.ns.As(Root)
	for k := range keys {
		s.handles = append(s.handles, s.create(k))
	}
	return s
}

func (s *stress) create(k int) *Queue {
	q, err := s.ns.Get(Key(k+1), IPC_CREAT|0o600)
	if err != nil {
		s.t.Fatalf("recreating key %d: %v", k+1, err)
	}
	return q
}

// removed is the namespace's removal hook: what a removal dropped counts
// as delivered.
func (s *stress) removed(r Removal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removals++
	s.woken += r.Woken
	for _, m := range r.Dropped {
		s.got[binary.BigEndian.Uint64(m.Text)]++
		s.droppedN++
	}
}

func (s *stress) handle(k int) (*Queue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handles[k], s.closing
}

func (s *stress) run(total int) {
	var workers sync.WaitGroup
	per := total / s.workers
	for w := range s.workers {
		workers.Go(func() { s.work(rand.New(rand.NewPCG(uint64(w), 1)), per) })
	}
	stop := make(chan struct{})
	var removers sync.WaitGroup
	for r := range 2 {
		removers.Go(func() { s.remove(rand.New(rand.NewPCG(uint64(r), 2)), stop) })
	}
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()

	// Watchdog: operations must keep completing; once the workers have
	// used their budget, removals release the ones still blocked.
	last, lastChange := int64(-1), time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for finishing := false; ; {
		select {
		case <-done:
			close(stop)
			removers.Wait()
			s.teardown()
			return
		case <-tick.C:
		}
		if n := s.ops.Load(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 20*time.Second {
			buf := make([]byte, 8<<20)
			s.t.Fatalf("no operation completed for 20s: deadlock?\n%s", buf[:runtime.Stack(buf, true)])
		}
		// Each worker has at most one call in progress: once all but
		// that many have completed, release those still blocked.
		if !finishing && s.ops.Load() >= int64((per-1)*s.workers) {
			finishing = true
		}
		if finishing {
			s.mu.Lock()
			s.closing = true
			s.mu.Unlock()
			s.teardown() // releases the workers still blocked
		}
	}
}

// teardown removes every queue, as root, without making it again.
func (s *stress) teardown() {
	for k := range s.keys {
		q, _ := s.handle(k)
		handleAs(q, Root).Remove() // EIDRM if it is gone already

	}
}

// remove removes a random queue and makes a new one with its key, again
// and again, until stop.
func (s *stress) remove(r *rand.Rand, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(r.IntN(2000)) * time.Microsecond):
		}
		k := r.IntN(s.keys)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return
		}
		q := s.handles[k]
		s.mu.Unlock()
		// Remove by id through the syscall layer or by handle, as root.
		if r.IntN(2) == 0 {
			s.root.Msgctl(q.ID(), IPC_RMID, nil)
		} else {
			handleAs(q, Root).Remove()
		}
		s.mu.Lock()
		if !s.closing && s.handles[k] == q {
			s.handles[k] = s.create(k)
		}
		s.mu.Unlock()
	}
}

// context returns one of: no deadline, a deadline soon, or already ended.
func (s *stress) context(r *rand.Rand) (context.Context, context.CancelFunc) {
	switch r.IntN(5) {
	case 0, 1:
		return context.Background(), func() {}
	case 2:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	return context.WithTimeout(context.Background(), time.Duration(r.IntN(1500))*time.Microsecond)
}

func (s *stress) work(r *rand.Rand, n int) {
	buf := make([]byte, 256)
	for range n {
		k := r.IntN(s.keys)
		q, closing := s.handle(k)
		if closing {
			return
		}
		ctx, cancel := s.context(r)
		flg := 0
		if r.IntN(2) == 0 {
			flg = IPC_NOWAIT
		}
		switch p := r.IntN(100); {
		case p < 35:
			s.send(ctx, r, q, flg)
		case p < 80:
			s.recv(ctx, r, q, buf, flg)
		case p < 90:
			s.peek(r, q, buf)
		case p < 95:
			ds, err := q.Stat()
			if err == nil {
				ds.Qbytes = uint64(256 + r.IntN(1793))
				ds.Perm.Mode = []uint16{0o600, 0o600, 0o600, 0o400, 0o200}[r.IntN(5)]
				s.check(q.Set(&ds), syscall.EIDRM)
			} else {
				s.check(err, syscall.EIDRM, syscall.EACCES)
			}
		default:
			_, err := q.Stat()
			s.check(err, syscall.EIDRM, syscall.EACCES)
		}
		cancel()
		s.ops.Add(1)
	}
}

func (s *stress) send(ctx context.Context, r *rand.Rand, q *Queue, flg int) {
	id := s.nextID.Add(1)
	text := make([]byte, 8+r.IntN(64))
	binary.BigEndian.PutUint64(text, id)
	err := q.Send(ctx, int64(1+r.IntN(6)), text, flg)
	s.mu.Lock()
	if err == nil {
		s.sent[id] = true
	} else {
		s.failed[id] = true
	}
	if err == syscall.EIDRM && flg == 0 {
		s.eidrm++
	}
	s.mu.Unlock()
	s.check(err, syscall.EAGAIN, syscall.EACCES, syscall.EIDRM)
}

func (s *stress) recv(ctx context.Context, r *rand.Rand, q *Queue, buf []byte, flg int) {
	mtype := int64(1 + r.IntN(6))
	var msgtyp int64
	switch r.IntN(4) {
	case 1:
		msgtyp = mtype
	case 2:
		msgtyp = -mtype
	case 3:
		msgtyp, flg = mtype, flg|MSG_EXCEPT
	}
	size := len(buf)
	switch r.IntN(8) {
	case 0:
		size = 4 // shorter than any message: E2BIG
	case 1:
		size, flg = 8, flg|MSG_NOERROR // truncated, but the id survives
	}
	n, _, err := q.RecvInto(ctx, buf[:size], msgtyp, flg)
	if err == nil {
		if n < 8 {
			s.t.Errorf("received %d bytes", n)
			return
		}
		s.mu.Lock()
		s.got[binary.BigEndian.Uint64(buf)]++
		s.receivedN++
		s.mu.Unlock()
		return
	}
	if err == syscall.EIDRM && flg&IPC_NOWAIT == 0 {
		s.mu.Lock()
		s.eidrm++
		s.mu.Unlock()
	}
	s.check(err, syscall.E2BIG, syscall.ENOMSG, syscall.EACCES, syscall.EIDRM)
}

func (s *stress) peek(r *rand.Rand, q *Queue, buf []byte) {
	n, _, err := q.RecvInto(context.Background(), buf, int64(r.IntN(6)), MSG_COPY|IPC_NOWAIT)
	if err == nil {
		s.peeks.Add(1)
		s.mu.Lock()
		s.peeked[binary.BigEndian.Uint64(buf[:n])] = true
		s.mu.Unlock()
		return
	}
	s.check(err, syscall.ENOMSG, syscall.EACCES, syscall.EIDRM)
}

// check fails the test for an error other than a context's or those
// allowed.
func (s *stress) check(err error, allowed ...syscall.Errno) {
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		s.cancelled.Add(1)
		return
	}
	for _, a := range allowed {
		if err == a {
			return
		}
	}
	s.t.Errorf("unexpected error %v", err)
}

func (s *stress) verify() {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.sent {
		if s.got[id] != 1 {
			t.Errorf("message %d was sent and delivered %d times (received or dropped)", id, s.got[id])
		}
	}
	for id := range s.failed {
		if s.got[id] != 0 {
			t.Errorf("message %d failed to send but was delivered %d times", id, s.got[id])
		}
	}
	for id := range s.got {
		if !s.sent[id] {
			t.Errorf("message %d delivered but never sent", id)
		}
	}
	for id := range s.peeked {
		if !s.sent[id] {
			t.Errorf("message %d seen by MSG_COPY but never sent", id)
		}
	}
	if s.eidrm < s.woken {
		t.Errorf("removals woke %d blocked callers, only %d blocking calls returned EIDRM", s.woken, s.eidrm)
	}
	if s.ns.core.ids.inUse != 0 {
		t.Errorf("%d queues left after teardown", s.ns.core.ids.inUse)
	}
	if err := checkInvariants(s.ns); err != nil {
		t.Error(err)
	}
}
