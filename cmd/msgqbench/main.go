// Command msgqbench measures msgq against what a user would pick instead:
// the host kernel's SysV message queues (where this process may use them)
// and a Go buffered channel. It runs the workloads of bench_test.go, shows
// its progress while it works (one line rewritten in place on a terminal,
// a plain line per workload elsewhere), and prints one markdown table of
// ns/op and allocs/op per workload and implementation, then the ratios the
// project's performance targets are stated in, each measured in this run,
// and a scale section (W9: 10,000 to 1,000,000 queues in one namespace).
//
//	go run ./cmd/msgqbench          # about two minutes
//	go run ./cmd/msgqbench -quick   # under 20 seconds, rougher figures
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sysvmsg/msgq/internal/workload"
)

// A row is one workload; each implementation that applies has a cell.
type row struct {
	name  string
	cells map[string]testing.BenchmarkResult
}

type bench struct {
	row, impl string
	procs     int // GOMAXPROCS for the run; 0 leaves it
	f         func(b *testing.B)
}

func main() {
	testing.Init()
	quick := flag.Bool("quick", false, "run each benchmark briefly (the whole run takes under 20 seconds)")
	benchtime := flag.Duration("benchtime", 0, "time per benchmark (default 1s, or 40ms with -quick)")
	noKernel := flag.Bool("nokernel", false, "leave out the kernel rows")
	flag.Parse()
	d := time.Second
	if *quick {
		d = 40 * time.Millisecond
	}
	if *benchtime > 0 {
		d = *benchtime
	}
	if err := flag.Set("test.benchtime", d.String()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	impls := []workload.Impl{workload.Msgq}
	kernelNote := ""
	if *noKernel {
		kernelNote = "left out (-nokernel)"
	} else if k, err := workload.Kernel(); err != nil {
		kernelNote = fmt.Sprintf("unavailable here (%v)", err)
	} else {
		impls = append(impls, k)
	}

	benches := plan(impls)
	rows := map[string]*row{}
	var order []string
	start := time.Now()
	prog := newProgress(os.Stderr)
	for i, b := range benches {
		prog.step("[%d/%d] %s on %s", i+1, len(benches), b.row, b.impl)
		r := rows[b.row]
		if r == nil {
			r = &row{name: b.row, cells: map[string]testing.BenchmarkResult{}}
			rows[b.row] = r
			order = append(order, b.row)
		}
		prev := runtime.GOMAXPROCS(0)
		if b.procs > 0 {
			runtime.GOMAXPROCS(b.procs)
		}
		r.cells[b.impl] = testing.Benchmark(b.f)
		runtime.GOMAXPROCS(prev)
	}
	prog.step("[%d/%d] memory per queued message", len(benches), len(benches))
	perMsg := workload.BytesPerMessage()
	scale := measureScale(prog)
	prog.done("done in %v", time.Since(start).Round(time.Second))

	report(os.Stdout, order, rows, perMsg, d, kernelNote)
	reportScale(os.Stdout, scale)
}

// plan lists the benchmarks: every workload on every implementation it
// applies to.
func plan(impls []workload.Impl) []bench {
	var bs []bench
	add := func(row, impl string, procs int, f func(b *testing.B)) {
		bs = append(bs, bench{row, impl, procs, f})
	}
	for _, w := range []struct {
		name string
		f    func(*testing.B, workload.Impl)
		ch   func(*testing.B)
	}{
		{"W1 send+recv", workload.W1, workload.ChanW1},
		{"W2 ping-pong", workload.W2, workload.ChanW2},
		{"W3 producer/consumer", workload.W3, workload.ChanW3},
	} {
		for _, impl := range impls {
			add(w.name, impl.Name, 0, func(b *testing.B) { w.f(b, impl) })
		}
		add(w.name, "chan", 0, w.ch)
	}
	for _, w := range []struct {
		name, param string
		sizes       []int
		f           func(*testing.B, workload.Impl, int)
	}{
		{"W4 typed recv", "depth", workload.Depths, workload.W4},
		{"W5 msgtyp<0 recv", "depth", workload.Depths, workload.W5},
		{"W6 MSG_COPY last", "depth", workload.Depths, workload.W6},
		{"W7 parked receivers", "R", workload.Parked, workload.W7},
	} {
		for _, n := range w.sizes {
			name := fmt.Sprintf("%s %s=%d", w.name, w.param, n)
			for _, impl := range impls {
				add(name, impl.Name, 0, func(b *testing.B) { w.f(b, impl, n) })
			}
		}
	}
	for _, procs := range []int{1, 2} {
		name := fmt.Sprintf("W8 parallel GOMAXPROCS=%d", procs)
		for _, impl := range impls {
			add(name, impl.Name, procs, func(b *testing.B) { workload.W8(b, impl) })
		}
		add(name, "chan", procs, workload.ChanW8)
	}
	return bs
}

func report(w io.Writer, order []string, rows map[string]*row, perMsg float64, d time.Duration, kernelNote string) {
	cols := []string{"msgq", "kernel", "chan"}
	fmt.Fprintf(w, "msgqbench: %s/%s, GOMAXPROCS %d, %v per benchmark", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), d)
	if kernelNote != "" {
		fmt.Fprintf(w, "; kernel %s", kernelNote)
	}
	fmt.Fprint(w, "\n\n| workload | msgq ns/op | msgq allocs/op | kernel ns/op | chan ns/op | kernel ÷ msgq | msgq ÷ chan |\n")
	fmt.Fprint(w, "|---|---:|---:|---:|---:|---:|---:|\n")
	ns := func(r *row, impl string) float64 {
		res, ok := r.cells[impl]
		if !ok || res.N == 0 {
			return 0
		}
		return float64(res.T.Nanoseconds()) / float64(res.N)
	}
	for _, name := range order {
		r := rows[name]
		cell := func(impl string) string {
			if v := ns(r, impl); v > 0 {
				return fmt.Sprintf("%.1f", v)
			}
			return "–"
		}
		allocs := "–"
		if res, ok := r.cells["msgq"]; ok {
			allocs = fmt.Sprint(res.AllocsPerOp())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", name,
			cell(cols[0]), allocs, cell(cols[1]), cell(cols[2]),
			ratio(ns(r, "kernel"), ns(r, "msgq")), ratio(ns(r, "msgq"), ns(r, "chan")))
	}

	m := func(name string) float64 { return ns(rows[name], "msgq") }
	type target struct {
		what     string
		measured float64
		ok       bool
		unit     string
	}
	w1k := ns(rows["W1 send+recv"], "kernel") / m("W1 send+recv")
	targets := []target{
		{"W1 ≤ 1.5× the channel", m("W1 send+recv") / ns(rows["W1 send+recv"], "chan"), false, "×"},
		{"W1 ≥ 10× faster than the kernel", w1k, w1k >= 10, "×"},
		{"W2 ≤ 1.5× the channel round trip", m("W2 ping-pong") / ns(rows["W2 ping-pong"], "chan"), false, "×"},
		{"W4 depth 10000 ≤ 1.5× depth 10", m("W4 typed recv depth=10000") / m("W4 typed recv depth=10"), false, "×"},
		{"W5 depth 10000 ≤ 1.5× depth 10", m("W5 msgtyp<0 recv depth=10000") / m("W5 msgtyp<0 recv depth=10"), false, "×"},
		{"W6 depth 10000 ≤ 2× depth 10", m("W6 MSG_COPY last depth=10000") / m("W6 MSG_COPY last depth=10"), false, "×"},
		{"W7 R=1000 ≤ 1.2× R=0", m("W7 parked receivers R=1000") / m("W7 parked receivers R=0"), false, "×"},
		{"W8 throughput at GOMAXPROCS=2 ≥ 1.6× at 1", m("W8 parallel GOMAXPROCS=1") / m("W8 parallel GOMAXPROCS=2"), false, "×"},
	}
	limits := []float64{1.5, 0, 1.5, 1.5, 1.5, 2, 1.2, 0}
	for i := range targets {
		switch {
		case i == 1:
			if w1k == 0 || w1k != w1k { // no kernel row
				targets[i].measured, targets[i].ok = 0, false
			}
		case i == 7:
			targets[i].ok = targets[i].measured >= 1.6
		default:
			targets[i].ok = targets[i].measured <= limits[i]
		}
	}
	var allocs int64
	for _, name := range []string{"W1 send+recv", "W3 producer/consumer", "W4 typed recv depth=10", "W4 typed recv depth=1000", "W4 typed recv depth=10000"} {
		allocs = max(allocs, rows[name].cells["msgq"].AllocsPerOp())
	}
	targets = append(targets,
		target{"0 allocs/op for W1, W3, W4", float64(allocs), allocs == 0, " allocs/op"},
		target{"≤ 128 B of heap per queued 64-byte message", perMsg, perMsg <= 128, " B"},
	)
	fmt.Fprint(w, "\n| target | measured | met |\n|---|---:|:---:|\n")
	for _, t := range targets {
		measured := "–"
		if t.measured > 0 || t.unit != "×" {
			measured = strings.TrimSpace(fmt.Sprintf("%.2f%s", t.measured, t.unit))
		}
		met := "no"
		if t.ok {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.what, measured, met)
	}
}

// ratio formats a ÷ b, or a dash where either is missing.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
