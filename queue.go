package msgq

import (
	"context"
	"sync"
	"syscall"
	"time"
)

// queue is one message queue: Linux's struct msg_queue. Every method must be
// called with the queue's slot lock (*mu) held, and returns with it held,
// though it may release it while waiting.
type queue struct {
	mu *sync.Mutex // the lock of the slot the queue lives in; set once by idTable.add
	ns *nsCore

	// Guarded by *mu.
	perm                ipcPerm
	lspid, lrpid        int32
	id                  int32 // set once by idTable.add, before the queue is published
	removed             bool
	stime, rtime, ctime int64  // Unix seconds, as Linux's time64_t; 0 when never
	qbytes              uint64 // the most bytes, and the most messages, the queue holds
	cbytes              uint64 // bytes of text queued
	msgs                msgStore
	waits               *waitState // blocked callers; nil until one first waits
	x                   *qDialect  // a dialect's state (dialect_send.go); nil on Linux
}

// waitState is a queue's blocked callers and its spare waiters. Most
// queues never see a caller wait, so a queue allocates it the first time
// one does (queue.waiting) and keeps it. Guarded by the queue's slot lock.
type waitState struct {
	senders   waitList // blocked senders, oldest first
	receivers receivers
	idle      *waiter // waiters kept for reuse, linked by next
	woken     *waiter // finished waiters to wake when the lock is released, linked by wake
}

// waiting returns the queue's waitState, allocating it if need be.
func (q *queue) waiting() *waitState {
	if q.waits == nil {
		q.waits = new(waitState)
	}
	return q.waits
}

// unlock releases the queue's slot lock and then wakes the waiters that
// were finished while it was held. Every path that may finish a waiter
// releases the lock with unlock. The list is read before the lock is
// released: once signalled, a waiter may be reused at once.
func (q *queue) unlock() {
	if ws := q.waits; ws != nil && ws.woken != nil {
		q.unlockAndWake(ws)
		return
	}
	q.mu.Unlock()
}

func (q *queue) unlockAndWake(ws *waitState) {
	if w := ws.woken; w.wake == nil { // one waiter, as a hand-off finishes
		ws.woken = nil
		q.mu.Unlock()
		w.cond.Signal()
		return
	}
	var buf [8]*waiter
	woken := buf[:0]
	for w := ws.woken; w != nil; w = w.wake {
		woken = append(woken, w)
	}
	ws.woken = nil
	q.mu.Unlock()
	for _, w := range woken {
		w.cond.Signal()
	}
}

// wakeLocked wakes the finished waiters while the lock is held, for a
// caller about to wait itself: its wait releases the lock without unlock.
func (q *queue) wakeLocked() {
	ws := q.waits
	for w := ws.woken; w != nil; w = w.wake {
		w.cond.Signal()
	}
	ws.woken = nil
}

// searchMode is how msgrcv selects a message (Linux convert_mode).
type searchMode uint8

const (
	searchAny       searchMode = iota // msgtyp 0: the oldest message
	searchEqual                       // msgtyp > 0: the oldest of type msgtyp
	searchNotEqual                    // msgtyp > 0 with MSG_EXCEPT: the oldest of another type
	searchLessEqual                   // msgtyp < 0: the oldest of the least type ≤ |msgtyp|
	searchNumber                      // MSG_COPY: the message at position msgtyp
	searchFirstGE                     // OpenBSD msgtyp < 0: the first in FIFO order of type ≥ |msgtyp|
	searchFirstLE                     // FreeBSD msgtyp < 0: the first in FIFO order of type ≤ |msgtyp|
)

// convertMode turns msgrcv's msgtyp and flags into a mode and the value the
// mode compares with, as Linux's convert_mode does: MSG_COPY wins, then
// msgtyp's sign; MSG_EXCEPT matters only for positive msgtyp; and the
// bound for msgtyp < 0 is |msgtyp|, with math.MinInt64 taken as
// math.MaxInt64 (its negation does not exist).
func convertMode(msgtyp int64, msgflg int32) (searchMode, int64) {
	switch {
	case msgflg&MSG_COPY != 0:
		return searchNumber, msgtyp
	case msgtyp == 0:
		return searchAny, 0
	case msgtyp < 0:
		if msgtyp == -msgtyp { // math.MinInt64
			return searchLessEqual, 1<<63 - 1
		}
		return searchLessEqual, -msgtyp
	case msgflg&MSG_EXCEPT != 0:
		return searchNotEqual, msgtyp
	}
	return searchEqual, msgtyp
}

// matches reports whether a message of type mtype suits a receiver waiting
// with mode and msgtyp (Linux testmsg).
func matches(mtype int64, mode searchMode, msgtyp int64) bool {
	switch mode {
	case searchAny:
		return true
	case searchEqual:
		return mtype == msgtyp
	case searchNotEqual:
		return mtype != msgtyp
	case searchLessEqual, searchFirstLE:
		return mtype <= msgtyp
	case searchFirstGE:
		return mtype >= msgtyp
	}
	return false
}

// find returns the list whose head msgrcv takes in mode, or nil.
func (q *queue) find(mode searchMode, msgtyp int64) *typeList {
	switch mode {
	case searchAny:
		return q.msgs.first()
	case searchEqual:
		return q.msgs.exact(msgtyp)
	case searchNotEqual:
		return q.msgs.except(msgtyp)
	case searchLessEqual:
		return q.msgs.lowest(msgtyp)
	case searchFirstGE, searchFirstLE:
		return q.msgs.firstWhere(mode, msgtyp)
	}
	return nil
}

// fits reports whether a message of n bytes fits: its bytes within qbytes,
// and the message count within qbytes too, which stops floods of empty
// messages (Linux msg_fits_inqueue), and within maxQueued.
func (q *queue) fits(n int) bool {
	return uint64(n)+q.cbytes <= q.qbytes && 1+uint64(q.msgs.count) <= min(q.qbytes, maxQueued)
}

// send is the part of msgsnd(2) after the id lookup (Linux do_msgsnd): it
// checks write permission, queues the message or hands it to a waiting
// receiver, and, when the queue is full, fails with EAGAIN under
// IPC_NOWAIT or waits until it fits, the queue is removed (EIDRM) or ctx
// ends. A sender that loses write permission while it waits fails with
// EACCES when its message would fit.
func (q *queue) send(ctx context.Context, c *Cred, mtype int64, text []byte, msgflg int32) error {
	if !q.perm.permits(c, accessWrite) {
		return syscall.EACCES
	}
	if q.fits(len(text)) {
		q.stampSend(c)
		if !q.handOff(mtype, text) {
			q.enqueue(q.msgs.newMessage(mtype, text))
		}
		return nil
	}
	if msgflg&IPC_NOWAIT != 0 {
		return syscall.EAGAIN
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := q.newWaiter(c)
	w.msg = q.msgs.newMessage(mtype, text)
	w.flags = msgflg
	q.waits.senders.pushBack(w)
	q.ns.watch.notify()
	return q.wait(ctx, w)
}

// stampSend records a send made as c: msg_lspid and msg_stime.
func (q *queue) stampSend(c *Cred) {
	q.lspid = c.PID
	q.stime = q.ns.seconds()
}

// handOff gives a message that is being sent straight to the oldest
// waiting receiver it suits (Linux pipelined_send), and reports whether
// one took it. The text is copied into that receiver's buffer here, under
// the lock, and the receiver is completed: it wakes with its message and
// nothing left to do, so no message is stored for it. A receiver whose
// buffer is too small fails with E2BIG and the message goes on to the next.
func (q *queue) handOff(mtype int64, text []byte) bool {
	ws := q.waits
	if ws == nil {
		return false
	}
	for ws.receivers.n > 0 {
		w := ws.receivers.oldestFor(mtype)
		if w == nil {
			break
		}
		ws.receivers.remove(w)
		if len(text) > w.maxSize {
			q.finish(w, syscall.E2BIG) // and the message goes on to the next
			continue
		}
		q.lrpid = w.cred.PID
		q.rtime = q.stime
		w.req.deliver(mtype, text)
		q.finish(w, nil)
		return true
	}
	return false
}

// enqueue appends m to the queue's messages.
func (q *queue) enqueue(m *message) {
	q.msgs.push(m)
	q.cbytes += uint64(len(m.text))
}

// wakeSenders lets blocked senders through after room was made (Linux
// ss_wakeup): in FIFO order, every sender whose message now fits is
// completed, and one whose message does not fit is passed over, not
// waited for. A sender completed here that has lost write permission gets
// EACCES, as it would when it woke on Linux.
func (q *queue) wakeSenders() {
	ws := q.waits
	if ws == nil || ws.senders.head == nil {
		return
	}
	eachIn(&ws.senders, func(w *waiter) {
		if !q.fits(len(w.msg.text)) {
			return
		}
		ws.senders.remove(w)
		if !q.perm.permits(w.cred, accessWrite) {
			q.msgs.recycle(w.msg)
			w.msg = nil
			q.finish(w, syscall.EACCES)
			return
		}
		m := w.msg
		w.msg = nil
		q.stampSend(w.cred)
		if q.handOff(m.mtype, m.text) {
			q.msgs.recycle(m)
		} else {
			q.enqueue(m)
		}
		q.finish(w, nil)
	})
}

// recvReq is one msgrcv's destination and, once it succeeds, its result.
type recvReq struct {
	buf   []byte // where the text goes (RecvInto), or nil to allocate (Recv)
	size  int    // msgsz: the most bytes the caller takes
	alloc bool

	n     int
	mtype int64
	text  []byte // the allocated text, with alloc
}

// deliver copies a message's text into r, truncated to r.size, and
// records the message's type.
func (r *recvReq) deliver(mtype int64, text []byte) {
	n := min(len(text), r.size)
	if r.alloc {
		r.text = make([]byte, n)
		copy(r.text, text)
	} else {
		copy(r.buf, text[:n])
	}
	r.n, r.mtype = n, mtype
}

// receive is the part of msgrcv(2) after the argument checks and the id
// lookup (Linux do_msgrcv): it checks read permission and takes (or, with
// MSG_COPY, copies) the selected message, failing with E2BIG if it is
// longer than r.size without MSG_NOERROR; when there is none it fails with
// ENOMSG under IPC_NOWAIT, or waits for one, for the queue's removal
// (EIDRM), for IPC_SET to take its permission away (EACCES) or for ctx.
func (q *queue) receive(ctx context.Context, c *Cred, r *recvReq, msgtyp int64, msgflg int32) error {
	if !q.perm.permits(c, accessRead) {
		return syscall.EACCES
	}
	asked := msgtyp
	mode, msgtyp := convertMode(msgtyp, msgflg)
	if mode == searchNumber {
		return q.copyMessage(r, msgtyp, msgflg)
	}
	if l := q.find(mode, msgtyp); l != nil {
		if len(l.head.text) > r.size && msgflg&MSG_NOERROR == 0 {
			return syscall.E2BIG
		}
		m := q.msgs.take(l)
		q.cbytes -= uint64(len(m.text))
		q.rtime = q.ns.seconds()
		q.lrpid = c.PID
		r.deliver(m.mtype, m.text)
		if q.msgs.count == 0 && q.msgs.spare == nil {
			// recycle's usual case, written out here on W1's path: recycle
			// is too big to inline, and the call cost W1 6% (measured).
			putMessage(m)
		} else {
			q.msgs.recycle(m)
		}
		q.wakeSenders()
		return nil
	}
	if msgflg&IPC_NOWAIT != 0 {
		return syscall.ENOMSG
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return q.waitReceive(ctx, q.newWaiter(c), r, mode, msgtyp, asked, msgflg, msgflg&MSG_NOERROR != 0)
}

// waitReceive parks w, a receiver selecting with mode and msgtyp (asked
// and msgflg as the caller gave them, for Blocked), until a sender hands
// it a message into r or it fails, and returns how it ended.
func (q *queue) waitReceive(ctx context.Context, w *waiter, r *recvReq, mode searchMode, msgtyp, asked int64, msgflg int32, noerror bool) error {
	w.mode, w.msgtyp, w.maxSize = mode, msgtyp, r.size
	if noerror {
		w.maxSize = noLimit
	}
	w.typ, w.size, w.flags = asked, r.size, msgflg
	// A copy of the destination, so that r stays on the caller's stack.
	w.req.buf, w.req.size, w.req.alloc = r.buf, r.size, r.alloc
	q.waits.receivers.add(w)
	q.ns.watch.notify()
	err := q.wait(ctx, w)
	// A sender filled w.req in if it completed w. The lock is still held,
	// so w, though back among the idle waiters, is not reused yet.
	if err == nil {
		r.n, r.mtype, r.text = w.req.n, w.req.mtype, w.req.text
	}
	w.req.buf, w.req.text = nil, nil // let go of the caller's memory
	return err
}

// copyMessage is msgrcv with MSG_COPY: it copies the message at position k
// (0 is the oldest) without taking it or touching the queue's times.
// Linux copies into a buffer of min(msgsz, MsgMax) bytes, so MSG_NOERROR
// does not truncate here: a longer message gives EINVAL instead of E2BIG.
func (q *queue) copyMessage(r *recvReq, k int64, msgflg int32) error {
	m := q.msgs.nth(k)
	if m == nil {
		return syscall.ENOMSG
	}
	if len(m.text) > r.size {
		if msgflg&MSG_NOERROR == 0 {
			return syscall.E2BIG
		}
		return syscall.EINVAL
	}
	r.deliver(m.mtype, m.text)
	return nil
}

// newWaiter returns a fresh waiter for a caller acting as c, and makes
// sure the queue has its waitState.
func (q *queue) newWaiter(c *Cred) *waiter {
	ws := q.waiting()
	w := ws.idle
	if w != nil {
		ws.idle = w.next
		w.next = nil
	} else {
		w = &waiter{}
		w.cond.L = q.mu
	}
	w.cred = c
	w.done = false
	w.err = nil
	return w
}

// wait blocks until w is completed or ctx ends, and returns how it ended.
// The waiter is linked on a list by the caller; it is unlinked when wait
// returns. A sender that did not send gets its message back into the pool.
func (q *queue) wait(ctx context.Context, w *waiter) error {
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			q.mu.Lock()
			defer q.unlock()
			if !w.done {
				q.unlink(w)
				q.finish(w, ctx.Err())
			}
		})
	}
	q.wakeLocked()
	var since time.Time
	timed := q.ns.hooks != nil && q.ns.hooks.timed
	if timed {
		since = time.Now()
	}
	for !w.done {
		w.cond.Wait()
	}
	if timed {
		addBlocked(ctx, since)
	}
	err := w.err
	if w.msg != nil && !q.removed { // a sender that did not send
		q.msgs.recycle(w.msg)
	}
	w.msg, w.cred = nil, nil
	// Reuse w only if the AfterFunc will never run: once started it may
	// still be waiting for the lock, holding w.
	if stop == nil || stop() {
		w.next = q.waits.idle
		q.waits.idle = w
	}
	return err
}

// unlink takes a waiter off whichever list it waits on.
func (q *queue) unlink(w *waiter) {
	if ws := q.waits; w.list == &ws.senders {
		ws.senders.remove(w)
		q.senderLeft(w)
	} else {
		ws.receivers.remove(w)
	}
}

// stat fills Linux's msqid64_ds for IPC_STAT, MSG_STAT and MSG_STAT_ANY.
func (q *queue) stat() MsqidDS {
	ds := MsqidDS{
		Perm: IPCPerm{
			Key:  q.perm.key,
			UID:  q.perm.uid,
			GID:  q.perm.gid,
			CUID: q.perm.cuid,
			CGID: q.perm.cgid,
			Mode: q.perm.mode,
			Seq:  q.perm.seq,
		},
		Stime:  unixTime(q.stime),
		Rtime:  unixTime(q.rtime),
		Ctime:  unixTime(q.ctime),
		Cbytes: q.cbytes,
		Qnum:   uint64(q.msgs.count),
		Qbytes: q.qbytes,
		Lspid:  q.lspid,
		Lrpid:  q.lrpid,
	}
	if q.x != nil {
		q.dstat(&ds)
	}
	return ds
}

// destroy is IPC_RMID after the checks (Linux freeque): every waiter fails
// with EIDRM and the messages are dropped; with keep, they are returned,
// oldest first. The caller frees the id and key.
func (q *queue) destroy(keep bool) (dropped []Message, woken int) {
	q.removed = true
	fail := func(w *waiter) {
		woken++
		q.finish(w, syscall.EIDRM)
	}
	if ws := q.waits; ws != nil {
		eachIn(&ws.senders, func(w *waiter) {
			ws.senders.remove(w)
			fail(w)
		})
		ws.receivers.each(func(w *waiter) {
			ws.receivers.remove(w)
			fail(w)
		})
		ws.receivers = receivers{}
		ws.idle = nil
	}
	if keep {
		dropped = q.msgs.all()
	}
	q.msgs.reset()
	q.cbytes = 0
	q.ns.watch.notify()
	return dropped, woken
}
