package main

import (
	"fmt"
	"io"
	"testing"

	"github.com/sysvmsg/msgq/internal/workload"
)

// scaleRow is W9 at one number of queues: creation time and heap per queue
// from workload.MeasureScale, and the random send+receive benchmark.
type scaleRow struct {
	s      workload.Scale
	random testing.BenchmarkResult
}

// measureScale runs W9 at every size, reporting each step on prog.
func measureScale(prog *progress) []scaleRow {
	var rows []scaleRow
	for i, n := range workload.Scales {
		prog.step("[scale %d/%d] %d queues", i+1, len(workload.Scales), n)
		rows = append(rows, scaleRow{
			s:      workload.MeasureScale(n),
			random: testing.Benchmark(func(b *testing.B) { workload.W9Random(b, n) }),
		})
	}
	return rows
}

// reportScale prints W9's table and its targets.
func reportScale(w io.Writer, rows []scaleRow) {
	fmt.Fprint(w, "\n| W9 queues | create all | B per empty queue | B per drained queue | random send+recv ns/op |\n")
	fmt.Fprint(w, "|---:|---:|---:|---:|---:|\n")
	nsop := func(r testing.BenchmarkResult) float64 {
		if r.N == 0 {
			return 0
		}
		return float64(r.T.Nanoseconds()) / float64(r.N)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.3f s | %.1f | %.1f | %.1f |\n", r.s.Queues, r.s.Create.Seconds(),
			r.s.EmptyBytes, r.s.DrainedBytes, nsop(r.random))
	}
	if len(rows) == 0 {
		return
	}
	first, last := rows[0], rows[len(rows)-1]
	var empty, drained float64
	for _, r := range rows {
		empty, drained = max(empty, r.s.EmptyBytes), max(drained, r.s.DrainedBytes)
	}
	spread := nsop(last.random) / nsop(first.random)
	fmt.Fprint(w, "\n| target | measured | met |\n|---|---:|:---:|\n")
	for _, t := range []struct {
		what     string
		measured string
		ok       bool
	}{
		{fmt.Sprintf("creating %d queues ≤ 0.5 s", last.s.Queues), fmt.Sprintf("%.3f s", last.s.Create.Seconds()), last.s.Create.Seconds() <= 0.5},
		{"≤ 256 B of heap per empty queue", fmt.Sprintf("%.1f B", empty), empty <= 256},
		{"≤ 320 B per queue once drained", fmt.Sprintf("%.1f B", drained), drained <= 320},
		{fmt.Sprintf("random send+recv over %d queues ≤ 2.5× over %d", last.s.Queues, first.s.Queues), fmt.Sprintf("%.2f×", spread), spread <= 2.5},
	} {
		met := "no"
		if t.ok {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.what, t.measured, met)
	}
}
