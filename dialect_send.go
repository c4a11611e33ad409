package msgq

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The send and receive paths of every dialect but Linux (whose rules the
// hand-written queue.send and queue.receive implement): they walk the
// dialect's check lists (dialects.md §3, §4) and keep the state the other
// systems have and Linux does not: the namespace's message pool (MsgTql
// headers and MsgSeg segments of MsgSsz bytes), SVR4's sticky wait flags,
// FreeBSD's queue lock and its senders' one-second polling.

// qDialect is a queue's state under a dialect other than Linux (nil on
// Linux). Guarded by the queue's slot lock.
type qDialect struct {
	flags  uint16      // SVR4: the sticky MSG_RWAIT and MSG_WWAIT bits (S4 msgsnd, msgrcv)
	owner  *waiter     // FreeBSD: the sender holding MSG_LOCKED, or nil (FB kern_msgsnd)
	segs   int         // pool segments held by the queued messages
	poll   *time.Timer // FreeBSD: re-polls the sleeping senders (FB kern_msgsnd msleep hz)
	polled bool        // the poll timer is armed
	order  uint64      // creation order (illumos msgids: newest first)
	pooled bool        // listed in nsPool.waiting
}

// nsPool is a namespace's message headers (MsgTql) and segments (MsgSeg
// of MsgSsz bytes), where the dialect has them (OpenBSD, FreeBSD, SVR4).
type nsPool struct {
	tql, seg, ssz uint64 // immutable: the limits, 0 where absent

	used atomic.Uint64 // messages<<32 | segments held, across the namespace
	// freed says a message was freed since the last kick; tqlHit that a
	// sender met MsgTql (OpenBSD's maxmsgs).
	freed, tqlHit atomic.Bool
	nwait         atomic.Int32 // len(waiting)

	mu      sync.Mutex          // a leaf lock, taken under slot locks
	waiting map[*queue]struct{} // queues with sleeping senders; guarded by mu
}

func newNSPool(l Limits) *nsPool {
	if l.MsgTql == 0 && l.MsgSeg == 0 {
		return nil
	}
	return &nsPool{tql: uint64(l.MsgTql), seg: uint64(l.MsgSeg), ssz: uint64(l.MsgSsz), waiting: map[*queue]struct{}{}}
}

// segsOf is the number of segments a text of n bytes takes (0 without a pool).
func (p *nsPool) segsOf(n int) uint64 {
	if p == nil || p.ssz == 0 {
		return 0
	}
	return (uint64(n) + p.ssz - 1) / p.ssz
}

// short reports which pool limit a message of n bytes would pass, in the
// order of the dialect's fullness list, or 0.
func (p *nsPool) short(f fullCheck, n int) bool {
	if p == nil {
		return false
	}
	u := p.used.Load()
	switch f {
	case fullTql:
		return p.tql > 0 && u>>32 >= p.tql
	case fullSeg:
		return p.seg > 0 && u&0xffffffff+p.segsOf(n) > p.seg
	}
	return false
}

// reserve takes a header and the segments of n bytes, if both are free.
func (p *nsPool) reserve(n int) bool {
	if p == nil {
		return true
	}
	segs := p.segsOf(n)
	for {
		u := p.used.Load()
		if p.tql > 0 && u>>32 >= p.tql || p.seg > 0 && u&0xffffffff+segs > p.seg {
			return false
		}
		if p.used.CompareAndSwap(u, u+1<<32+segs) {
			return true
		}
	}
}

// release gives back msgs headers and segs segments.
func (p *nsPool) release(msgs, segs uint64) {
	if p == nil || msgs == 0 && segs == 0 {
		return
	}
	p.used.Add(-(msgs<<32 + segs))
	p.freed.Store(true)
}

// kick wakes the senders of other queues that the pool's limits hold, as
// the dialect does when a message is freed (§12). It runs with no lock
// held, after a call that freed messages released its queue's lock.
func (core *nsCore) kick() {
	p := core.pool
	if p == nil || !p.freed.Load() {
		return
	}
	for p.freed.Swap(false) {
		if p.nwait.Load() == 0 {
			return
		}
		var onlyShort bool
		switch core.rules.poolWake {
		case poolWakeNone:
			return
		case poolWakeTql:
			if !p.tqlHit.Swap(false) {
				continue
			}
		case poolWakeShort:
			onlyShort = true
		}
		p.mu.Lock()
		qs := make([]*queue, 0, len(p.waiting))
		for q := range p.waiting {
			qs = append(qs, q)
		}
		p.mu.Unlock()
		for _, q := range qs {
			q.mu.Lock()
			if !q.removed {
				q.dwake(onlyShort)
			}
			q.unpoolIfIdle()
			q.unlock()
		}
	}
}

// unpoolIfIdle takes a queue without sleeping senders off the pool's list.
func (q *queue) unpoolIfIdle() {
	p := q.ns.pool
	if p == nil || !q.x.pooled || q.waits != nil && q.waits.senders.head != nil && !q.removed {
		return
	}
	q.x.pooled = false
	p.mu.Lock()
	delete(p.waiting, q)
	p.nwait.Store(int32(len(p.waiting)))
	p.mu.Unlock()
}

// sendCheck makes one of msgsnd's argument checks; q is nil before the
// lookup.
func (ns *Namespace) sendCheck(k sendCheck, q *queue, mtype int64, size int) error {
	core := ns.core
	switch k {
	case ckType:
		if mtype < 1 {
			return syscall.EINVAL
		}
	case ckMax:
		if core.limits.MsgMax > 0 && size > core.limits.MsgMax {
			return syscall.EINVAL
		}
	case ckQbytes:
		if uint64(size) > q.qbytes {
			return syscall.EINVAL
		}
	case ckWrite:
		if !core.rules.permits(&q.perm, &ns.cred, accessWrite) {
			return syscall.EACCES
		}
	}
	return nil
}

// dsend is msgsnd(2) under a dialect other than Linux. h is the Go
// layer's queue (EIDRM once removed); without it, id is looked up.
func (ns *Namespace) dsend(ctx context.Context, h *queue, id int32, mtype int64, text []byte, msgflg int32) error {
	core := ns.core
	r := core.rules
	if r.mtype32 {
		mtype = int64(int32(mtype)) // AIXm msgsnd: a 32-bit mtype
	}
	for _, k := range r.sendPre {
		if err := ns.sendCheck(k, nil, mtype, len(text)); err != nil {
			return err
		}
	}
	q, err := lockFor(core, h, id)
	if err != nil {
		return err
	}
	for _, k := range r.sendPost {
		if err := ns.sendCheck(k, q, mtype, len(text)); err != nil {
			q.unlock()
			return err
		}
	}
	m := q.msgs.newMessage(mtype, text)
	why, err := q.dtry(nil, &ns.cred, m)
	switch {
	case err != nil:
		q.msgs.recycle(m)
	case why == 0:
	case msgflg&IPC_NOWAIT != 0:
		q.msgs.recycle(m)
		err = syscall.EAGAIN
	case ctx.Err() != nil:
		q.msgs.recycle(m)
		err = ctx.Err()
	default:
		w := q.newWaiter(&ns.cred)
		w.msg, w.flags = m, msgflg
		q.waits.senders.pushBack(w)
		q.sleep(w, why)
		q.ns.watch.notify()
		err = q.wait(ctx, w)
	}
	q.unlock()
	core.kick()
	return err
}

// lockFor returns the queue h, locked (EIDRM if it was removed), or
// without h the queue with id, locked (EINVAL if there is none).
func lockFor(core *nsCore, h *queue, id int32) (*queue, error) {
	if h == nil {
		return core.ids.lockID(id)
	}
	h.mu.Lock()
	if h.removed {
		h.mu.Unlock()
		return nil, syscall.EIDRM
	}
	return h, nil
}

// dtry considers a sender of m: w is its waiter once it sleeps, nil for a
// new call. It returns the reason m must wait (0 if it was sent) or the
// error that ends the call.
func (q *queue) dtry(w *waiter, c *Cred, m *message) (fullCheck, error) {
	r := q.ns.rules
	x := q.x
	if x.owner != nil && x.owner == w {
		x.owner = nil // FB kern_msgsnd: the owner drops MSG_LOCKED when it wakes
	}
	for _, k := range r.sendLoop {
		if k == ckQbytes && uint64(len(m.text)) > q.qbytes {
			return 0, syscall.EINVAL // FB kern_msgsnd: rechecked after every wait
		}
	}
	n := len(m.text)
	for _, f := range r.full {
		if q.dshort(f, w, n) {
			return f, nil
		}
	}
	if q.msgs.count == maxQueued {
		return r.full[0], nil // msgq's own bound (messages.go): waits as for the system's first
	}
	if r.typeLast && m.mtype < 1 {
		return 0, syscall.EINVAL // OB msg_copyin, FB kern_msgsnd: only now
	}
	p := q.ns.pool
	if !p.reserve(n) {
		// Another queue took the last header or segments since dshort
		// looked: wait, as the system would have.
		if p.short(fullTql, n) {
			return fullTql, nil
		}
		return fullSeg, nil
	}
	// The message holds its header and segments while it is queued; one
	// handed straight to a receiver gives them back at once, as its
	// receive would.
	if q.dcommit(c, m) {
		x.segs += int(p.segsOf(n))
	} else {
		p.release(1, p.segsOf(n))
	}
	return 0, nil
}

// dshort reports whether fullness test f holds for a message of n bytes.
func (q *queue) dshort(f fullCheck, w *waiter, n int) bool {
	switch f {
	case fullBytesAdd:
		return q.cbytes+uint64(n) > q.qbytes
	case fullBytesSub:
		return q.qbytes-q.cbytes < uint64(n)
	case fullMnm:
		mnm := q.ns.limits.MsgMnm
		return mnm > 0 && int(q.msgs.count) >= mnm
	case fullLocked:
		return q.x.owner != nil && q.x.owner != w
	}
	return q.ns.pool.short(f, n)
}

// sleep records that sender w (re)starts to wait for reason why: FreeBSD's
// lock, SVR4's MSG_WWAIT, OpenBSD's maxmsgs, the pool's list and
// FreeBSD's polling.
func (q *queue) sleep(w *waiter, why fullCheck) {
	r := q.ns.rules
	x := q.x
	w.why = why
	if r.lockQ && x.owner == nil {
		x.owner = w // FB kern_msgsnd: the first sender to sleep locks the queue
	}
	if r.stat == statSticky && why == fullBytesAdd {
		x.flags |= modeMsgWWait // S4 msgsnd: set only when sleeping for bytes
	}
	if p := q.ns.pool; p != nil {
		if why == fullTql {
			p.tqlHit.Store(true) // OB sys_msgsnd: maxmsgs = 1
		}
		if !x.pooled {
			x.pooled = true
			p.mu.Lock()
			p.waiting[q] = struct{}{}
			p.nwait.Store(int32(len(p.waiting)))
			p.mu.Unlock()
		}
	}
	if r.poll > 0 && !x.polled {
		x.polled = true
		if x.poll == nil {
			x.poll = time.AfterFunc(r.poll, q.repoll)
		} else {
			x.poll.Reset(r.poll)
		}
	}
}

// repoll is FreeBSD's once-a-second wake-up of the sleeping senders.
func (q *queue) repoll() {
	q.mu.Lock()
	q.x.polled = false
	if !q.removed {
		q.dwake(false)
		if q.waits.senders.head != nil && !q.x.polled {
			q.x.polled = true
			q.x.poll.Reset(q.ns.rules.poll)
		}
	}
	q.unlock()
	q.ns.kick()
}

// dcommit records the send and delivers m: straight to the oldest waiting
// receiver it suits, else onto the queue. It reports whether m was queued.
func (q *queue) dcommit(c *Cred, m *message) (queued bool) {
	q.stampSend(c)
	q.x.flags &^= modeMsgRWait // S4 msgsnd: cleared by the next message sent
	if q.handOff(m.mtype, m.text) {
		q.x.flags &^= modeMsgWWait // the receive it is: S4 msgrcv clears MSG_WWAIT
		q.msgs.recycle(m)
		return false
	}
	q.enqueue(m)
	return true
}

// dwake reconsiders the sleeping senders in FIFO order (§12: every system
// but Linux wakes them all and each rechecks): those that now pass are
// sent, those that fail end with their error, the others sleep again.
// onlyShort limits it to the senders sleeping for a header or segments.
func (q *queue) dwake(onlyShort bool) {
	ws := q.waits
	if ws == nil {
		return
	}
	eachIn(&ws.senders, func(w *waiter) {
		if onlyShort && w.why != fullTql && w.why != fullSeg {
			return
		}
		why, err := q.dtry(w, w.cred, w.msg)
		if err == nil && why != 0 {
			q.sleep(w, why)
			return
		}
		ws.senders.remove(w)
		if err != nil {
			q.msgs.recycle(w.msg)
		}
		w.msg = nil
		q.finish(w, err)
	})
}

// senderLeft is called when a sleeping sender leaves by its context:
// see senderGone; the other writers are woken at once.
func (q *queue) senderLeft(w *waiter) {
	if q.senderGone(w) {
		q.dwake(false)
	}
}

// senderGone records that sleeping sender w left by its context or an
// interrupt, as the system's signal path does: FreeBSD's owner drops the
// lock; SVR4 clears MSG_WWAIT, and then wakes the other writers, which
// senderGone reports for its caller to do once it is done with the list.
func (q *queue) senderGone(w *waiter) (wakeWriters bool) {
	x := q.x
	if x == nil {
		return false
	}
	if x.owner == w {
		x.owner = nil // FB kern_msgsnd: we_own_it, cleared on the error path
	}
	if q.ns.rules.stat == statSticky && x.flags&modeMsgWWait != 0 {
		x.flags &^= modeMsgWWait // S4 msgsnd: the signal path clears it and wakes writers
		return true
	}
	return false
}

// recvMode turns msgrcv's msgtyp and (known) flags into a search mode and
// the value it compares with, as the dialect does (§4).
func (r *rules) recvMode(msgtyp int64, msgflg int32) (searchMode, int64) {
	if r.typ32 {
		t := int32(msgtyp) // OB msg_lookup takes an int
		if t < 0 {
			return searchFirstGE, int64(-t) // -INT_MIN is INT_MIN: every type matches
		}
		msgtyp = int64(t)
	}
	switch {
	case msgtyp == 0:
		return searchAny, 0
	case msgtyp > 0:
		return searchEqual, msgtyp
	}
	bound := -msgtyp
	if msgtyp == -msgtyp { // math.MinInt64
		bound = 1<<63 - 1
	}
	switch r.neg {
	case negFirstGE:
		return searchFirstGE, bound
	case negFirstLE:
		return searchFirstLE, bound
	}
	return searchLessEqual, bound
}

// drecv is msgrcv(2) under a dialect other than Linux; h and id as for
// dsend.
func (ns *Namespace) drecv(ctx context.Context, h *queue, id int32, req *recvReq, msgtyp int64, msgflg int32) error {
	core := ns.core
	r := core.rules
	if req.size < 0 {
		return syscall.EINVAL
	}
	q, err := lockFor(core, h, id)
	if err != nil {
		return err
	}
	err = q.dreceive(ctx, &ns.cred, req, msgtyp, msgflg&r.recvFlags)
	q.unlock()
	core.kick()
	return err
}

func (q *queue) dreceive(ctx context.Context, c *Cred, req *recvReq, msgtyp int64, msgflg int32) error {
	r := q.ns.rules
	if !r.permits(&q.perm, c, accessRead) {
		return syscall.EACCES
	}
	asked := msgtyp
	mode, bound := r.recvMode(msgtyp, msgflg)
	noerror := r.truncate || msgflg&MSG_NOERROR != 0
	if l := q.find(mode, bound); l != nil {
		if len(l.head.text) > req.size && !noerror {
			return syscall.E2BIG
		}
		m := q.msgs.take(l)
		q.cbytes -= uint64(len(m.text))
		q.rtime = q.ns.seconds()
		q.lrpid = c.PID
		req.deliver(m.mtype, m.text)
		q.dfree(m)
		q.dwake(false)
		return nil
	}
	if msgflg&IPC_NOWAIT != 0 {
		return syscall.ENOMSG
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := q.newWaiter(c)
	if r.stat == statSticky {
		q.x.flags |= modeMsgRWait // S4 msgrcv: set when a receiver sleeps
	}
	return q.waitReceive(ctx, w, req, mode, bound, asked, msgflg, noerror)
}

// dfree accounts for a message taken off the queue: its pool header and
// segments are free and SVR4's MSG_WWAIT is cleared.
func (q *queue) dfree(m *message) {
	segs := q.ns.pool.segsOf(len(m.text))
	q.x.segs -= int(segs)
	q.ns.pool.release(1, segs)
	q.x.flags &^= modeMsgWWait // S4 msgrcv: cleared by the next receive
	q.msgs.recycle(m)
}

// dremoved is IPC_RMID's share of the dialect state: the queue's pool
// headers and segments are free, it leaves the pool's list and its poll
// timer stops.
func (q *queue) dremoved() {
	x := q.x
	if x == nil {
		return
	}
	q.ns.pool.release(uint64(q.msgs.count), uint64(x.segs))
	x.segs, x.flags, x.owner = 0, 0, nil
	if x.poll != nil {
		x.poll.Stop()
		x.polled = false
	}
	q.unpoolIfIdle()
}

// firstWhere returns the list whose head is the first message in arrival
// order that a FIFO-scanning system's msgtyp < 0 selects (OpenBSD: type ≥
// bound; FreeBSD: type ≤ bound), or nil. That message is the oldest of its
// type, so it heads its type's list.
func (s *msgStore) firstWhere(mode searchMode, bound int64) *typeList {
	mask := uint32(len(s.ring) - 1)
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil && matches(m.mtype, mode, bound) {
			return s.list(m.mtype)
		}
	}
	return nil
}
