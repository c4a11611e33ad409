//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/kernel"
)

var kernelIPC = kernel.New()

// result is what one call gave, in a form that compares equal between the
// two sides when they agree.
type result struct {
	ret   int
	errno syscall.Errno
	block bool // a call without IPC_NOWAIT that would have waited
	mtype int64
	text  string
	ds    *msgq.MsqidDS // times reduced to set or not
	info  *msgq.MsgInfo
}

func (r result) String() string {
	var b strings.Builder
	switch {
	case r.block:
		b.WriteString("would block")
	case r.errno != 0:
		fmt.Fprintf(&b, "%d %s", r.ret, errnoName(r.errno))
	default:
		fmt.Fprintf(&b, "%d", r.ret)
	}
	if r.mtype != 0 || r.text != "" {
		fmt.Fprintf(&b, " type=%d text=%x", r.mtype, r.text)
	}
	if r.ds != nil {
		fmt.Fprintf(&b, " %+v", *r.ds)
	}
	if r.info != nil {
		fmt.Fprintf(&b, " %+v", *r.info)
	}
	return b.String()
}

func errnoName(e syscall.Errno) string {
	for _, n := range []struct {
		e    syscall.Errno
		name string
	}{{syscall.EINVAL, "EINVAL"}, {syscall.EACCES, "EACCES"}, {syscall.EPERM, "EPERM"}, {syscall.EEXIST, "EEXIST"},
		{syscall.ENOENT, "ENOENT"}, {syscall.ENOSPC, "ENOSPC"}, {syscall.EAGAIN, "EAGAIN"}, {syscall.ENOMSG, "ENOMSG"},
		{syscall.E2BIG, "E2BIG"}, {syscall.EIDRM, "EIDRM"}, {syscall.EFAULT, "EFAULT"}} {
		if n.e == e {
			return n.name
		}
	}
	return e.Error()
}

// side is one implementation under comparison: the kernel or a namespace.
type side interface {
	// reset starts a fresh namespace with the test's limits.
	reset() error
	// call makes o, the i-th operation, on the queue id, as idents[o.who].
	call(i int, o op, id int) result
}

// run runs ops on s and returns every result.
func run(s side, ops []op) ([]result, error) {
	if err := s.reset(); err != nil {
		return nil, err
	}
	var made []int // ids of the queues made, in order
	seen := map[int]bool{}
	out := make([]result, len(ops))
	for i, o := range ops {
		id := o.id
		if !o.lit {
			id = 0
			if len(made) > 0 {
				id = made[o.q%len(made)]
			}
			if o.index {
				id = id&(1<<15-1) + o.id
			}
		}
		r := s.call(i, o, id)
		if o.kind == opGet && r.errno == 0 && !seen[r.ret] {
			seen[r.ret] = true
			made = append(made, r.ret)
		}
		out[i] = r
	}
	return out, nil
}

// syscallSide makes the calls through msgq.IPC; the kernel side and the
// namespace side differ only in how they switch identity and start afresh.
type syscallSide struct {
	ipc func(who int) msgq.IPC
	ns  func() *msgq.Namespace // the namespace side's namespace, or nil on the kernel side
}

func (s *syscallSide) call(i int, o op, id int) result {
	if o.kind == opSet {
		return s.set(o, id)
	}
	ipc := s.ipc(o.who)
	switch o.kind {
	case opGet:
		ret, err := ipc.Msgget(o.key, o.flags)
		return res(ret, err)
	case opSnd:
		if o.block {
			return s.blocking(ipc, o, id, func(q *msgq.Queue) result {
				return res(0, q.Send(cancelled, o.mtype, text(i, o.size), o.flags))
			}, func() result {
				return res(0, ipc.Msgsnd(id, o.mtype, text(i, o.size), o.flags|msgq.IPC_NOWAIT))
			})
		}
		return res(0, ipc.Msgsnd(id, o.mtype, text(i, o.size), o.flags))
	case opRcv:
		buf := make([]byte, o.size)
		recv := func(n int, mtype int64, err error) result {
			r := res(n, err)
			if err == nil {
				r.mtype, r.text = mtype, string(buf[:n])
			}
			return r
		}
		if o.block && o.flags&msgq.MSG_COPY == 0 {
			return s.blocking(ipc, o, id, func(q *msgq.Queue) result {
				return recv(q.RecvInto(cancelled, buf, o.msgtyp, o.flags))
			}, func() result {
				return recv(ipc.Msgrcv(id, buf, o.msgtyp, o.flags|msgq.IPC_NOWAIT))
			})
		}
		return recv(ipc.Msgrcv(id, buf, o.msgtyp, o.flags))
	case opCtl:
		var ds *msgq.MsqidDS
		if !o.nilBuf {
			ds = new(msgq.MsqidDS)
		}
		ret, err := ipc.Msgctl(id, o.cmd, ds)
		r := res(ret, err)
		if err == nil && ds != nil && o.cmd != msgq.IPC_RMID && o.cmd != msgq.IPC_INFO && o.cmd != msgq.MSG_INFO {
			r.ds = normalize(*ds)
		}
		return r
	case opInfo:
		var info *msgq.MsgInfo
		if !o.nilBuf {
			info = new(msgq.MsgInfo)
		}
		ret, err := ipc.MsgctlInfo(o.cmd, info)
		r := res(ret, err)
		if err == nil {
			r.info = info
		}
		return r
	}
	panic("unknown op")
}

// set is IPC_SET. Its buffer starts from what root reads with IPC_STAT,
// as a program starts from IPC_STAT, before the call switches to o.who.
func (s *syscallSide) set(o op, id int) result {
	var ds *msgq.MsqidDS
	if !o.nilBuf {
		ds = new(msgq.MsqidDS)
		s.ipc(0).Msgctl(id, msgq.IPC_STAT, ds)
		ds.Perm.Mode, ds.Qbytes = o.mode, o.qbytes
		if o.setUID {
			ds.Perm.UID = o.uid
		}
		if o.setGID {
			ds.Perm.GID = o.gid
		}
	}
	ret, err := s.ipc(o.who).Msgctl(id, msgq.IPC_SET, ds)
	return res(ret, err)
}

// cancelled is a context that has ended: a msgq call given it returns at
// once if it would wait, having done nothing.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// blocking makes a call without IPC_NOWAIT that must not block the test.
// On the namespace side it goes through the Go-shaped layer with an ended
// context, which gives up without effect exactly when the call would wait.
// On the kernel side it is made with IPC_NOWAIT, which changes nothing for
// a call that completes at once, and turns waiting into EAGAIN (msgsnd) or
// ENOMSG (msgrcv). Both report waiting as block, so the sides compare.
func (s *syscallSide) blocking(ipc msgq.IPC, o op, id int, onNS func(*msgq.Queue) result, onKernel func() result) result {
	if s.ns == nil {
		r := onKernel()
		if (o.kind == opSnd && r.errno == syscall.EAGAIN) || (o.kind == opRcv && r.errno == syscall.ENOMSG) {
			return result{block: true}
		}
		return r
	}
	ns := ipc.(*msgq.Namespace)
	// The argument checks that come before the id lookup give EINVAL,
	// as a failed lookup does, so looking up first changes no errno.
	q, err := ns.Lookup(id)
	if err != nil {
		ret := -1 // msgrcv's return value on error; msgsnd has none
		if o.kind == opSnd {
			ret = 0
		}
		return res(ret, err)
	}
	r := onNS(q)
	if errors.Is(r.err(), context.Canceled) {
		return result{block: true}
	}
	return r
}

// res makes a result of a return value and an error.
func res(ret int, err error) result {
	if err == nil {
		return result{ret: ret}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return result{ret: ret, errno: errno}
	}
	return result{ret: ret, errno: errCanceled}
}

// errCanceled stands for a context error in a result.
const errCanceled = syscall.Errno(1 << 20)

func (r result) err() error {
	if r.errno == errCanceled {
		return context.Canceled
	}
	return nil
}

// normalize keeps what both sides must agree on: everything but the
// times' values (the kernel keeps seconds, msgq its clock's time), of which
// only whether they are set counts.
func normalize(ds msgq.MsqidDS) *msgq.MsqidDS {
	set := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.Unix(1, 0)
	}
	ds.Stime, ds.Rtime, ds.Ctime = set(ds.Stime), set(ds.Rtime), set(ds.Ctime)
	return &ds
}

// kernelSide runs on the kernel thread.
type kernelSide struct {
	syscallSide
	k *kthread
}

func newKernelSide() *kernelSide {
	k := kernelThread()
	s := &kernelSide{k: k}
	s.syscallSide.ipc = func(who int) msgq.IPC {
		if err := k.become(idents[who]); err != nil {
			panic(err)
		}
		return kernelIPC
	}
	return s
}

func (s *kernelSide) reset() error { return s.k.freshNamespace(limits) }

// nsSide is a msgq namespace.
type nsSide struct {
	syscallSide
	processCaps msgq.Caps // what root holds: what the kernel thread's root holds
	views       []*msgq.Namespace
}

func newNSSide(processCaps msgq.Caps) *nsSide {
	s := &nsSide{}
	s.syscallSide.ipc = func(who int) msgq.IPC { return s.views[who] }
	s.syscallSide.ns = func() *msgq.Namespace { return s.views[0] }
	s.processCaps = processCaps
	return s
}

func (s *nsSide) reset() error {
	root := msgq.NewNamespace(msgq.WithLimits(limits), msgq.WithCred(idents[0].cred(s.processCaps)))
	s.views = s.views[:0]
	for _, id := range idents {
		s.views = append(s.views, root.As(id.cred(s.processCaps)))
	}
	return nil
}

// compare runs ops on both sides and returns the index of the first
// operation whose results differ, with both results, or -1.
func compare(kern *kernelSide, ns *nsSide, ops []op) (int, result, result, error) {
	var kr []result
	var kerr error
	kern.k.run(func() {
		kr, kerr = run(kern, ops)
		kern.k.become(ident{}) // leave the thread as root
	})
	if kerr != nil {
		return -1, result{}, result{}, kerr
	}
	nr, err := run(ns, ops)
	if err != nil {
		return -1, result{}, result{}, err
	}
	for i := range ops {
		if !equal(kr[i], nr[i]) {
			return i, kr[i], nr[i], nil
		}
	}
	return -1, result{}, result{}, nil
}

func equal(a, b result) bool {
	if a.ret != b.ret || a.errno != b.errno || a.block != b.block || a.mtype != b.mtype || a.text != b.text {
		return false
	}
	if (a.ds == nil) != (b.ds == nil) || (a.ds != nil && *a.ds != *b.ds) {
		return false
	}
	return (a.info == nil) == (b.info == nil) && (a.info == nil || *a.info == *b.info)
}
