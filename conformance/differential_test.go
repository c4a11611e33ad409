//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sequences is how many random sequences TestDifferential runs: 2,000 by
// default (CI), MSGQ_SEQUENCES to change it, 200 under -short.
func sequences(t *testing.T) int { return envCount(t, "MSGQ_SEQUENCES", 2000, 200) }

// envCount is how many random cases a test runs: the variable name if it
// is set, else def, or short under -short.
func envCount(t *testing.T, name string, def, short int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	if testing.Short() {
		return short
	}
	return def
}

// seqLen is the number of operations in a random sequence.
const seqLen = 40

func sides(t testing.TB) (*kernelSide, *nsSide) {
	t.Helper()
	if reason := skipReason(); reason != "" {
		t.Skip(reason)
	}
	return newKernelSide(), newNSSide(kernelThread().processCaps())
}

// TestDifferential runs random sequences on the kernel and on msgq and
// compares every result. A failure prints the seed and the sequence shrunk
// to the operations that still make it fail, ready to keep as a regression
// case. MSGQ_SEED=n replays seed n alone.
func TestDifferential(t *testing.T) {
	kern, ns := sides(t)
	first, n := uint64(1), sequences(t)
	if v := os.Getenv("MSGQ_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		first, n = s, 1
	}
	start := time.Now()
	var ops int
	outcomes := map[string]int{} // what the operations came to: a coverage report
	for seed := first; seed < first+uint64(n); seed++ {
		seq := genSequence(prng{rand.New(rand.NewPCG(seed, 0x6d736771))}, seqLen)
		ops += len(seq)
		if !check(t, kern, ns, seq, fmt.Sprintf("seed %d", seed)) {
			return
		}
		rs, _ := run(ns, seq)
		for i, r := range rs {
			outcomes[outcome(seq[i], r)]++
		}
	}
	t.Logf("%d sequences, %d operations, 0 divergences, in %v", n, ops, time.Since(start).Round(time.Millisecond))
	keys := slices.Sorted(maps.Keys(outcomes))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-28s %d\n", k, outcomes[k])
	}
	t.Logf("outcomes:\n%s", b.String())
}

// outcome names what an operation came to, for the coverage report.
func outcome(o op, r result) string {
	name := kindNames[o.kind]
	if o.kind == opCtl || o.kind == opInfo {
		name += " " + cmdName(o.cmd)
	}
	switch {
	case r.block:
		return name + " would block"
	case r.errno != 0:
		return name + " " + errnoName(r.errno)
	}
	return name + " ok"
}

// check compares one sequence and reports a divergence, shrunk.
func check(t *testing.T, kern *kernelSide, ns *nsSide, seq []op, label string) bool {
	t.Helper()
	at, kr, nr, err := compare(kern, ns, seq)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if at < 0 {
		return true
	}
	small := shrink(kern, ns, seq[:at+1])
	at, kr, nr, _ = compare(kern, ns, small)
	t.Errorf("%s: divergence at operation %d of the shrunk sequence:\n%s\n  kernel: %s\n  msgq:   %s",
		label, at, listing(small), kr, nr)
	return false
}

// shrink removes operations from a failing sequence while it still fails
// (the delta-debugging idea, one operation at a time to a fixed point).
func shrink(kern *kernelSide, ns *nsSide, seq []op) []op {
	fails := func(s []op) bool { at, _, _, err := compare(kern, ns, s); return err == nil && at >= 0 }
	for changed := true; changed; {
		changed = false
		for i := len(seq) - 1; i >= 0; i-- {
			cand := append(append([]op(nil), seq[:i]...), seq[i+1:]...)
			if len(cand) > 0 && fails(cand) {
				seq, changed = cand, true
			}
		}
	}
	return seq
}

func listing(seq []op) string {
	var b strings.Builder
	for i, o := range seq {
		fmt.Fprintf(&b, "  %2d %s\n", i, o)
	}
	return b.String()
}

// FuzzDifferential drives the same executor from fuzz input: each input
// decodes to a sequence of operations.
func FuzzDifferential(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 1, 0, 0, 1, 1, 2, 3, 4, 2, 0, 1, 2, 3, 4})
	f.Add([]byte("msgget msgsnd msgrcv msgctl IPC_SET"))
	f.Add([]byte{4, 1, 3, 7, 2, 2, 2, 5, 5, 5, 5, 0, 9, 9, 9, 1, 1, 3, 3, 3, 3, 8, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		kern, ns := sides(t)
		c := &bytesChooser{b: data}
		var seq []op
		for len(c.b) > 0 && len(seq) < 64 {
			seq = append(seq, genOp(c))
		}
		check(t, kern, ns, seq, fmt.Sprintf("input %x", data))
	})
}
