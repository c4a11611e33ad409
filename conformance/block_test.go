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

	"github.com/sysvmsg/msgq"
)

// The blocking differential: scripts in which calls wait (see
// block_script_test.go for the language) run on the kernel and on msgq,
// comparing every call's result, the result of every caller a step woke,
// and at the end the queue's IPC_STAT, its messages (read with MSG_COPY)
// and which callers still wait.

func blockSides(t testing.TB) bsides {
	t.Helper()
	if reason := skipReason(); reason != "" {
		t.Skip(reason)
	}
	return bsides{kern: newKexec(), ns: newNexec(kernelThread().processCaps())}
}

// blockScripts is how many random scripts TestBlockDifferential runs: 300
// by default (CI), MSGQ_BLOCK_SCRIPTS to change it, 100 under -short.
func blockScripts(t *testing.T) int { return envCount(t, "MSGQ_BLOCK_SCRIPTS", 300, 100) }

// blockScriptLen is the number of steps the generator aims for.
const blockScriptLen = 24

// TestBlockDifferential runs random scripts on the kernel and on msgq. A
// divergence prints the seed and the script shrunk to the steps that still
// diverge, in the script language. MSGQ_BLOCK_SEED=n replays seed n alone;
// MSGQ_BLOCK_SCRIPT=file runs the script in file.
func TestBlockDifferential(t *testing.T) {
	s := blockSides(t)
	if f := os.Getenv("MSGQ_BLOCK_SCRIPT"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := parseScript(string(b))
		if err != nil {
			t.Fatal(err)
		}
		d, inv, err := s.compareScript(sc)
		if err != nil || inv != "" || d != "" {
			t.Fatalf("err %v; not comparable: %q; divergence %s", err, inv, d)
		}
		return
	}
	first, n := uint64(1), blockScripts(t)
	racyDraws = 0
	if v := os.Getenv("MSGQ_BLOCK_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		first, n = seed, 1
	}
	start := time.Now()
	var steps, unsettled int
	cov := map[string]int{}
	for seed := first; seed < first+uint64(n); seed++ {
		sc, err := genBlockScript(seed, s.ns.processCaps, blockScriptLen)
		if err != nil {
			t.Fatalf("seed %d: generating: %v", seed, err)
		}
		steps += len(sc.steps)
		d, inv, err := s.compareScript(sc)
		// msgq is deterministic and so is Linux once every step has
		// settled; a divergence that does not come back when the script is
		// run again is the kernel side judging a thread asleep too early
		// (seen once in a CI run under -race on a loaded machine). Report
		// only a divergence that every one of three runs shows.
		for retry := 0; retry < 2 && err == nil && inv == "" && d != ""; retry++ {
			if d2, inv2, err2 := s.compareScript(sc); err2 == nil && inv2 == "" && d2 == "" {
				t.Logf("seed %d: diverged once, agreed when run again (a step that had not settled): %s", seed, d)
				unsettled++
				d = ""
			}
		}
		switch {
		case err != nil:
			t.Fatalf("seed %d: %v\nscript:\n%s", seed, err, sc)
		case inv != "":
			t.Fatalf("seed %d: the generator made a script Linux does not fix: %s\nscript:\n%s", seed, inv, sc)
		case d != "":
			small := s.shrinkScript(sc)
			d, _, _ = s.compareScript(small)
			t.Fatalf("seed %d (MSGQ_BLOCK_SEED=%d): divergence %s\nshrunk script (save to a file, run with MSGQ_BLOCK_SCRIPT=file):\n%s",
				seed, seed, d, small)
		}
		s.coverage(sc, cov)
	}
	t.Logf("%d scripts, %d steps, 0 divergences, in %v (%d racy steps drawn and replaced, %d scripts run again after an unsettled step)",
		n, steps, time.Since(start).Round(time.Millisecond), racyDraws, unsettled)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cov)) {
		fmt.Fprintf(&b, "  %-34s %d\n", k, cov[k])
	}
	t.Logf("outcomes:\n%s", b.String())
}

// coverage counts what the steps of sc came to on msgq.
func (s bsides) coverage(sc *bscript, cov map[string]int) {
	tr, err := runScript(s.ns, sc, nil)
	if err != nil {
		return
	}
	for i, o := range tr.steps {
		name := bkindNames[sc.steps[i].kind]
		if sc.steps[i].flags&msgq.MSG_COPY != 0 {
			name = "copy"
		}
		switch {
		case o.blocked:
			cov[name+" waits"]++
		case o.self.errno != 0:
			cov[name+" "+errnoName(o.self.errno)]++
		default:
			cov[name+" ok"]++
		}
		for _, r := range o.woken {
			if r.errno != 0 {
				cov["woken "+errnoName(r.errno)]++
			} else {
				cov["woken ok"]++
			}
		}
	}
}

// genBlockScript draws a script from seed. It runs the script on msgq as
// it draws, so that each step can be drawn for the state it meets (sizes
// around the free room, callers that are not waiting), and it replaces a
// step whose outcome Linux leaves open (racy) by another draw.
func genBlockScript(seed uint64, processCaps msgq.Caps, n int) (*bscript, error) {
	c := prng{rand.New(rand.NewPCG(seed, 0x626c6f636b))}
	sc := &bscript{mode: pick[uint16](c, 0o666, 0o666, 0o666, 0o660, 0o644, 0o622, 0o600)}
	sc.callers = []int{pick(c, 0, 1, 1)}
	for range 1 + c.intn(maxCallers-1) {
		sc.callers = append(sc.callers, genWho(c))
	}
	e := newNexec(processCaps)
	defer e.stop()
	r, err := newBrun(e, sc)
	if err != nil {
		return nil, err
	}
	if c.intn(2) == 0 { // start small, so that senders wait early
		sc.steps = append(sc.steps, bstep{who: 0, kind: bSet, mode: sc.mode, qbytes: pick[uint64](c, 2, 3, 10, 20, 40, 60)})
		if _, err := r.step(0); err != nil {
			return nil, err
		}
	}
	gone := 0 // steps drawn since the queue went
	for len(sc.steps) < n && gone < 2 {
		accepted := false
		for try := 0; try < 4 && !accepted; try++ {
			st, ok := genBlockStep(c, r)
			if !ok {
				break
			}
			sc.steps = append(sc.steps, st)
			if accepted, err = r.step(len(sc.steps) - 1); err != nil {
				return nil, err
			}
			if accepted {
				break
			}
			// Racy: take the step back, by running the rest again.
			racyDraws++
			sc.steps = sc.steps[:len(sc.steps)-1]
			e.stop()
			if r, err = newBrun(e, sc); err != nil {
				return nil, err
			}
			for i := range sc.steps {
				if ok, err := r.step(i); err != nil || !ok {
					return nil, fmt.Errorf("replaying step %d: %v %s", i, err, r.invalid)
				}
			}
		}
		if !accepted {
			break
		}
		if _, err := e.rootStat(); err != nil {
			gone++
		}
	}
	return sc, nil
}

// racyDraws counts the steps genBlockScript drew and replaced because
// their outcome is one Linux leaves open.
var racyDraws int

// genBlockStep draws a step for a caller that is not waiting, or returns
// false if every caller waits.
func genBlockStep(c chooser, r *brun) (bstep, bool) {
	var free []int
	for i := range r.sc.callers {
		if _, busy := r.out[i]; !busy {
			free = append(free, i)
		}
	}
	if len(free) == 0 {
		return bstep{}, false
	}
	st := bstep{who: free[c.intn(len(free))]}
	state := r.ns.raceState()
	room := int(state.ds.Qbytes) - int(state.ds.Cbytes)
	// Sizes around the free room, within MsgMax but for one in 25.
	size := func() int {
		if c.intn(25) == 0 {
			return blockLimits.MsgMax + 1
		}
		v := pick(c, 0, 1, room-1, room, room, room+1, room+2, c.intn(blockLimits.MsgMax+1), blockLimits.MsgMax)
		return max(0, min(v, blockLimits.MsgMax))
	}
	// The last caller not waiting does not wait either, so that the
	// script can go on.
	nowait := func(oneIn int) int {
		if len(free) == 1 || c.intn(oneIn) == 0 {
			return msgq.IPC_NOWAIT
		}
		return 0
	}
	switch k := c.intn(100); {
	case k < 36:
		st.kind = bSnd
		st.typ = pick[int64](c, 1, 1, 2, 2, 3, 5, 1<<63-1)
		if c.intn(15) == 0 {
			st.typ = pick[int64](c, 0, -1, -1<<63) // EINVAL
		}
		st.size = size()
		st.flags = nowait(3)
		if c.intn(20) == 0 {
			st.flags |= msgq.MSG_NOERROR // msgsnd ignores it
		}
	case k < 72:
		st.kind = bRcv
		st.typ = pick(c, msgtyp...)
		st.size = pick(c, 0, 1, 2, 4, 8, 16, 32, blockLimits.MsgMax, blockLimits.MsgMax)
		st.flags = nowait(3)
		if c.intn(4) == 0 {
			st.flags |= msgq.MSG_NOERROR
		}
		if c.intn(5) == 0 {
			st.flags |= msgq.MSG_EXCEPT
		}
	case k < 78:
		st.kind = bRcv
		st.typ = int64(c.intn(int(state.ds.Qnum) + 2))
		st.size = pick(c, 0, 4, 16, blockLimits.MsgMax)
		st.flags = msgq.MSG_COPY | msgq.IPC_NOWAIT
		if c.intn(10) == 0 {
			st.flags = pick(c, msgq.MSG_COPY, msgq.MSG_COPY|msgq.MSG_EXCEPT|msgq.IPC_NOWAIT, msgq.MSG_COPY|msgq.MSG_NOERROR|msgq.IPC_NOWAIT)
		}
	case k < 90:
		st.kind = bSet
		st.mode = pick[uint16](c, 0o666, 0o666, 0o660, 0o644, 0o622, 0o606, 0o600, 0o000, 0o044)
		cb := int(state.ds.Cbytes)
		st.qbytes = uint64(max(0, pick(c, cb, cb+1, cb+size(), 0, 1, 2, 3, 10, 40, 64, 128, 129)))
		if c.intn(5) == 0 {
			st.setUID, st.uid = true, pick[uint32](c, 0, 1000, 1001, 3000)
		}
		if c.intn(5) == 0 {
			st.setGID, st.gid = true, pick[uint32](c, 0, 1000, 1001, 3000)
		}
	case k < 97:
		st.kind = bStat
	default:
		st.kind = bRmid
	}
	return st, true
}

// TestBlockScriptLanguage: a script printed reads back as the same script.
func TestBlockScriptLanguage(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		c := prng{rand.New(rand.NewPCG(seed, 1))}
		sc := &bscript{callers: []int{0, 1, 2, 3}, mode: 0o640}
		for range 30 {
			st := bstep{who: c.intn(4), kind: bkind(c.intn(5)), typ: pick(c, msgtyp...), size: c.intn(60),
				flags: pick(c, 0, msgq.IPC_NOWAIT, msgq.MSG_COPY|msgq.IPC_NOWAIT, msgq.MSG_EXCEPT|msgq.MSG_NOERROR, 1<<20)}
			switch st.kind {
			case bSet:
				st = bstep{who: st.who, kind: bSet, mode: 0o7777, qbytes: 1<<32 + 5, setGID: true, gid: 1<<32 - 1}
				if c.intn(2) == 0 {
					st.setUID, st.uid = true, 7
				}
			case bRmid, bStat:
				st = bstep{who: st.who, kind: st.kind}
			}
			sc.steps = append(sc.steps, st)
		}
		back, err := parseScript(sc.String())
		if err != nil {
			t.Fatalf("%v\n%s", err, sc)
		}
		if back.String() != sc.String() || !slices.Equal(back.callers, sc.callers) || !slices.Equal(back.steps, sc.steps) {
			t.Fatalf("round trip changed the script:\n%s\nto\n%s", sc, back)
		}
	}
	for _, bad := range []string{"", "callers nobody", "callers root\nc1 snd 1 1", "callers root\nc0 snd 1", "callers root\nc0 fly", "callers root\nc0 rcv 1 2 SOMETIMES", "callers root\nc0 set mode=x"} {
		if _, err := parseScript(bad); err == nil {
			t.Errorf("parseScript(%q) took it", bad)
		}
	}
}
