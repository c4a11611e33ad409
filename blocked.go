package msgq

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
)

// Call is one call on a namespace: what WithFaults sees before a call
// runs, what Blocked reports of a call that waits, and what WithTrace
// reports (TraceEntry) of a call that finished.
type Call struct {
	Op    string // "msgget", "msgsnd", "msgrcv", "msgctl"
	Cred  Cred
	ID    int   // msqid (msgctl: its first argument); 0 for msgget
	Key   Key   // msgget
	Type  int64 // msgsnd's mtype, msgrcv's msgtyp
	Size  int   // msgsnd's text length, msgrcv's buffer size
	Flags int   // msgflg
	Cmd   int   // msgctl
}

// Blocked lists the calls blocked in the namespace: each msgsnd waiting
// for room and each msgrcv waiting for a message, on either layer. Queues
// come in table-index order; within a queue, the blocked senders in the
// order they will be let through, then the blocked receivers in the order
// they started waiting. A call is listed from the moment it is committed
// to wait (it has released the queue's lock and a send, receive, IPC_SET,
// IPC_RMID or its context's end completes it) until it is completed.
//
// Blocked is for test harnesses: a test that must act only once a caller
// sleeps (so that what follows is deterministic) waits for it with
// WaitBlocked rather than sleeping.
func (ns *Namespace) Blocked() []Call {
	var calls []Call
	ns.eachQueue(func(q *queue) { calls = q.appendBlocked(calls) })
	return calls
}

// eachQueue calls f with each queue of the namespace locked, in table-index
// order, skipping the queues removed since the list was taken. It takes
// the namespace lock only to list the queues, then each slot lock in turn,
// released with unlock so that the waiters f finishes are woken.
func (ns *Namespace) eachQueue(f func(q *queue)) {
	core := ns.core
	core.mu.Lock()
	var qs []*queue
	core.ids.each(func(q *queue) { qs = append(qs, q) })
	core.mu.Unlock()

	for _, q := range qs {
		q.mu.Lock()
		if !q.removed {
			f(q)
		}
		q.unlock()
	}
}

// Interrupt delivers what a signal with a handler would to every call
// blocked as process pid (Cred.PID): each msgsnd and msgrcv blocked in the
// namespace on behalf of pid, on either layer, returns EINTR, having sent
// or consumed nothing; the queue is left as it was (an interrupted
// sender's message is not queued, and no time or pid is stamped). It
// returns how many calls it interrupted.
//
// Linux never restarts msgsnd and msgrcv after a handler runs, whatever
// SA_RESTART says, so the caller sees EINTR; since Go 1.14 the runtime's
// preemption signals make that common in Go programs that call the real
// system calls, and code that retries on EINTR can be tested with this.
// A call counts as blocked as Blocked lists it: from the moment it is
// committed to wait. A call completed at the same instant (a message
// handed to a receiver, room made for a sender, IPC_RMID, its context
// ending) is completed or interrupted, never both: a message is delivered
// or stays where it was, never both or lost. Calls that begin to wait
// after Interrupt returns are not affected, as a signal handled before a
// call leaves no trace for it.
func (ns *Namespace) Interrupt(pid int32) int {
	n := 0
	ns.eachQueue(func(q *queue) { n += q.interrupt(pid) })
	return n
}

// interrupt fails the queue's blocked calls made as pid with EINTR and
// returns how many. The slot lock must be held; the waiters are woken by
// unlock. Removing a blocked sender makes no room, so nobody else can
// proceed because of it, as when a sender's context ends.
func (q *queue) interrupt(pid int32) int {
	ws := q.waits
	if ws == nil {
		return 0
	}
	n := 0
	wake := false
	eachIn(&ws.senders, func(w *waiter) {
		if w.cred.PID == pid {
			ws.senders.remove(w)
			wake = q.senderGone(w) || wake // a dialect's signal path (dialect_send.go)
			q.finish(w, syscall.EINTR)
			n++
		}
	})
	if wake {
		q.dwake(false)
	}
	ws.receivers.each(func(w *waiter) {
		if w.cred.PID == pid {
			ws.receivers.remove(w)
			q.finish(w, syscall.EINTR)
			n++
		}
	})
	return n
}

// appendBlocked appends the queue's blocked calls to calls. The slot lock
// must be held.
func (q *queue) appendBlocked(calls []Call) []Call {
	ws := q.waits
	if ws == nil {
		return calls
	}
	for w := ws.senders.head; w != nil; w = w.next {
		calls = append(calls, Call{
			Op: "msgsnd", Cred: w.cred.clone(), ID: int(q.id),
			Type: w.msg.mtype, Size: len(w.msg.text), Flags: int(w.flags),
		})
	}
	start := len(calls)
	var order []uint64
	ws.receivers.each(func(w *waiter) {
		calls = append(calls, Call{
			Op: "msgrcv", Cred: w.cred.clone(), ID: int(q.id),
			Type: w.typ, Size: w.size, Flags: int(w.flags),
		})
		order = append(order, w.order)
	})
	// receivers.each visits its lists one after another: put the
	// receivers back in arrival order.
	idx := make([]int, len(order))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(order[a], order[b]) })
	sorted := make([]Call, len(idx))
	for i, j := range idx {
		sorted[i] = calls[start+j]
	}
	return append(calls[:start], sorted...)
}

// nBlocked is the number of calls blocked on the queue. The slot lock must
// be held.
func (q *queue) nBlocked() int {
	ws := q.waits
	if ws == nil {
		return 0
	}
	n := ws.receivers.n
	for w := ws.senders.head; w != nil; w = w.next {
		n++
	}
	return n
}

// WaitBlocked waits until at least n calls are blocked on the queue msqid
// (see Blocked), without polling: each call that starts to wait in the
// namespace wakes it to count again. It returns nil once they are, EINVAL
// if msqid names no queue, EIDRM if the queue is removed first, and an
// error for which errors.Is(err, ctx.Err()) holds if ctx ends first.
func (ns *Namespace) WaitBlocked(ctx context.Context, msqid int, n int) error {
	id, ok := cInt(msqid)
	if !ok {
		return syscall.EINVAL
	}
	q, err := ns.core.ids.lockID(id)
	if err != nil {
		return err
	}
	q.mu.Unlock()

	w := &ns.core.watch
	w.watchers.Add(1)
	defer w.watchers.Add(-1)
	for {
		changed := w.changed()
		q.mu.Lock()
		removed, blocked := q.removed, q.nBlocked()
		q.mu.Unlock()
		switch {
		case removed:
			return syscall.EIDRM
		case blocked >= n:
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// blockWatch lets WaitBlocked sleep until a call blocks or a queue is
// removed. It costs a blocking call one atomic load while nobody watches.
// Its lock is a leaf: it is taken under slot locks and takes none.
type blockWatch struct {
	watchers atomic.Int32 // WaitBlocked calls in progress

	mu sync.Mutex
	ch chan struct{} // guarded by mu; closed (and dropped) at each change
}

// changed returns a channel that is closed at the next change.
func (b *blockWatch) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// notify wakes the WaitBlocked calls in progress, if any.
func (b *blockWatch) notify() {
	if b.watchers.Load() == 0 {
		return
	}
	b.mu.Lock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
	b.mu.Unlock()
}
