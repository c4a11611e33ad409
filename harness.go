package msgq

import (
	"context"
	"time"
)

// The hooks a test harness sets on a namespace: faults injected before a
// call runs (WithFaults) and a trace of every call once it has finished
// (WithTrace). A namespace without either costs nothing for them: each
// entry point makes one nil check (Namespace.bare) once its Go arguments
// are known to be C ints, and a call that waits one more (nsCore.hooks).
//
// With hooks, each entry point hands the call to its hooked twin below,
// which runs the faults, makes the same call on ns.bare (the same view,
// without hooks), and reports it to the trace. A call whose Go int
// arguments are no C ints fails with EINVAL before the hooks see it: such
// a call cannot be made from C, and no kernel would see it either.

// hookOptions are the hooks given to NewNamespace, in the order given.
type hookOptions struct {
	faults []func(Call) error
	traces []func(TraceEntry)
}

// hooks are a namespace's hooks; immutable once the namespace is made.
type hooks struct {
	hookOptions
	timed bool // tracing: a call that waits measures how long
}

// WithFaults calls f before every call on the namespace, on both layers:
// Msgget, Msgsnd, Msgrcv, Msgctl, MsgctlInfo, Get and the Queue methods
// (each seen as the system call it is, Queue.Stat as msgctl IPC_STAT and
// so on; Lookup is no system call and is not seen). A non-nil result fails
// the call with that error, returned as it is (normally a syscall.Errno, so
// that err == syscall.EAGAIN holds on the syscall layer), and the call does
// nothing else: nothing is created, sent, consumed, stamped or changed,
// and the call does not wait.
//
// f runs in the calling goroutine, before the call takes any lock, so it
// may block (to hold a call back until a test is ready) and may call into
// the namespace, but calls it makes are hooked too. It must be safe for
// concurrent use when the namespace is. Several WithFaults options are all
// consulted, in order, until one fails the call. Package msgqtest has
// ready-made hooks.
func WithFaults(f func(Call) error) Option {
	return func(o *options) {
		if f != nil {
			o.hooks.faults = append(o.hooks.faults, f)
		}
	}
}

// WithTrace calls f after every call on the namespace, on both layers (the
// calls WithFaults sees), with the call, its results and how long it
// waited; TraceEntry.String renders it as strace would. f runs in the
// calling goroutine once the call has released every lock, so it may call
// into the namespace (its calls are traced too), and must be safe for
// concurrent use when the namespace is: calls made at once report in the
// order they finish. Several WithTrace options are all called, in order.
func WithTrace(f func(TraceEntry)) Option {
	return func(o *options) {
		if f != nil {
			o.hooks.traces = append(o.hooks.traces, f)
		}
	}
}

// newHooks returns the namespace's hooks, or nil if there are none.
func newHooks(o hookOptions) *hooks {
	if len(o.faults) == 0 && len(o.traces) == 0 {
		return nil
	}
	return &hooks{hookOptions: o, timed: len(o.traces) > 0}
}

// withHooks gives a new view its hook-free twin if hooked, and returns
// the view.
func (ns *Namespace) withHooks(hooked bool) *Namespace {
	if hooked && ns.core.hooks != nil {
		ns.bare = &Namespace{core: ns.core, cred: ns.cred}
	}
	return ns
}

// WithoutHooks returns a view of the same namespace, with the same
// credentials, whose calls neither WithFaults nor WithTrace sees: for
// harness code that inspects or tidies a namespace behind the back of the
// code under test (msgqtest's checks at the end of a test use it). Views
// made from it with As, and handles from its Get and Lookup, are without
// hooks too. Without hooks to skip, it returns ns.
func (ns *Namespace) WithoutHooks() *Namespace {
	if ns.bare == nil {
		return ns
	}
	return ns.bare
}

// A span is one hooked call in progress. It lives on its caller's stack.
type span struct {
	h       *hooks
	e       TraceEntry
	blocked *time.Duration // when tracing: how long the call waited, added up by queue.wait
}

// begin starts a hooked call (text is msgsnd's): it runs the faults and,
// when one fails the call, finishes the span with its error, which it
// returns.
func (ns *Namespace) begin(c Call, text []byte) (span, error) {
	c.Cred = c.Cred.clone()
	s := span{h: ns.core.hooks, e: TraceEntry{Call: c}}
	if s.h.timed {
		s.e.Start = time.Now()
		s.e.Text = copyText(text)
		s.blocked = new(time.Duration)
	}
	for _, f := range s.h.faults {
		if err := f(c); err != nil {
			s.e.Injected = true
			s.end(-1, err)
			return s, err
		}
	}
	return s, nil
}

// context returns ctx carrying the span's wait timer, when tracing.
func (s *span) context(ctx context.Context) context.Context {
	if !s.h.timed {
		return ctx
	}
	return context.WithValue(ctx, blockedKey{}, s.blocked)
}

// end reports the finished call to the trace.
func (s *span) end(result int, err error) {
	if !s.h.timed {
		return
	}
	s.e.Result, s.e.Err, s.e.Blocked = result, err, *s.blocked
	if err != nil {
		s.e.Result = -1
	}
	for _, f := range s.h.traces {
		f(s.e)
	}
}

// blockedKey is the context key under which a traced call that waits finds
// where to add how long it waited.
type blockedKey struct{}

// addBlocked adds the time since since to the traced call waiting with ctx.
func addBlocked(ctx context.Context, since time.Time) {
	if d, ok := ctx.Value(blockedKey{}).(*time.Duration); ok {
		*d += time.Since(since)
	}
}

// copyText returns a copy of text for the trace.
func copyText(text []byte) []byte {
	if text == nil {
		return nil
	}
	return append([]byte{}, text...)
}

func (ns *Namespace) hookedMsgget(key Key, flg int32) (int, error) {
	s, err := ns.begin(Call{Op: "msgget", Cred: ns.cred, Key: key, Flags: int(flg)}, nil)
	if err != nil {
		return -1, err
	}
	id, err := ns.bare.Msgget(key, int(flg))
	s.end(id, err)
	return id, err
}

func (ns *Namespace) hookedGet(key Key, flg int32) (*Queue, error) {
	s, err := ns.begin(Call{Op: "msgget", Cred: ns.cred, Key: key, Flags: int(flg)}, nil)
	if err != nil {
		return nil, err
	}
	q, err := ns.bare.Get(key, int(flg))
	if err != nil {
		s.end(-1, err)
		return nil, err
	}
	q.ns = ns // the handle's calls are hooked too
	s.end(q.ID(), nil)
	return q, nil
}

func sendCall(c *Cred, id int, mtype int64, mtext []byte, flg int32) Call {
	return Call{Op: "msgsnd", Cred: *c, ID: id, Type: mtype, Size: len(mtext), Flags: int(flg)}
}

func (ns *Namespace) hookedMsgsnd(id int32, mtype int64, mtext []byte, flg int32) error {
	s, err := ns.begin(sendCall(&ns.cred, int(id), mtype, mtext, flg), mtext)
	if err != nil {
		return err
	}
	err = ns.bare.msgsnd(s.context(context.Background()), id, mtype, mtext, flg)
	s.end(0, err)
	return err
}

func (q *Queue) hookedSend(ctx context.Context, mtype int64, mtext []byte, flg int32) error {
	s, err := q.ns.begin(sendCall(&q.ns.cred, q.ID(), mtype, mtext, flg), mtext)
	if err != nil {
		return err
	}
	bare := Queue{ns: q.ns.bare, q: q.q}
	err = bare.Send(s.context(ctx), mtype, mtext, int(flg))
	s.end(0, err)
	return err
}

func recvCall(c *Cred, id int, size int, msgtyp int64, flg int32) Call {
	return Call{Op: "msgrcv", Cred: *c, ID: id, Type: msgtyp, Size: size, Flags: int(flg)}
}

// endRecv reports a msgrcv that filled r.
func (s *span) endRecv(r *recvReq, err error) {
	if err == nil && s.h.timed {
		s.e.MType = r.mtype
		if r.alloc {
			s.e.Text = copyText(r.text)
		} else {
			s.e.Text = copyText(r.buf[:r.n])
		}
	}
	s.end(r.n, err)
}

func (ns *Namespace) hookedMsgrcv(id int32, mtext []byte, msgtyp int64, flg int32) (int, int64, error) {
	s, err := ns.begin(recvCall(&ns.cred, int(id), len(mtext), msgtyp, flg), nil)
	if err != nil {
		return -1, 0, err
	}
	r := recvReq{buf: mtext, size: len(mtext)}
	err = ns.bare.msgrcv(s.context(context.Background()), id, &r, msgtyp, flg)
	s.endRecv(&r, err)
	if err != nil {
		return -1, 0, err
	}
	return r.n, r.mtype, nil
}

func (q *Queue) hookedReceive(ctx context.Context, r *recvReq, msgtyp int64, flg int32) error {
	s, err := q.ns.begin(recvCall(&q.ns.cred, q.ID(), r.size, msgtyp, flg), nil)
	if err != nil {
		return err
	}
	bare := Queue{ns: q.ns.bare, q: q.q}
	err = bare.receive(s.context(ctx), r, msgtyp, int(flg))
	s.endRecv(r, err)
	return err
}

func (ns *Namespace) hookedMsgctl(id, cmd int32, buf *MsqidDS) (int, error) {
	s, err := ns.begin(Call{Op: "msgctl", Cred: ns.cred, ID: int(id), Cmd: int(cmd)}, nil)
	if err != nil {
		return -1, err
	}
	if buf == nil {
		s.e.NilBuf = true
	}
	r, err := ns.bare.Msgctl(int(id), int(cmd), buf)
	s.end(r, err)
	return r, err
}

func (ns *Namespace) hookedMsgctlInfo(cmd int32, buf *MsgInfo) (int, error) {
	s, err := ns.begin(Call{Op: "msgctl", Cred: ns.cred, Cmd: int(cmd)}, nil)
	if err != nil {
		return -1, err
	}
	if buf == nil {
		s.e.NilBuf = true
	}
	r, err := ns.bare.MsgctlInfo(int(cmd), buf)
	s.end(r, err)
	return r, err
}

// hookedCtl is a Queue method that is msgctl: Stat, Set or Remove.
func (q *Queue) hookedCtl(cmd int32, nilBuf bool, do func(bare *Queue) error) error {
	s, err := q.ns.begin(Call{Op: "msgctl", Cred: q.ns.cred, ID: q.ID(), Cmd: int(cmd)}, nil)
	if err != nil {
		return err
	}
	s.e.NilBuf = nilBuf
	err = do(&Queue{ns: q.ns.bare, q: q.q})
	s.end(0, err)
	return err
}

func (q *Queue) hookedStat() (MsqidDS, error) {
	var ds MsqidDS
	err := q.hookedCtl(IPC_STAT, false, func(bare *Queue) (err error) {
		ds, err = bare.Stat()
		return err
	})
	return ds, err
}
