//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/sysvmsg/msgq"
)

// The msgq side of the blocking differential: one goroutine per call, on a
// fresh Namespace per script, each caller a view with its identity and a
// PID of its own. A step has settled when its call has returned or is
// listed by Namespace.Blocked (waited for with WaitBlocked, no polling),
// and every caller no longer listed has returned.

// callerPID is caller c's Cred.PID on the msgq side.
func callerPID(c int) int32 { return 3_000_000 + int32(c) }

type nexec struct {
	processCaps msgq.Caps
	root        *msgq.Namespace
	views       []*msgq.Namespace
	res         []chan bres
	qid         int
	out         map[int]bool
}

func newNexec(processCaps msgq.Caps) *nexec { return &nexec{processCaps: processCaps} }

func (e *nexec) start(sc *bscript) error {
	e.root = msgq.NewNamespace(msgq.WithLimits(blockLimits), msgq.WithCred(idents[0].cred(e.processCaps)))
	e.views, e.res, e.out = nil, nil, map[int]bool{}
	for i, c := range sc.callers {
		cred := idents[c].cred(e.processCaps)
		cred.PID = callerPID(i)
		e.views = append(e.views, e.root.As(cred))
		e.res = append(e.res, make(chan bres, 1))
	}
	var err error
	e.qid, err = e.views[0].Msgget(msgq.IPC_PRIVATE, msgq.IPC_CREAT|int(sc.mode))
	return err
}

func (e *nexec) issue(i int, st bstep, setBuf *msgq.MsqidDS) {
	v, qid, res := e.views[st.who], e.qid, e.res[st.who]
	e.out[st.who] = true
	go func() {
		var r bres
		switch st.kind {
		case bSnd:
			r = bresOf(v.Msgsnd(qid, st.typ, text(i, st.size), st.flags))
		case bRcv:
			buf := make([]byte, st.size)
			n, mtype, err := v.Msgrcv(qid, buf, st.typ, st.flags)
			if r = bresOf(err); err == nil {
				r.n, r.mtype, r.text = n, mtype, string(buf[:n])
			}
		case bSet:
			_, err := v.Msgctl(qid, msgq.IPC_SET, setBuf)
			r = bresOf(err)
		case bRmid:
			_, err := v.Msgctl(qid, msgq.IPC_RMID, nil)
			r = bresOf(err)
		case bStat:
			var ds msgq.MsqidDS
			_, err := v.Msgctl(qid, msgq.IPC_STAT, &ds)
			if r = bresOf(err); err == nil {
				r.ds = &ds
			}
		}
		res <- r
	}()
}

func (e *nexec) settle(who int, _ map[int]bool) (*bres, map[int]bres, error) {
	ctx, cancel := context.WithTimeout(context.Background(), settleBound)
	defer cancel()
	others := len(e.out) - 1 // callers blocked before the step, all on the one queue
	waited := make(chan error, 1)
	root, qid := e.root, e.qid // the goroutine may outlive the script
	go func() { waited <- root.WaitBlocked(ctx, qid, others+1) }()
	var self *bres
	select {
	case r := <-e.res[who]:
		self = &r
		delete(e.out, who)
	case err := <-waited:
		if err != nil { // the queue is gone (or was never there): the call returns
			select {
			case r := <-e.res[who]:
				self = &r
				delete(e.out, who)
			case <-ctx.Done():
				return nil, nil, fmt.Errorf("msgq side: c%d neither returned nor blocked (%v)", who, err)
			}
		}
	}
	cancel()
	listed := e.blockedCallers()
	if self == nil && !listed[who] {
		return nil, nil, fmt.Errorf("msgq side: WaitBlocked saw c%d block, Blocked does not list it", who)
	}
	woken := map[int]bres{}
	timeout := time.After(settleBound)
	for c := range e.out {
		if listed[c] {
			continue
		}
		select {
		case r := <-e.res[c]:
			woken[c] = r
			delete(e.out, c)
		case <-timeout:
			return nil, nil, fmt.Errorf("msgq side: c%d is not blocked and has not returned", c)
		}
	}
	return self, woken, nil
}

// blockedCallers are the callers Blocked lists, known by their PIDs.
func (e *nexec) blockedCallers() map[int]bool {
	m := map[int]bool{}
	for _, c := range e.root.Blocked() {
		m[int(c.Cred.PID-callerPID(0))] = true
	}
	return m
}

// waiters are the calls Blocked lists on the queue, as the race rules
// read them: senders in the order they will be let through, receivers in
// the order they started waiting.
func (e *nexec) waiters() (senders, receivers []bwait) {
	for _, c := range e.root.Blocked() {
		w := bwait{who: int(c.Cred.PID - callerPID(0)), typ: c.Type, size: c.Size, flags: c.Flags}
		if c.Op == "msgsnd" {
			senders = append(senders, w)
		} else {
			receivers = append(receivers, w)
		}
	}
	return senders, receivers
}

func (e *nexec) rootStat() (msgq.MsqidDS, error) {
	var ds msgq.MsqidDS
	_, err := e.root.Msgctl(e.qid, msgq.IPC_STAT, &ds)
	return ds, err
}

func (e *nexec) contents(qnum uint64) ([]qmsg, error) { return scan(e.root, e.qid, qnum) }

// norm maps msgq's msg_lspid and msg_lrpid, a caller's PID, to the tokens
// Linux's values map to: lspid to the process id; lrpid to the caller's
// thread id if its last receive was a message handed to it while it
// waited, else to the process id.
func (e *nexec) norm(ds msgq.MsqidDS, handover map[int]bool) msgq.MsqidDS {
	caller := func(p int32) (int, bool) {
		c := int(p - callerPID(0))
		return c, c >= 0 && c < len(e.views)
	}
	if _, ok := caller(ds.Lspid); ok {
		ds.Lspid = pidProcess
	}
	if c, ok := caller(ds.Lrpid); ok {
		ds.Lrpid = pidProcess
		if handover[c] {
			ds.Lrpid = pidThread - int32(c)
		}
	}
	return *normalize(ds)
}

func (e *nexec) stop() error {
	e.root.Msgctl(e.qid, msgq.IPC_RMID, nil)
	timeout := time.After(settleBound)
	for c := range e.out {
		select {
		case <-e.res[c]:
		case <-timeout:
			return fmt.Errorf("msgq side: c%d still blocked after IPC_RMID", c)
		}
	}
	e.out = map[int]bool{}
	return nil
}
