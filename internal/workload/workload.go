// Package workload defines the benchmark workloads of msgq once, so that
// bench_test.go (go test -bench) and cmd/msgqbench run the same code on the
// same implementations: msgq itself, the host kernel, and a Go channel.
package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sysvmsg/msgq"
)

// TextSize is the size of every message text the workloads send.
const TextSize = 64

// Queue is one queue of an implementation, as the workloads use it.
type Queue interface {
	Send(mtype int64, text []byte, msgflg int) error
	RecvInto(buf []byte, msgtyp int64, msgflg int) (n int, mtype int64, err error)
}

// Impl is an implementation the queue workloads run on.
type Impl struct {
	Name string
	// IPC is the implementation's syscall-shaped surface.
	IPC func() msgq.IPC
	// Open returns a queue of id on ipc, in the form the workloads use.
	Open func(ipc msgq.IPC, id int) Queue
}

// Msgq is msgq through its Go-shaped layer: Queue.Send and Queue.RecvInto.
var Msgq = Impl{
	Name: "msgq",
	IPC: func() msgq.IPC {
		return msgq.NewNamespace(msgq.WithLimits(msgq.Limits{MsgMni: 1 << 16}))
	},
	Open: func(ipc msgq.IPC, id int) Queue {
		q, err := ipc.(*msgq.Namespace).Lookup(id)
		if err != nil {
			panic(err)
		}
		return handle{q}
	},
}

type handle struct{ q *msgq.Queue }

func (h handle) Send(mtype int64, text []byte, msgflg int) error {
	return h.q.Send(context.Background(), mtype, text, msgflg)
}

func (h handle) RecvInto(buf []byte, msgtyp int64, msgflg int) (int, int64, error) {
	return h.q.RecvInto(context.Background(), buf, msgtyp, msgflg)
}

// Syscalls returns an Impl whose queues make the syscall-shaped calls of
// ipc, as the kernel backend offers them.
func Syscalls(name string, ipc func() msgq.IPC) Impl {
	return Impl{
		Name: name,
		IPC:  ipc,
		Open: func(ipc msgq.IPC, id int) Queue { return byID{ipc, id} },
	}
}

type byID struct {
	ipc msgq.IPC
	id  int
}

func (q byID) Send(mtype int64, text []byte, msgflg int) error {
	return q.ipc.Msgsnd(q.id, mtype, text, msgflg)
}

func (q byID) RecvInto(buf []byte, msgtyp int64, msgflg int) (int, int64, error) {
	return q.ipc.Msgrcv(q.id, buf, msgtyp, msgflg)
}

// newQueue creates a private queue on a fresh instance of impl. The caller
// removes it with the function returned (a kernel queue outlives the
// process otherwise).
func newQueue(b *testing.B, impl Impl) (msgq.IPC, int, Queue, func()) {
	b.Helper()
	ipc := impl.IPC()
	id, err := ipc.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	return ipc, id, impl.Open(ipc, id), func() { ipc.Msgctl(id, msgq.IPC_RMID, nil) }
}

func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// W1 is one goroutine sending a 64-byte message and receiving it back
// (msgtyp 0), the sender's buffer reused every time.
func W1(b *testing.B, impl Impl) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	if h, ok := q.(handle); ok {
		// msgq's calls made directly, as the channel row makes its own:
		// the interface this package adds would be measured otherwise.
		ctx := context.Background()
		for b.Loop() {
			check(b, h.q.Send(ctx, 1, text, 0))
			_, _, err := h.q.RecvInto(ctx, buf, 0, 0)
			check(b, err)
		}
		return
	}
	for b.Loop() {
		check(b, q.Send(1, text, 0))
		_, _, err := q.RecvInto(buf, 0, 0)
		check(b, err)
	}
}

// W2 is a ping-pong round trip between two goroutines on one queue: type 1
// one way, type 2 back.
func W2(b *testing.B, impl Impl) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	n := b.N
	wait := peer(n, func(buf []byte) error {
		if _, _, err := q.RecvInto(buf, 1, 0); err != nil {
			return err
		}
		return q.Send(2, buf, 0)
	})
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		check(b, q.Send(1, text, 0))
		_, _, err := q.RecvInto(buf, 2, 0)
		check(b, err)
	}
	wait()
}

// W3 is one blocking producer and one blocking consumer on a queue with the
// default 16384 bytes of room; each op is one message through.
func W3(b *testing.B, impl Impl) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	n := b.N
	wait := peer(n, func(buf []byte) error {
		_, _, err := q.RecvInto(buf, 0, 0)
		return err
	})
	text := make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		check(b, q.Send(1, text, 0))
	}
	wait()
}

// peer runs step n times in another goroutine with a buffer of its own,
// and returns a function that waits for it to finish.
func peer(n int, step func(buf []byte) error) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, TextSize)
		for range n {
			if err := step(buf); err != nil {
				panic(err)
			}
		}
	})
	return wg.Wait
}

// fill queues depth empty messages with types cycling through types.
// Empty messages fit any queue's byte limit; the count limit (qbytes
// messages) allows 16384 of them by default, so the kernel takes 10,000
// without CAP_SYS_RESOURCE.
func fill(b *testing.B, q Queue, depth int, types ...int64) {
	for i := range depth {
		check(b, q.Send(types[i%len(types)], nil, msgq.IPC_NOWAIT))
	}
}

// W4 is a typed receive behind depth messages of another type: each op
// sends a type-2 message and receives msgtyp 2.
func W4(b *testing.B, impl Impl, depth int) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	fill(b, q, depth, 1)
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		check(b, q.Send(2, text, msgq.IPC_NOWAIT))
		_, _, err := q.RecvInto(buf, 2, msgq.IPC_NOWAIT)
		check(b, err)
	}
}

// W5 is a negative-type receive behind depth messages of types 5..9: each
// op sends type 1 and receives msgtyp -3.
func W5(b *testing.B, impl Impl, depth int) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	fill(b, q, depth, 5, 6, 7, 8, 9)
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		check(b, q.Send(1, text, msgq.IPC_NOWAIT))
		_, mtype, err := q.RecvInto(buf, -3, msgq.IPC_NOWAIT)
		check(b, err)
		if mtype != 1 {
			b.Fatalf("got type %d", mtype)
		}
	}
}

// W6 is MSG_COPY of the last of depth messages.
func W6(b *testing.B, impl Impl, depth int) {
	_, _, q, remove := newQueue(b, impl)
	defer remove()
	fill(b, q, depth-1, 1)
	check(b, q.Send(2, make([]byte, TextSize), msgq.IPC_NOWAIT))
	buf := make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, mtype, err := q.RecvInto(buf, int64(depth-1), msgq.MSG_COPY|msgq.IPC_NOWAIT)
		check(b, err)
		if n != TextSize || mtype != 2 {
			b.Fatalf("copied %d bytes of type %d", n, mtype)
		}
	}
}

// W7 is W1 with parked goroutines blocked receiving types that are never
// sent, as a server with many idle clients has.
func W7(b *testing.B, impl Impl, parked int) {
	ipc, id, q, remove := newQueue(b, impl)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer remove() // wakes the parked receivers with EIDRM
	for i := range parked {
		wg.Go(func() {
			buf := make([]byte, TextSize)
			impl.Open(ipc, id).RecvInto(buf, int64(1000+i), 0)
		})
	}
	// No interface reports blocked receivers: give them time to block.
	// One that blocks late only makes the first iterations cheaper.
	time.Sleep(10*time.Millisecond + time.Duration(parked)*50*time.Microsecond)
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		check(b, q.Send(1, text, 0))
		_, _, err := q.RecvInto(buf, 1, 0)
		check(b, err)
	}
	b.StopTimer()
}

// W8 sends and receives with IPC_NOWAIT on random queues of 10,000 from
// b.RunParallel goroutines: with no namespace-wide lock on that path it
// scales with GOMAXPROCS.
func W8(b *testing.B, impl Impl) {
	ipc := impl.IPC()
	const queues = 10_000
	qs := make([]Queue, queues)
	for i := range qs {
		id, err := ipc.Msgget(msgq.IPC_PRIVATE, 0o600)
		check(b, err)
		defer ipc.Msgctl(id, msgq.IPC_RMID, nil)
		qs[i] = impl.Open(ipc, id)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		text, buf := make([]byte, TextSize), make([]byte, TextSize)
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			// Two goroutines may pick one queue: then one receive can find
			// the queue empty (ENOMSG), which is part of the workload.
			q := qs[r.IntN(queues)]
			if err := q.Send(1, text, msgq.IPC_NOWAIT); err != nil && err != syscall.EAGAIN {
				panic(err)
			}
			if _, _, err := q.RecvInto(buf, 0, msgq.IPC_NOWAIT); err != nil && err != syscall.ENOMSG {
				panic(err)
			}
		}
	})
}

// BytesPerMessage returns the heap bytes each queued 64-byte message costs,
// text included, measured over 100,000 messages of four types in one queue.
func BytesPerMessage() float64 {
	const count = 100_000
	ns := msgq.NewNamespace(msgq.WithLimits(msgq.Limits{MsgMnb: 1 << 30}))
	q, err := ns.Get(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		panic(err)
	}
	ds, err := q.Stat() // lift qbytes to the namespace's MsgMnb, as the owner may
	if err != nil {
		panic(err)
	}
	ds.Qbytes = 1 << 30
	if err := q.Set(&ds); err != nil {
		panic(err)
	}
	text := make([]byte, TextSize)
	before := heapAlloc()
	for i := range count {
		if err := q.Send(context.Background(), int64(1+i%4), text, msgq.IPC_NOWAIT); err != nil {
			panic(err)
		}
	}
	after := heapAlloc()
	runtime.KeepAlive(q)
	return float64(after-before) / count
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Depths are the queue depths of W4, W5 and W6; Parked the numbers of
// parked receivers of W7.
var (
	Depths = []int{10, 1000, 10000}
	Parked = []int{0, 100, 1000}
)

// Named returns "name=value", the form of a sub-benchmark's name.
func Named(name string, v int) string { return fmt.Sprintf("%s=%d", name, v) }
