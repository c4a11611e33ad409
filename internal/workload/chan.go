package workload

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// The channel rows: what a user would write instead of a queue, a buffered
// Go channel of {type, text}. The text travels by value, so that the sender
// may reuse its buffer at once, as it may with msgsnd. Channels cannot
// select by type, so only the workloads that take any message apply.

type chanMsg struct {
	mtype int64
	text  [TextSize]byte
}

// ChanW1 is W1 on a channel.
func ChanW1(b *testing.B) {
	ch := make(chan chanMsg, 1)
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	for b.Loop() {
		m := chanMsg{mtype: 1}
		copy(m.text[:], text)
		ch <- m
		r := <-ch
		copy(buf, r.text[:])
	}
}

// ChanW2 is W2 on a pair of channels, one each way.
func ChanW2(b *testing.B) {
	ping, pong := make(chan chanMsg, 1), make(chan chanMsg, 1)
	var wg sync.WaitGroup
	n := b.N
	wg.Go(func() {
		for range n {
			pong <- <-ping
		}
	})
	text, buf := make([]byte, TextSize), make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		m := chanMsg{mtype: 1}
		copy(m.text[:], text)
		ping <- m
		r := <-pong
		copy(buf, r.text[:])
	}
	wg.Wait()
}

// ChanW3 is W3 on a channel holding as many 64-byte messages as a default
// queue (16384 / 64).
func ChanW3(b *testing.B) {
	ch := make(chan chanMsg, 16384/TextSize)
	var wg sync.WaitGroup
	n := b.N
	wg.Go(func() {
		buf := make([]byte, TextSize)
		for range n {
			r := <-ch
			copy(buf, r.text[:])
		}
	})
	text := make([]byte, TextSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		m := chanMsg{mtype: 1}
		copy(m.text[:], text)
		ch <- m
	}
	wg.Wait()
}

// ChanW8 is W8 on 10,000 channels, sending and receiving without blocking.
func ChanW8(b *testing.B) {
	const queues = 10_000
	chs := make([]chan chanMsg, queues)
	for i := range chs {
		chs[i] = make(chan chanMsg, 16384/TextSize)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		text, buf := make([]byte, TextSize), make([]byte, TextSize)
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			ch := chs[r.IntN(queues)]
			m := chanMsg{mtype: 1}
			copy(m.text[:], text)
			select {
			case ch <- m:
			default:
				panic("full")
			}
			select {
			case m := <-ch:
				copy(buf, m.text[:])
			default: // another goroutine took it: as ENOMSG
			}
		}
	})
}
