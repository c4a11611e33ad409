//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sysvmsg/msgq"
)

// bexec is one side of the blocking differential.
type bexec interface {
	// start makes a fresh namespace, the script's callers and its queue.
	start(sc *bscript) error
	// issue starts step i on its caller; setBuf is IPC_SET's buffer.
	issue(i int, st bstep, setBuf *msgq.MsqidDS)
	// settle waits for the step to settle (see kexec.settle) and returns
	// the caller's result, nil if it waits, and those of the callers the
	// step completed. expect are the callers the other side completed.
	settle(who int, expect map[int]bool) (*bres, map[int]bres, error)
	rootStat() (msgq.MsqidDS, error)
	contents(qnum uint64) ([]qmsg, error)
	// norm reduces an IPC_STAT to what both sides must agree on, given
	// which callers' last receive was a hand-over.
	norm(ds msgq.MsqidDS, handover map[int]bool) msgq.MsqidDS
	// stop ends every call still blocked.
	stop() error
}

// bstepOut is what one step came to.
type bstepOut struct {
	blocked bool         // the step's call waits
	self    bres         // its result, if it returned
	woken   map[int]bres // the callers it completed, by caller
}

func (o bstepOut) String() string {
	var b strings.Builder
	if o.blocked {
		b.WriteString("waits")
	} else {
		b.WriteString(o.self.String())
	}
	for _, c := range slices.Sorted(maps.Keys(o.woken)) {
		fmt.Fprintf(&b, "; woke c%d: %s", c, o.woken[c])
	}
	return b.String()
}

func (o bstepOut) equal(p bstepOut) bool {
	if o.blocked != p.blocked || !o.self.equal(p.self) || len(o.woken) != len(p.woken) {
		return false
	}
	for c, r := range o.woken {
		if q, ok := p.woken[c]; !ok || !r.equal(q) {
			return false
		}
	}
	return true
}

// brun runs one script on one side, step by step. On the msgq side (ns
// set) it also checks each step against the race rules (racy) and stops
// at the first step whose outcome Linux leaves open.
type brun struct {
	e         bexec
	ns        *nexec
	sc        *bscript
	out       map[int]bkind // callers waiting, and in what
	handover  map[int]bool  // whether each caller's last receive was a hand-over
	unordered map[int]bool  // waiting receivers whose order IPC_SET left open
	steps     []bstepOut
	invalid   string     // why the script stops being comparable at step len(steps)
	expect    []bstepOut // kernel side: what the steps came to on msgq
}

func newBrun(e bexec, sc *bscript) (*brun, error) {
	r := &brun{e: e, sc: sc, out: map[int]bkind{}, handover: map[int]bool{}, unordered: map[int]bool{}}
	r.ns, _ = e.(*nexec)
	return r, e.start(sc)
}

// step runs step i. It returns false, with r.invalid set, if the script
// cannot go on: the caller is still waiting, or (msgq side) the step is
// racy.
func (r *brun) step(i int) (bool, error) {
	st := r.sc.steps[i]
	if _, busy := r.out[st.who]; busy {
		r.invalid = fmt.Sprintf("step %d: c%d is still waiting", i, st.who)
		return false, nil
	}
	var pre raceState
	if r.ns != nil {
		pre = r.ns.raceState()
	}
	var setBuf *msgq.MsqidDS
	if st.kind == bSet {
		ds, _ := r.e.rootStat() // as a program starts from IPC_STAT; zero if the queue is gone
		ds.Perm.Mode, ds.Qbytes = st.mode, st.qbytes
		if st.setUID {
			ds.Perm.UID = st.uid
		}
		if st.setGID {
			ds.Perm.GID = st.gid
		}
		setBuf = &ds
	}
	r.e.issue(i, st, setBuf)
	expect := map[int]bool{}
	if i < len(r.expect) {
		for c := range r.expect[i].woken {
			expect[c] = true
		}
		if !r.expect[i].blocked {
			expect[st.who] = true
		}
	}
	self, woken, err := r.e.settle(st.who, expect)
	if err != nil {
		return false, fmt.Errorf("step %d (%s): %w", i, st, err)
	}
	o := bstepOut{woken: woken}
	if self == nil {
		o.blocked = true
		r.out[st.who] = st.kind
	} else {
		o.self = *self
		if st.kind == bRcv && st.flags&msgq.MSG_COPY == 0 && self.errno == 0 {
			r.handover[st.who] = false
		}
		if self.ds != nil {
			ds := r.e.norm(*self.ds, r.handover)
			o.self.ds = &ds
		}
	}
	var post raceState
	if r.ns != nil {
		post = r.ns.raceState()
		if why := racy(pre, post, st, o, r.unordered); why != "" {
			r.invalid = fmt.Sprintf("step %d (%s): %s", i, st, why)
			return false, nil
		}
	}
	for c, res := range woken {
		if r.out[c] == bRcv && res.errno == 0 {
			r.handover[c] = true
		}
		delete(r.out, c)
		delete(r.unordered, c)
	}
	if st.kind == bSet && self != nil && self.errno == 0 {
		for _, w := range post.receivers {
			r.unordered[w.who] = true
		}
	}
	r.steps = append(r.steps, o)
	return true, nil
}

// final is the state a script leaves: the queue's IPC_STAT and messages,
// and which callers still wait.
func (r *brun) final() (string, error) {
	var b strings.Builder
	ds, err := r.e.rootStat()
	if err != nil {
		fmt.Fprintf(&b, "queue: %v\n", bresOf(err))
	} else {
		msgs, err := r.e.contents(ds.Qnum)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "queue: %s\nmessages:", dsString(r.e.norm(ds, r.handover)))
		for _, m := range msgs {
			fmt.Fprintf(&b, " %d:%x", m.mtype, m.text)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "waiting: %v\n", slices.Sorted(maps.Keys(r.out)))
	return b.String(), nil
}

// btrace is a whole run: every step's outcome and the final state.
type btrace struct {
	steps   []bstepOut
	final   string
	invalid string
}

// runScript runs sc on one side, the steps up to the first that cannot run.
func runScript(e bexec, sc *bscript, expect *btrace) (*btrace, error) {
	r, err := newBrun(e, sc)
	if err != nil {
		e.stop()
		return nil, err
	}
	if expect != nil {
		r.expect = expect.steps
	}
	defer e.stop()
	for i := range sc.steps {
		ok, err := r.step(i)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
	}
	if r.invalid != "" {
		return &btrace{steps: r.steps, invalid: r.invalid}, nil
	}
	final, err := r.final()
	if err != nil {
		return nil, err
	}
	if err := e.stop(); err != nil {
		return nil, err
	}
	return &btrace{steps: r.steps, final: final}, nil
}

// bsides are the two sides.
type bsides struct {
	kern *kexec
	ns   *nexec
}

// compareScript runs sc on msgq and, if every step there is one whose
// outcome Linux fixes, on the kernel, and returns the first divergence
// ("" for none). invalid says why sc cannot be compared at all.
func (s bsides) compareScript(sc *bscript) (divergence, invalid string, err error) {
	nt, err := runScript(s.ns, sc, nil)
	if err != nil {
		return "", "", err
	}
	if nt.invalid != "" {
		return "", nt.invalid, nil
	}
	var kt *btrace
	for try := 0; ; try++ {
		kt, err = runScript(s.kern, sc, nt)
		if err != nil {
			return "", "", err
		}
		if !s.kern.disturbed {
			break
		}
		if try == 3 {
			return "", "", fmt.Errorf("kernel side: a signal interrupted a blocked call in each of 4 runs")
		}
	}
	for i := range kt.steps {
		if !kt.steps[i].equal(nt.steps[i]) {
			return fmt.Sprintf("at step %d (%s):\n  kernel: %s\n  msgq:   %s", i, sc.steps[i], kt.steps[i], nt.steps[i]), "", nil
		}
	}
	if kt.invalid != "" { // a caller msgq had completed still waits in the kernel
		return fmt.Sprintf("at %s on the kernel, not on msgq", kt.invalid), "", nil
	}
	if kt.final != nt.final {
		var b strings.Builder
		for i, o := range kt.steps {
			fmt.Fprintf(&b, "  %2d %-40s %s\n", i, sc.steps[i], o)
		}
		return fmt.Sprintf("in the final state:\n  kernel: %s  msgq:   %s  after (both sides):\n%s", indent(kt.final), indent(nt.final), b.String()), "", nil
	}
	return "", "", nil
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n          ") + "\n"
}

// shrinkScript removes steps from a diverging script while it still
// diverges and stays comparable, then the callers left with no step.
func (s bsides) shrinkScript(sc *bscript) *bscript {
	fails := func(c *bscript) bool {
		d, inv, err := s.compareScript(c)
		return err == nil && inv == "" && d != ""
	}
	for changed := true; changed; {
		changed = false
		for i := len(sc.steps) - 1; i >= 0; i-- {
			cand := &bscript{callers: sc.callers, mode: sc.mode, steps: slices.Delete(slices.Clone(sc.steps), i, i+1)}
			if fails(cand) {
				sc, changed = cand, true
			}
		}
	}
	if cand := dropIdleCallers(sc); fails(cand) {
		sc = cand
	}
	return sc
}

// dropIdleCallers removes the callers no step names, but for c0, which
// creates the queue, and renumbers the rest.
func dropIdleCallers(sc *bscript) *bscript {
	used := map[int]bool{0: true}
	for _, st := range sc.steps {
		used[st.who] = true
	}
	out := &bscript{mode: sc.mode}
	renum := map[int]int{}
	for i, c := range sc.callers {
		if used[i] {
			renum[i] = len(out.callers)
			out.callers = append(out.callers, c)
		}
	}
	for _, st := range sc.steps {
		st.who = renum[st.who]
		out.steps = append(out.steps, st)
	}
	return out
}

// bwait is a waiting call as the race rules read it.
type bwait struct {
	who   int
	typ   int64 // a sender's mtype, a receiver's msgtyp
	size  int
	flags int
}

// raceState is what the race rules need to know of the queue before and
// after a step (msgq side).
type raceState struct {
	ok        bool // the queue exists
	ds        msgq.MsqidDS
	msgs      []qmsg
	senders   []bwait
	receivers []bwait
}

func (e *nexec) raceState() raceState {
	ds, err := e.rootStat()
	if err != nil {
		return raceState{}
	}
	msgs, err := e.contents(ds.Qnum)
	if err != nil {
		return raceState{}
	}
	s := raceState{ok: true, ds: ds, msgs: msgs}
	s.senders, s.receivers = e.waiters()
	return s
}

// racy says why the outcome of step st, as msgq ran it from state pre, is
// one Linux does not fix, or "". Linux leaves three things open, and a
// script is compared only up to the first step that meets one:
//
//   - Room made by a receive or by IPC_SET wakes every blocked sender whose
//     message fits on its own (ss_wakeup); each retries when its thread
//     runs, and those that no longer fit sleep again at the tail. So if two
//     or more fit, which of them get through, in what order, is open.
//     (One that fits is deterministic once the step settles; the harness
//     waits for that, so a woken sender never races with the next step.)
//   - IPC_SET wakes every blocked receiver (expunge_all with EAGAIN); each
//     re-checks its permission and queues again at the tail as its thread
//     runs. So after IPC_SET the receivers' order is open: a message two
//     of them would take (or one takes and another gets E2BIG for) is
//     racy, and a sender IPC_SET lets through races with the receivers
//     re-queueing (it may hand its message to one that just lost read
//     permission, or queue it for one to take itself, which Linux records
//     in msg_lrpid as the process id, not the thread's).
//   - Nothing else: hand-over to the oldest matching receiver, E2BIG and
//     passing on, MSG_NOERROR, EIDRM for all, EACCES for a sender let
//     through, MSG_COPY and IPC_NOWAIT beside sleepers are all fixed.
func racy(pre, post raceState, st bstep, o bstepOut, unordered map[int]bool) string {
	if !pre.ok {
		return ""
	}
	wakes := func(cbytes, qnum, qbytes uint64) []bwait {
		var s []bwait
		for _, w := range pre.senders {
			if uint64(w.size)+cbytes <= qbytes && 1+qnum <= qbytes {
				s = append(s, w)
			}
		}
		return s
	}
	deliver := func(mtype int64, size int) string {
		var m []int
		accepted := false
		for _, w := range pre.receivers {
			if unordered[w.who] && selectorMatches(mtype, w.typ, w.flags) {
				m = append(m, w.who)
				accepted = accepted || w.flags&msgq.MSG_NOERROR != 0 || size <= w.size
			}
		}
		if len(m) >= 2 && accepted {
			return fmt.Sprintf("a message of type %d suits receivers %v, whose order IPC_SET left open", mtype, m)
		}
		return ""
	}
	several := func(s []bwait) string {
		var who []int
		for _, w := range s {
			who = append(who, w.who)
		}
		return fmt.Sprintf("senders %v fit at once: Linux wakes them all and they race", who)
	}
	if o.blocked || o.self.errno != 0 {
		return ""
	}
	switch st.kind {
	case bSnd:
		return deliver(st.typ, st.size)
	case bRcv:
		if st.flags&msgq.MSG_COPY != 0 {
			return ""
		}
		k := selectMessage(pre.msgs, st.typ, st.flags)
		if k < 0 {
			return "" // msgq took no message: the kernel comparison reports it
		}
		s := wakes(pre.ds.Cbytes-uint64(len(pre.msgs[k].text)), pre.ds.Qnum-1, pre.ds.Qbytes)
		switch len(s) {
		case 0:
			return ""
		case 1:
			return deliver(s[0].typ, s[0].size)
		}
		return several(s)
	case bSet:
		if !post.ok {
			return ""
		}
		s := wakes(pre.ds.Cbytes, pre.ds.Qnum, post.ds.Qbytes)
		switch len(s) {
		case 0:
			return ""
		case 1:
			for _, w := range pre.receivers {
				if selectorMatches(s[0].typ, w.typ, w.flags) {
					return fmt.Sprintf("IPC_SET lets sender c%d through while receiver c%d, which its message suits, queues again", s[0].who, w.who)
				}
			}
			return ""
		}
		return several(s)
	}
	return ""
}
