package workload

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sysvmsg/msgq"
)

// W9 is scale: one namespace holding many queues. Its sizes are the
// numbers of queues.
var Scales = []int{10_000, 100_000, 1_000_000}

// scaleLimits lets a namespace hold a million queues and more (MsgMni up
// to Linux's ipcmni_extend bound).
var scaleLimits = msgq.Limits{MsgMni: 1 << 24}

// Scale is what W9 measures once for a number of queues.
type Scale struct {
	Queues       int
	Create       time.Duration // creating them all, one IPC_PRIVATE msgget each
	EmptyBytes   float64       // heap bytes per queue, every queue empty
	DrainedBytes float64       // heap bytes per queue once each carried one 64-byte message
}

// MeasureScale creates n private queues in a fresh namespace and measures
// the time that takes and the heap each queue costs, empty and then
// drained: each queue sends and receives one 64-byte message.
func MeasureScale(n int) Scale {
	s := Scale{Queues: n}
	before := heapAlloc()
	ns := msgq.NewNamespace(msgq.WithLimits(scaleLimits))
	ids := make([]int32, n) // kept outside the heap figure: a caller holds its ids
	start := time.Now()
	for i := range ids {
		id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
		if err != nil {
			panic(err)
		}
		ids[i] = int32(id)
	}
	s.Create = time.Since(start)
	idBytes := uint64(n) * 4
	s.EmptyBytes = float64(heapAlloc()-before-idBytes) / float64(n)

	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	for _, id := range ids {
		if err := ns.Msgsnd(int(id), 1, text, msgq.IPC_NOWAIT); err != nil {
			panic(err)
		}
		if _, _, err := ns.Msgrcv(int(id), buf, 0, msgq.IPC_NOWAIT); err != nil {
			panic(err)
		}
	}
	s.DrainedBytes = float64(heapAlloc()-before-idBytes) / float64(n)
	runtime.KeepAlive(ns)
	runtime.KeepAlive(ids)
	return s
}

// W9Create creates n private queues in a fresh namespace per op.
func W9Create(b *testing.B, n int) {
	b.ReportAllocs()
	for b.Loop() {
		ns := msgq.NewNamespace(msgq.WithLimits(scaleLimits))
		for range n {
			if _, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/queue")
}

// W9Random is an IPC_NOWAIT send and receive of a 64-byte message on a
// queue picked at random among n, through the syscall-shaped layer (ids,
// as a program holding many queues has them).
func W9Random(b *testing.B, n int) {
	ns := msgq.NewNamespace(msgq.WithLimits(scaleLimits))
	ids := make([]int, n)
	for i := range ids {
		id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	// A fixed sequence of random picks, so that every run and every size
	// does the same work per op.
	r := rand.New(rand.NewPCG(9, 9))
	picks := make([]int, 1<<16)
	for i := range picks {
		picks[i] = ids[r.IntN(n)]
	}
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	// Every queue carries one message first, as in a program that has been
	// running: what the loop measures is the table and its cache misses,
	// not each queue's first message.
	for _, id := range ids {
		if err := ns.Msgsnd(id, 1, text, msgq.IPC_NOWAIT); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ns.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := picks[i&(len(picks)-1)]
		i++
		if err := ns.Msgsnd(id, 1, text, msgq.IPC_NOWAIT); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ns.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT); err != nil && err != syscall.ENOMSG {
			b.Fatal(err)
		}
	}
}
