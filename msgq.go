// Package msgq emulates Linux System V message queues (msgget, msgsnd,
// msgrcv, msgctl) inside one Go process: code written for SysV queues runs
// hermetically, with any number of independent namespaces, no kernel
// queues left behind, no privileges, and the results and errno values that
// Linux gives for the same calls.
//
// There are two layers over one implementation. The syscall-shaped layer
// (Namespace.Msgget, Msgsnd, Msgrcv, Msgctl, MsgctlInfo) takes the same
// arguments as the system calls and returns bare syscall.Errno values. The
// Go-shaped layer (Namespace.Get, Lookup and the Queue methods) returns a
// handle per queue and takes a context.Context on the calls that block.
//
// # Objects
//
// A Namespace is one IPC namespace: its limits (Limits), its clock, a key
// index and an id table. Namespace values returned by As are views of the
// same namespace acting with other credentials (Cred); permission checks
// follow Linux's ipcperms, with capabilities (Caps) where Linux consults
// them. A queue holds its permissions and times, its messages (see
// messages.go) and its blocked senders and receivers (see waiters.go). A
// Queue is a handle: a queue plus the credentials of the view it came from.
//
// # Ids
//
// The id table (idtable.go) is a power-of-two array of slots that starts
// with 64 and doubles as it fills; slots are allocated 64 at a time, as
// their indices are first used. An id is seq<<15 | index, as on Linux
// (seq<<24 | index when MsgMni exceeds 32768). Indices are handed out
// cyclically and the sequence number advances whenever the cycle wraps, as
// Linux's ipc_idr_alloc does, so a reused index carries a new id and a
// stale id (its queue removed, perhaps its index reused) gets EINVAL.
// Lookups by id take no namespace-wide lock: they load the table pointer
// atomically, index it and lock that one slot. Growth builds a longer table
// that shares the same chunks of slots and publishes it with one atomic
// store.
//
// # Locks
//
// There are two kinds of lock, always taken in this order:
//
//  1. nsCore.mu, the namespace lock. It guards the key index, the id
//     table's allocation state (the in-use bitmap, counts, the cyclic
//     cursor and sequence number) and growth. msgget, IPC_RMID,
//     IPC_INFO, MSG_INFO and the ipcs listing take it; msgsnd, msgrcv,
//     IPC_STAT and IPC_SET do not.
//  2. slot.mu, one per slot: the lock of the queue in that slot. It guards
//     every mutable field of the queue, its messages and its waiters.
//     A slot's pointer to its queue changes only with both locks held.
//
// No code takes a namespace lock while holding a slot lock, or two slot
// locks at once. Two locks are leaves, taken under a slot lock and taking
// nothing else: blockWatch's (WaitBlocked's wake-ups, blocked.go) and
// nsPool's (the queues whose senders wait for a namespace-wide limit
// under some dialects, dialect_send.go); the pool's wake-ups (kick) run
// with no lock held and take one slot lock at a time.
//
// Each blocked caller waits on its own sync.Cond whose locker is the slot
// lock, and whoever makes it able to proceed (a sender
// with a message for it, a receiver making room, IPC_SET, IPC_RMID or its
// context ending) completes its call under that lock and wakes it alone,
// once the lock is released (queue.unlock), so that it does not wake only
// to wait for the lock. A context's end reaches a waiter through
// context.AfterFunc, which takes the slot lock like any other caller.
//
// IPC_RMID can report what it dropped to a hook (WithRemoveHook), so that
// a harness can account for every message.
//
// # Arguments
//
// msqid, msgflg and cmd are C ints in the system calls. A Go int that C's
// int cannot hold (outside the int32 range) is EINVAL before any other
// check, on every entry point of both layers and in the kernel backend: it
// is never truncated into another queue's id, flag set or command.
//
// # Snapshots
//
// Checkpoint freezes a namespace into a Snapshot (limits, id allocator,
// every queue's msqid_ds and messages) and Restore builds a namespace that
// no call can tell from the original; package kernel does the same for the
// host's queues. A Snapshot is JSON with a format version
// ("msgq-snapshot/1"), lower-case keys and base64 texts: Snapshot's doc
// describes it and testdata/snapshot.json is an example (snapshot.go,
// restore.go).
//
// # Differences from Linux
//
// Where Linux leaves a race open, msgq always takes one of the outcomes
// Linux allows, and always the same one; for a test that is a feature (a
// test that passes once passes every time), but code must not rely on it
// on the kernel:
//
//   - IPC_SET wakes every blocked receiver on Linux; each re-checks its
//     permission and waits again at the tail, in whatever order its thread
//     runs. So after an IPC_SET Linux promises neither the receivers'
//     order nor EACCES for one that just lost read permission (it may take
//     the next message first). msgq keeps the receivers' order and fails
//     at once, with EACCES, those that lost read permission.
//   - A blocked sender let through by a receive completes on Linux when
//     its thread next runs, racing with the receiver's next call, and
//     several senders let through complete in no fixed order. msgq
//     completes them under the lock, in FIFO order, before the receive
//     returns.
//   - After a message is handed straight to a sleeping receiver, Linux
//     records the receiving thread's id in msg_lrpid (a direct receive
//     records the process id); msgq records the caller's Cred.PID either way.
//
// One bound Linux lacks: a queue holds at most 2^31−1 messages (over 100 GB
// of them); a send past it waits, or fails with EAGAIN, as on a full queue.
//
// Signals do not exist here, but Interrupt delivers what a signal with a
// handler would to the calls blocked as one process: each returns EINTR,
// having sent or consumed nothing, as on Linux, which never restarts
// msgsnd and msgrcv after a handler. A context ending also interrupts a
// blocked call, and it too sends or consumes nothing.
package msgq

import (
	"context"
	"math"
	"sync"
	"syscall"
	"time"
)

// Key names a queue in msgget, like C's key_t.
type Key int32

// IPC_PRIVATE as a key always creates a new queue that no key names.
const IPC_PRIVATE Key = 0

// Flags and commands, with the names and values of Linux's <sys/ipc.h> and
// <sys/msg.h>.
const (
	IPC_CREAT   = 0o1000  // msgget: create the queue if the key has none
	IPC_EXCL    = 0o2000  // msgget: with IPC_CREAT, fail with EEXIST if it exists
	IPC_NOWAIT  = 0o4000  // msgsnd, msgrcv: fail instead of waiting
	MSG_NOERROR = 0o10000 // msgrcv: truncate a message longer than the buffer
	MSG_EXCEPT  = 0o20000 // msgrcv: with msgtyp > 0, take a message of another type
	MSG_COPY    = 0o40000 // msgrcv: copy the message at position msgtyp, without taking it

	IPC_RMID     = 0  // msgctl: remove the queue
	IPC_SET      = 1  // msgctl: set uid, gid, mode and qbytes
	IPC_STAT     = 2  // msgctl: read the queue's msqid_ds
	IPC_INFO     = 3  // msgctl: read the namespace's limits
	MSG_STAT     = 11 // msgctl: IPC_STAT by table index, returning the id
	MSG_INFO     = 12 // msgctl: read the namespace's usage
	MSG_STAT_ANY = 13 // msgctl: MSG_STAT without the read permission check
)

// Limits are a namespace's sysctl limits (kernel.msgmax, kernel.msgmnb,
// kernel.msgmni), and the limits the other systems have (see WithDialect
// and DialectLimits). A zero field takes the dialect's default; a dialect
// enforces only the limits its system has.
type Limits struct {
	MsgMax int // largest message text in bytes        (Linux default 8192)
	MsgMnb int // msg_qbytes given to a new queue      (16384)
	MsgMni int // most queues alive in the namespace   (32000)
	MsgTql int // most messages queued in the whole namespace (OpenBSD, FreeBSD, SVR4)
	MsgMnm int // most messages in one queue (illumos max-msg-messages, AIX msgmnm)
	MsgSsz int // segment size of the namespace's message pool (FreeBSD, SVR4)
	MsgSeg int // segments in that pool (FreeBSD, SVR4)
}

// DefaultLimits are Linux's defaults.
var DefaultLimits = Limits{MsgMax: 8192, MsgMnb: 16384, MsgMni: 32000}

// withDefaults fills the zero fields of l from DefaultLimits and brings the
// others into the ranges Linux's sysctls accept: MsgMax and MsgMnb up to
// math.MaxInt32, MsgMni up to 1<<24 (Linux with ipcmni_extend). A negative
// field counts as zero.
func (l Limits) withDefaults() Limits { return linuxRules.fill(l) }

// An Option configures NewNamespace.
type Option func(*options)

type options struct {
	limits   Limits
	dialect  Dialect
	cred     *Cred
	now      func() time.Time
	onRemove func(Removal)
	hooks    hookOptions
}

// WithLimits sets the namespace's limits; zero fields keep the defaults.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// WithCred sets the credentials the namespace's calls act with (default:
// CurrentCred()). As gives views with other credentials.
func WithCred(c Cred) Option {
	c = c.clone()
	return func(o *options) {
		own := c.clone() // an Option may be applied by many goroutines
		o.cred = &own
	}
}

// WithClock sets the clock that stamps msg_stime, msg_rtime and msg_ctime.
// Stamps are whole seconds, as Linux keeps them, whatever the clock's
// precision. The default is time.Now, or in a testing/synctest bubble the
// bubble's time: see clock.go.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRemoveHook calls f after every IPC_RMID in the namespace, with the
// messages the removal dropped and the number of blocked callers it woke
// with EIDRM. A test harness can use it to account for every message: each
// one sent is received or dropped by a removal. f runs in the goroutine
// that removed the queue, after the namespace's locks are released, so it
// may call into the namespace.
func WithRemoveHook(f func(Removal)) Option { return func(o *options) { o.onRemove = f } }

// Namespace is one IPC namespace's message queues, seen with one set of
// credentials. Its methods are safe for concurrent use. The zero value is
// not usable: call NewNamespace.
type Namespace struct {
	core *nsCore
	cred Cred       // immutable
	bare *Namespace // immutable; this view without the hooks, nil if there are none (harness.go)
}

// nsCore is the namespace proper, shared by all its views.
type nsCore struct {
	limits   Limits           // immutable
	rules    *rules           // immutable: the dialect (dialect_rules.go)
	pool     *nsPool          // immutable pointer; nil where the dialect has no MsgTql or MsgSeg
	clock    func() time.Time // immutable; nil for the shared coarse clock (clock.go)
	onRemove func(Removal)    // immutable; may be nil
	hooks    *hooks           // immutable; nil without WithFaults and WithTrace (harness.go)

	mu   sync.Mutex     // the namespace lock: see the package doc for the order
	keys map[Key]*queue // guarded by mu
	ids  *idTable       // allocation guarded by mu; lookups lock-free

	watch blockWatch // wakes WaitBlocked; its own leaf lock
}

// NewNamespace returns an empty namespace, like a fresh Linux IPC namespace.
func NewNamespace(opts ...Option) *Namespace {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.cred == nil {
		c := CurrentCred()
		o.cred = &c
	}

	r := rulesOf(o.dialect)
	limits := r.fill(o.limits)
	ns := &Namespace{
		core: &nsCore{
			limits:   limits,
			rules:    r,
			clock:    clockFor(o.now),
			onRemove: o.onRemove,
			hooks:    newHooks(o.hooks),
			keys:     make(map[Key]*queue),
			ids:      newIDTable(limits.MsgMni),
		},
		cred: *o.cred,
	}
	if core := ns.core; r.ids != idsLinux {
		core.ids.scheme = newIDScheme(core.ids, r.ids, limits.MsgMni)
		core.pool = newNSPool(limits)
	}
	return ns.withHooks(true)
}

// As returns a view of the same namespace whose calls act as c.
func (ns *Namespace) As(c Cred) *Namespace {
	return (&Namespace{core: ns.core, cred: c.clone()}).withHooks(ns.bare != nil)
}

// Cred returns the credentials ns acts with.
func (ns *Namespace) Cred() Cred { return ns.cred.clone() }

// Limits returns the namespace's limits, defaults filled in.
func (ns *Namespace) Limits() Limits { return ns.core.limits }

// Msgget mirrors msgget(2): it returns the id of the queue with the given
// key, creating it if IPC_CREAT is set and no queue has that key; with
// IPC_PRIVATE it always creates a new queue. A new queue takes its mode from
// the low 9 bits of msgflg, its owner and creator from the caller, and
// msg_qbytes from MsgMnb.
//
// Errors: EINVAL (msgflg outside the int32 range), ENOENT (no queue has
// the key and IPC_CREAT is not set), EEXIST
// (IPC_CREAT|IPC_EXCL and the key exists), EACCES (the queue's mode does
// not grant the permission bits asked for in msgflg), ENOSPC (MsgMni queues
// exist).
func (ns *Namespace) Msgget(key Key, msgflg int) (msqid int, err error) {
	flg, ok := cInt(msgflg)
	if !ok {
		return -1, syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedMsgget(key, flg)
	}
	q, err := ns.get(key, flg)
	if err != nil {
		return -1, err
	}
	return int(q.id), nil
}

// stampOf is the inverse of unixTime: a time's whole seconds, 0 for the
// zero time.
func stampOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// unixTime is a stamp as IPC_STAT reports it: the zero time.Time for 0
// (never), else that second in the local time zone, as the kernel backend
// reports the kernel's stamps.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// get is msgget (Linux ipcget): the whole call runs under the namespace
// lock, like Linux's ids rwsem held for writing.
func (ns *Namespace) get(key Key, msgflg int32) (*queue, error) {
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	if key == IPC_PRIVATE {
		return ns.newQueue(key, msgflg)
	}
	q := core.keys[key]
	if q == nil {
		if msgflg&IPC_CREAT == 0 {
			return nil, syscall.ENOENT
		}
		return ns.newQueue(key, msgflg)
	}
	if msgflg&IPC_CREAT != 0 && msgflg&IPC_EXCL != 0 {
		return nil, syscall.EEXIST
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !core.rules.getPermits(&q.perm, &ns.cred, msgflg) {
		return nil, syscall.EACCES
	}
	return q, nil
}

// newQueue creates a queue (Linux newque). The namespace lock must be held.
func (ns *Namespace) newQueue(key Key, msgflg int32) (*queue, error) {
	core := ns.core
	q := &queue{
		ns: core,
		perm: ipcPerm{
			key:  key,
			uid:  ns.cred.UID,
			gid:  ns.cred.GID,
			cuid: ns.cred.UID,
			cgid: ns.cred.GID,
			mode: uint16(msgflg & 0o777),
		},
		ctime:  core.seconds(),
		qbytes: uint64(core.limits.MsgMnb),
	}
	if s := core.ids.scheme; s != nil {
		q.x = &qDialect{order: s.order + 1}
	}
	if err := core.ids.add(q, core.limits.MsgMni); err != nil {
		return nil, err
	}
	if key != IPC_PRIVATE {
		core.keys[key] = q
	}
	return q, nil
}

// cInt converts a Go int argument to the C int that msgget, msgsnd, msgrcv
// and msgctl take (msqid, msgflg, cmd). A value outside int32's range is no
// C int: callers fail it with EINVAL before any other check rather than
// truncate it into another queue's id, another flag set or another command.
func cInt(v int) (int32, bool) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// cInt2 is cInt of two arguments: ok only if both are C ints.
func cInt2(a, b int) (int32, int32, bool) {
	x, ok1 := cInt(a)
	y, ok2 := cInt(b)
	return x, y, ok1 && ok2
}

// checkSend makes msgsnd's argument checks, in Linux's order: a text longer
// than MsgMax or a negative id is EINVAL, then a type below 1 is EINVAL.
func (ns *Namespace) checkSend(msqid int32, mtype int64, size int) error {
	if size > ns.core.limits.MsgMax || msqid < 0 || mtype < 1 {
		return syscall.EINVAL
	}
	return nil
}

// checkRecv makes msgrcv's argument checks, in Linux's order: a negative id
// or size is EINVAL; MSG_COPY without IPC_NOWAIT, or with MSG_EXCEPT, is
// EINVAL before the id is even looked up.
func checkRecv(msqid int32, size int, msgflg int32) error {
	if msqid < 0 || size < 0 {
		return syscall.EINVAL
	}
	if msgflg&MSG_COPY != 0 && (msgflg&MSG_EXCEPT != 0 || msgflg&IPC_NOWAIT == 0) {
		return syscall.EINVAL
	}
	return nil
}

// Msgsnd mirrors msgsnd(2): it appends a copy of mtext with type mtype to
// the queue msqid, or hands it straight to a waiting receiver it suits
// (msgq: always the one that has waited longest; Linux: the first in its
// list, which an IPC_SET may have reordered; see the package doc). If the
// queue is full it waits for room, unless msgflg has IPC_NOWAIT. The caller
// may reuse mtext as soon as Msgsnd returns.
//
// Errors: EINVAL (msqid or msgflg outside the int32 range, len(mtext) >
// MsgMax, msqid negative, mtype < 1, or no queue with that id), EACCES
// (no write permission), EAGAIN (full, with IPC_NOWAIT), EIDRM (the queue
// was removed while the call waited), EINTR (Interrupt, while it waited);
// and whatever a WithFaults hook injects.
func (ns *Namespace) Msgsnd(msqid int, mtype int64, mtext []byte, msgflg int) error {
	id, flg, ok := cInt2(msqid, msgflg)
	if !ok {
		return syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedMsgsnd(id, mtype, mtext, flg)
	}
	return ns.msgsnd(context.Background(), id, mtype, mtext, flg)
}

// msgsnd is Msgsnd once its arguments are C ints. ctx never ends: it
// carries only a trace's timer (harness.go).
func (ns *Namespace) msgsnd(ctx context.Context, id int32, mtype int64, mtext []byte, flg int32) error {
	if !ns.core.rules.native {
		return ns.dsend(ctx, nil, id, mtype, mtext, flg)
	}
	if err := ns.checkSend(id, mtype, len(mtext)); err != nil {
		return err
	}
	q, err := ns.core.ids.lockID(id)
	if err != nil {
		return err
	}
	err = q.send(ctx, &ns.cred, mtype, mtext, flg)
	q.unlock()
	return err
}

// Msgrcv mirrors msgrcv(2): it takes a message from the queue msqid and
// copies at most len(mtext) bytes of its text into mtext (len(mtext) is
// C's msgsz), returning the number of bytes copied and the message's type.
// msgtyp selects: 0 the oldest message; > 0 the oldest of that type, or
// with MSG_EXCEPT the oldest of any other type; < 0 the oldest of the
// least type not above |msgtyp|. With MSG_COPY (which needs IPC_NOWAIT)
// it copies the message at position msgtyp (0 is the oldest) and leaves it
// queued. Without IPC_NOWAIT it waits for a suitable message.
//
// Errors: EINVAL (msqid or msgflg outside the int32 range, msqid negative
// or no queue with that id; MSG_COPY with
// MSG_EXCEPT or without IPC_NOWAIT; MSG_COPY|MSG_NOERROR of a message longer
// than mtext), EACCES (no read permission), E2BIG (the message is longer
// than mtext and MSG_NOERROR is not set; it stays queued), ENOMSG (no
// suitable message, with IPC_NOWAIT), EIDRM (the queue was removed while the
// call waited), EINTR (Interrupt, while it waited); and whatever a
// WithFaults hook injects.
func (ns *Namespace) Msgrcv(msqid int, mtext []byte, msgtyp int64, msgflg int) (n int, mtype int64, err error) {
	id, flg, ok := cInt2(msqid, msgflg)
	if !ok {
		return -1, 0, syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedMsgrcv(id, mtext, msgtyp, flg)
	}
	r := recvReq{buf: mtext, size: len(mtext)}
	if err := ns.msgrcv(context.Background(), id, &r, msgtyp, flg); err != nil {
		return -1, 0, err
	}
	return r.n, r.mtype, nil
}

// msgrcv is Msgrcv once its arguments are C ints, into r. ctx never ends:
// it carries only a trace's timer (harness.go).
func (ns *Namespace) msgrcv(ctx context.Context, id int32, r *recvReq, msgtyp int64, flg int32) error {
	if !ns.core.rules.native {
		return ns.drecv(ctx, nil, id, r, msgtyp, flg)
	}
	if err := checkRecv(id, r.size, flg); err != nil {
		return err
	}
	q, err := ns.core.ids.lockID(id)
	if err != nil {
		return err
	}
	err = q.receive(ctx, &ns.cred, r, msgtyp, flg)
	q.unlock()
	return err
}

// Msgctl mirrors msgctl(2) for the commands that name one queue:
//
//   - IPC_STAT copies the queue's msqid_ds into buf and returns 0; it needs
//     read permission (EACCES).
//   - MSG_STAT does the same for the queue at table index msqid and returns
//     its id; MSG_STAT_ANY skips the permission check.
//   - IPC_SET sets the owner's uid and gid, the low 9 mode bits and
//     msg_qbytes from buf, and msg_ctime. It needs the caller to own or
//     have created the queue, or CapSysAdmin (EPERM); raising qbytes
//     above MsgMnb needs CapSysResource (EPERM); a uid or gid of
//     0xffffffff is EINVAL. Blocked receivers that lose read permission
//     fail with EACCES at once and the others keep their order; blocked
//     senders that now fit proceed. (Linux wakes every receiver to
//     re-check and re-queue, so on Linux neither the order nor the EACCES
//     is promised: see the package doc.)
//   - IPC_RMID removes the queue; it needs owner, creator or CapSysAdmin
//     (EPERM). Blocked callers fail with EIDRM.
//   - IPC_INFO and MSG_INFO return what MsgctlInfo returns and leave buf
//     as it is (EFAULT if it is nil, since Linux would write a msginfo
//     there): use MsgctlInfo to read their figures.
//
// Errors: EINVAL (msqid or cmd outside the int32 range, before anything
// else; msqid or cmd negative, an unknown cmd, no queue with that id or at
// that index), EFAULT (buf is nil where Linux would read or write
// it: IPC_SET before anything else, the STAT commands after their checks),
// and those above.
func (ns *Namespace) Msgctl(msqid int, cmd int, buf *MsqidDS) (int, error) {
	id, c, ok := cInt2(msqid, cmd)
	if !ok {
		return -1, syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedMsgctl(id, c, buf)
	}
	if id < 0 && !ns.core.ids.loose || !ns.core.rules.hasCmd(c) {
		return -1, syscall.EINVAL
	}
	switch c {
	case IPC_INFO, MSG_INFO:
		r := ns.info(c, nil)
		if buf == nil {
			return -1, syscall.EFAULT
		}
		return r, nil
	case IPC_STAT, MSG_STAT, MSG_STAT_ANY:
		ds, r, err := ns.stat(id, c)
		if err != nil {
			return -1, err
		}
		if buf == nil {
			return -1, syscall.EFAULT
		}
		*buf = ds
		return r, nil
	case IPC_SET:
		if buf == nil && !ns.core.rules.lateCopyin {
			return -1, syscall.EFAULT
		}
		var ds MsqidDS
		if buf != nil {
			ds = *buf // Linux copies the buffer in before it looks at the id
		}
		q, err := ns.core.ids.lockID(id)
		if err != nil {
			return -1, err
		}
		defer q.unlock()
		if buf == nil { // a system that copies in after the owner check
			if !ns.core.rules.mayControl(&q.perm, &ns.cred) {
				return -1, ns.core.rules.notOwner
			}
			return -1, syscall.EFAULT
		}
		if err := q.set(&ns.cred, &ds); err != nil {
			return -1, err
		}
		return 0, nil
	case IPC_RMID:
		if err := ns.rmid(func() (*queue, error) { return ns.core.ids.lockID(id) }); err != nil {
			return -1, err
		}
		return 0, nil
	}
	return -1, syscall.EINVAL
}

// stat is IPC_STAT, MSG_STAT and MSG_STAT_ANY (Linux msgctl_stat).
func (ns *Namespace) stat(id int32, cmd int32) (MsqidDS, int, error) {
	var q *queue
	var err error
	if cmd == IPC_STAT {
		q, err = ns.core.ids.lockID(id)
	} else {
		q, err = ns.core.ids.lockIndex(id)
	}
	if err != nil {
		return MsqidDS{}, -1, err
	}
	defer q.mu.Unlock()
	if cmd != MSG_STAT_ANY && !ns.core.rules.permits(&q.perm, &ns.cred, accessRead) {
		return MsqidDS{}, -1, syscall.EACCES
	}
	if cmd == IPC_STAT {
		return q.stat(), 0, nil
	}
	return q.stat(), int(q.id), nil
}

// rmid is IPC_RMID (Linux msgctl_down and freeque). It takes the namespace
// lock, then the queue's slot lock through lock, which returns the queue
// locked; it checks that the caller may remove the queue (EPERM), fails
// every blocked caller with EIDRM, drops the messages and frees the id and
// the key. The namespace's removal hook runs after both locks are released.
func (ns *Namespace) rmid(lock func() (*queue, error)) error {
	core := ns.core
	core.mu.Lock()
	q, err := lock()
	if err != nil {
		core.mu.Unlock()
		return err
	}
	if !core.rules.mayControl(&q.perm, &ns.cred) {
		q.mu.Unlock()
		core.mu.Unlock()
		return core.rules.notOwner
	}
	q.dremoved()
	r := Removal{ID: int(q.id), Key: q.perm.key}
	r.Dropped, r.Woken = q.destroy(core.onRemove != nil)
	core.ids.remove(q)
	if q.perm.key != IPC_PRIVATE {
		delete(core.keys, q.perm.key)
	}
	q.unlock()
	core.mu.Unlock()
	core.kick()
	if core.onRemove != nil {
		core.onRemove(r)
	}
	return nil
}

// Removal describes what one IPC_RMID removed, for WithRemoveHook.
type Removal struct {
	ID      int
	Key     Key
	Dropped []Message // the messages the queue held, oldest first
	Woken   int       // blocked senders and receivers failed with EIDRM
}

// MsgctlInfo mirrors msgctl(2) with IPC_INFO or MSG_INFO: it fills buf and
// returns the highest table index in use (0 when there is none). IPC_INFO
// reports the limits and Linux's fixed figures (msgpool 512000, msgmap and
// msgtql 16384, msgssz 16, msgseg 65535); MSG_INFO reports the limits and
// the usage: msgpool the number of queues, msgmap the number of messages,
// msgtql the bytes of text queued.
//
// Errors: EINVAL (any other cmd, including one outside the int32 range),
// EFAULT (buf is nil).
func (ns *Namespace) MsgctlInfo(cmd int, buf *MsgInfo) (int, error) {
	c, ok := cInt(cmd)
	if !ok {
		return -1, syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedMsgctlInfo(c, buf)
	}
	if c != IPC_INFO && c != MSG_INFO || !ns.core.rules.info {
		return -1, syscall.EINVAL
	}
	var info MsgInfo
	r := ns.info(c, &info)
	if buf == nil {
		return -1, syscall.EFAULT
	}
	*buf = info
	return r, nil
}

// Linux's fixed figures for IPC_INFO (include/uapi/linux/msg.h).
const (
	msgPool = 32000 * 16384 / 1024 // MSGPOOL: MSGMNI * MSGMNB / 1024
	msgMap  = 16384                // MSGMAP = MSGMNB
	msgTql  = 16384                // MSGTQL = MSGMNB
	msgSsz  = 16                   // MSGSSZ
	msgSeg  = 0xffff               // MSGSEG: MSGPOOL*1024/MSGSSZ, capped
)

// info is IPC_INFO and MSG_INFO (Linux msgctl_info); buf may be nil.
func (ns *Namespace) info(cmd int32, buf *MsgInfo) int {
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	if buf != nil {
		l := core.limits
		*buf = MsgInfo{
			Msgmni:  int32(l.MsgMni),
			Msgmax:  int32(l.MsgMax),
			Msgmnb:  int32(l.MsgMnb),
			Msgssz:  msgSsz,
			Msgseg:  msgSeg,
			Msgpool: msgPool,
			Msgmap:  msgMap,
			Msgtql:  msgTql,
		}
		if cmd == MSG_INFO {
			var msgs, bytes uint64
			core.ids.each(func(q *queue) {
				msgs += uint64(q.msgs.count)
				bytes += q.cbytes
			})
			buf.Msgpool = int32(core.ids.inUse)
			buf.Msgmap = int32(min(msgs, 1<<31-1))
			buf.Msgtql = int32(min(bytes, 1<<31-1))
		}
	}
	return core.ids.highestIndex()
}

// IPCPerm is Linux's ipc64_perm: a queue's key, owner, creator, mode and
// sequence number.
type IPCPerm struct {
	Key                  Key
	UID, GID, CUID, CGID uint32
	Mode                 uint16 // low 9 bits are the permission bits
	Seq                  uint16
}

// MsqidDS is Linux's msqid64_ds, as IPC_STAT fills it and IPC_SET reads it.
type MsqidDS struct {
	Perm                 IPCPerm
	Stime, Rtime, Ctime  time.Time // zero when never
	Cbytes, Qnum, Qbytes uint64
	Lspid, Lrpid         int32
}

// MsgInfo is Linux's struct msginfo, as IPC_INFO and MSG_INFO fill it.
type MsgInfo struct {
	Msgpool, Msgmap, Msgmax, Msgmnb, Msgmni, Msgssz, Msgtql int32
	Msgseg                                                  uint16
}

// Get mirrors msgget(2) like Msgget, returning a handle on the queue.
// Errors are Msgget's: EINVAL for a msgflg outside the int32 range.
func (ns *Namespace) Get(key Key, msgflg int) (*Queue, error) {
	flg, ok := cInt(msgflg)
	if !ok {
		return nil, syscall.EINVAL
	}
	if ns.bare != nil {
		return ns.hookedGet(key, flg)
	}
	q, err := ns.get(key, flg)
	if err != nil {
		return nil, err
	}
	return &Queue{ns: ns, q: q}, nil
}

// Lookup returns a handle on the queue with id msqid. It checks no
// permission (the calls on the handle do). Errors: EINVAL for an id that
// names no queue: never used, removed, stale, or outside the int32 range.
func (ns *Namespace) Lookup(msqid int) (*Queue, error) {
	id, ok := cInt(msqid)
	if !ok {
		return nil, syscall.EINVAL
	}
	q, err := ns.core.ids.lockID(id)
	if err != nil {
		return nil, err
	}
	q.mu.Unlock()
	if q.id != id { // OpenBSD's syscalls resolve any id by its index; Lookup does not
		return nil, syscall.EINVAL
	}
	return &Queue{ns: ns, q: q}, nil
}

// Queue is a handle on one queue, acting with the credentials of the
// namespace view it came from. It keeps naming the queue it was opened on:
// once that queue is removed its calls return EIDRM, even if its id is
// later reused. The argument checks that Linux makes before it looks a
// queue up still come first, as on the syscall layer: a msgflg outside the
// int32 range, Send with mtype < 1 or a text above MsgMax, Recv with a
// negative size or MSG_COPY misused are EINVAL, and Set(nil) is EFAULT, on
// any handle; then EIDRM.
type Queue struct {
	ns *Namespace
	q  *queue
}

// ID returns the queue's id, as msgget returned it.
func (q *Queue) ID() int { return int(q.q.id) }

// lock locks the queue, or returns EIDRM if it was removed.
func (q *Queue) lock() error {
	q.q.mu.Lock()
	if q.q.removed {
		q.q.mu.Unlock()
		return syscall.EIDRM
	}
	return nil
}

// Send is msgsnd(2) on the queue (see Namespace.Msgsnd), waiting for room
// until ctx ends unless msgflg has IPC_NOWAIT. If ctx ends first it returns
// an error for which errors.Is(err, ctx.Err()) holds, having sent nothing;
// ctx is consulted only when the call would wait. Errors: EINVAL (msgflg
// outside the int32 range, len(mtext) > MsgMax or mtype < 1), EIDRM (the
// queue is removed), EACCES, EAGAIN, EINTR (Interrupt).
func (q *Queue) Send(ctx context.Context, mtype int64, mtext []byte, msgflg int) error {
	flg, ok := cInt(msgflg)
	if !ok {
		return syscall.EINVAL
	}
	if q.ns.bare != nil {
		return q.hookedSend(ctx, mtype, mtext, flg)
	}
	if !q.ns.core.rules.native {
		return q.ns.dsend(ctx, q.q, 0, mtype, mtext, flg)
	}
	if err := q.ns.checkSend(0, mtype, len(mtext)); err != nil {
		return err
	}
	if err := q.lock(); err != nil {
		return err
	}
	err := q.q.send(ctx, &q.ns.cred, mtype, mtext, flg)
	q.q.unlock()
	return err
}

// Recv is msgrcv(2) on the queue (see Namespace.Msgrcv) with a buffer of
// maxSize bytes, returning the message in new memory. If ctx ends while it
// waits it returns an error for which errors.Is(err, ctx.Err()) holds,
// having consumed nothing. Errors: EINVAL (msgflg outside the int32 range;
// maxSize negative; MSG_COPY misused), EIDRM, EACCES, E2BIG, ENOMSG,
// EINTR (Interrupt).
func (q *Queue) Recv(ctx context.Context, msgtyp int64, maxSize int, msgflg int) (Message, error) {
	r := recvReq{size: maxSize, alloc: true}
	if err := q.receive(ctx, &r, msgtyp, msgflg); err != nil {
		return Message{}, err
	}
	return Message{Type: r.mtype, Text: r.text}, nil
}

// RecvInto is msgrcv(2) on the queue (see Namespace.Msgrcv) into buf,
// returning the number of bytes copied and the message's type; it
// allocates nothing. Cancellation and errors are as for Recv.
func (q *Queue) RecvInto(ctx context.Context, buf []byte, msgtyp int64, msgflg int) (n int, mtype int64, err error) {
	r := recvReq{buf: buf, size: len(buf)}
	if err := q.receive(ctx, &r, msgtyp, msgflg); err != nil {
		return -1, 0, err
	}
	return r.n, r.mtype, nil
}

func (q *Queue) receive(ctx context.Context, r *recvReq, msgtyp int64, msgflg int) error {
	flg, ok := cInt(msgflg)
	if !ok {
		return syscall.EINVAL
	}
	if q.ns.bare != nil {
		return q.hookedReceive(ctx, r, msgtyp, flg)
	}
	if !q.ns.core.rules.native {
		return q.ns.drecv(ctx, q.q, 0, r, msgtyp, flg)
	}
	if err := checkRecv(0, r.size, flg); err != nil {
		return err
	}
	if err := q.lock(); err != nil {
		return err
	}
	err := q.q.receive(ctx, &q.ns.cred, r, msgtyp, flg)
	q.q.unlock()
	return err
}

// Message is a message's type and text.
type Message struct {
	Type int64
	Text []byte
}

// Stat is msgctl(2) IPC_STAT on the queue. Errors: EIDRM, EACCES.
func (q *Queue) Stat() (MsqidDS, error) {
	if q.ns.bare != nil {
		return q.hookedStat()
	}
	if err := q.lock(); err != nil {
		return MsqidDS{}, err
	}
	defer q.q.mu.Unlock()
	if !q.ns.core.rules.permits(&q.q.perm, &q.ns.cred, accessRead) {
		return MsqidDS{}, syscall.EACCES
	}
	return q.q.stat(), nil
}

// Set is msgctl(2) IPC_SET on the queue (see Namespace.Msgctl). Errors:
// EFAULT (ds is nil), EIDRM, EPERM, EINVAL.
func (q *Queue) Set(ds *MsqidDS) error {
	if q.ns.bare != nil {
		return q.hookedCtl(IPC_SET, ds == nil, func(bare *Queue) error { return bare.Set(ds) })
	}
	if ds == nil {
		return syscall.EFAULT
	}
	v := *ds
	if err := q.lock(); err != nil {
		return err
	}
	defer q.q.unlock()
	return q.q.set(&q.ns.cred, &v)
}

// Remove is msgctl(2) IPC_RMID on the queue: blocked callers fail with
// EIDRM and the messages are dropped. Errors: EIDRM (already removed),
// EPERM (not the owner or creator, and no CapSysAdmin).
func (q *Queue) Remove() error {
	if q.ns.bare != nil {
		return q.hookedCtl(IPC_RMID, true, func(bare *Queue) error { return bare.Remove() })
	}
	return q.ns.rmid(func() (*queue, error) { return q.q, q.lock() })
}
