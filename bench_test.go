package msgq_test

import (
	"testing"

	"github.com/sysvmsg/msgq/internal/workload"
)

// The benchmarks run each workload of internal/workload on msgq, on the
// host kernel where it is available, and on a Go channel where the workload
// applies, so that one run gives comparable rows:
//
//	go test -run '^$' -bench . -cpu 1,2
//
// go run ./cmd/msgqbench runs the same workloads and prints the ratios.

// impls returns msgq and, where available, the kernel.
func impls(b *testing.B) []workload.Impl {
	impls := []workload.Impl{workload.Msgq}
	if k, err := workload.Kernel(); err == nil {
		impls = append(impls, k)
	} else {
		b.Logf("kernel rows skipped: %v", err)
	}
	return impls
}

func each(b *testing.B, f func(b *testing.B, impl workload.Impl)) {
	for _, impl := range impls(b) {
		b.Run(impl.Name, func(b *testing.B) { f(b, impl) })
	}
}

func eachSize(b *testing.B, param string, sizes []int, f func(b *testing.B, impl workload.Impl, n int)) {
	for _, n := range sizes {
		b.Run(workload.Named(param, n), func(b *testing.B) {
			each(b, func(b *testing.B, impl workload.Impl) { f(b, impl, n) })
		})
	}
}

func BenchmarkW1SendRecv(b *testing.B) {
	each(b, workload.W1)
	b.Run("chan", workload.ChanW1)
}

func BenchmarkW2PingPong(b *testing.B) {
	each(b, workload.W2)
	b.Run("chan", workload.ChanW2)
}

func BenchmarkW3ProducerConsumer(b *testing.B) {
	each(b, workload.W3)
	b.Run("chan", workload.ChanW3)
}

func BenchmarkW4TypedDepth(b *testing.B) { eachSize(b, "depth", workload.Depths, workload.W4) }

func BenchmarkW5NegativeTypeDepth(b *testing.B) { eachSize(b, "depth", workload.Depths, workload.W5) }

func BenchmarkW6CopyLast(b *testing.B) { eachSize(b, "depth", workload.Depths, workload.W6) }

func BenchmarkW7ParkedReceivers(b *testing.B) { eachSize(b, "parked", workload.Parked, workload.W7) }

// BenchmarkW8Parallel is meant for -cpu 1,2: compare ns/op across the two.
func BenchmarkW8Parallel(b *testing.B) {
	each(b, workload.W8)
	b.Run("chan", workload.ChanW8)
}

// BenchmarkMemory reports the heap bytes per queued 64-byte message (B/msg).
func BenchmarkMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = workload.BytesPerMessage()
	}
	b.ReportMetric(per, "B/msg")
}

// BenchmarkW9Create creates 10,000 / 100,000 / 1,000,000 private queues
// in a fresh namespace per op (see ns/queue).
func BenchmarkW9Create(b *testing.B) {
	for _, n := range workload.Scales {
		b.Run(workload.Named("queues", n), func(b *testing.B) { workload.W9Create(b, n) })
	}
}

// BenchmarkW9Random sends and receives on a queue picked at random among
// 10,000 / 100,000 / 1,000,000.
func BenchmarkW9Random(b *testing.B) {
	for _, n := range workload.Scales {
		b.Run(workload.Named("queues", n), func(b *testing.B) { workload.W9Random(b, n) })
	}
}

// BenchmarkW9Memory reports the heap bytes per queue, empty (B/queue) and
// once each queue has carried one message (B/drained), at each scale.
func BenchmarkW9Memory(b *testing.B) {
	for _, n := range workload.Scales {
		b.Run(workload.Named("queues", n), func(b *testing.B) {
			var s workload.Scale
			for b.Loop() {
				s = workload.MeasureScale(n)
			}
			b.ReportMetric(s.EmptyBytes, "B/queue")
			b.ReportMetric(s.DrainedBytes, "B/drained")
		})
	}
}
