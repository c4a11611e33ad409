package msgq

import (
	"math"
	"slices"
	"sync"
)

// A waiter is one blocked msgsnd or msgrcv. Each has its own sync.Cond on
// its queue's slot lock, so that whoever completes it (a sender handing it a
// message, a receiver making room, IPC_SET, IPC_RMID, or its context ending)
// wakes it and nobody else. Whoever completes a waiter does the waiter's
// work for it under the lock, so a waiter that wakes has nothing left to
// decide: done is set and err says how it ended.
//
// All fields are guarded by the queue's slot lock.
type waiter struct {
	cond       sync.Cond // L is the queue's slot lock
	prev, next *waiter
	list       *waitList // the list it waits on; nil once done
	wake       *waiter   // the next finished waiter to wake (waitState.woken)
	cred       *Cred
	done       bool
	err        error

	// A blocked sender's message, copied in before it sleeps as Linux's
	// load_msg does; it is queued (or handed to a receiver) on its behalf.
	msg *message

	// A blocked receiver's selector, and where a sender puts the message
	// it hands over (handOff).
	req     recvReq
	mode    searchMode
	msgtyp  int64
	maxSize int    // a longer message gets E2BIG (math.MaxInt with MSG_NOERROR)
	order   uint64 // when it started waiting: receivers are served oldest first

	// The call as it was made, for Blocked.
	typ   int64 // a receiver's msgtyp
	size  int   // a receiver's msgsz
	flags int32 // msgflg

	why fullCheck // a dialect's sleeping sender: what it waits for (dialect_send.go)
}

// finish completes w with err. The waiter is woken when the lock is
// released (queue.unlock), as Linux's wake_q wakes tasks after the queue's
// spinlock is dropped: woken at once, it would only wait for the lock.
func (q *queue) finish(w *waiter, err error) {
	w.done = true
	w.err = err
	ws := q.waits // a waiter exists only once its queue has a waitState
	w.wake = ws.woken
	ws.woken = w
}

// waitList is a FIFO of waiters.
type waitList struct {
	head, tail *waiter
}

func (l *waitList) pushBack(w *waiter) {
	w.list = l
	w.prev = l.tail
	w.next = nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
}

func (l *waitList) remove(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.list = nil, nil, nil
}

// receivers holds the blocked receivers of one queue, indexed so that a
// sender finds the oldest receiver its message suits without looking at
// receivers waiting for other types: those waiting for one type sit in a
// FIFO of that type, those taking any type in one FIFO, and the rarer
// "type at most n" and MSG_EXCEPT receivers in a third FIFO that is
// scanned.
type receivers struct {
	n      int                  // receivers waiting
	order  uint64               // arrivals so far
	exact  []*exactList         // msgtyp > 0 without MSG_EXCEPT, one list per type
	byType map[int64]*exactList // exact indexed by type, once it has more than linearTypes lists
	nEmpty int                  // empty lists still in exact
	none   int64                // a type no receiver in exact waits for, or 0
	any    waitList             // msgtyp 0
	other  waitList             // msgtyp < 0, and msgtyp > 0 with MSG_EXCEPT
}

// exactList is the FIFO of the receivers waiting for one type.
type exactList struct {
	mtype int64
	waitList
}

// linearTypes is how many exact lists are searched in order before they
// are indexed by a map: a scan of a few is cheaper than hashing.
const linearTypes = 8

// find returns the exact list for mtype, or nil.
func (r *receivers) find(mtype int64) *exactList {
	if r.byType != nil {
		return r.byType[mtype]
	}
	for _, l := range r.exact {
		if l.mtype == mtype {
			return l
		}
	}
	return nil
}

func (r *receivers) add(w *waiter) {
	r.n++
	r.order++
	w.order = r.order
	switch w.mode {
	case searchAny:
		r.any.pushBack(w)
	case searchEqual:
		if w.msgtyp == r.none {
			r.none = 0
		}
		l := r.find(w.msgtyp)
		if l == nil {
			l = &exactList{mtype: w.msgtyp}
			r.exact = append(r.exact, l)
			if r.byType != nil {
				r.byType[l.mtype] = l
			} else if len(r.exact) > linearTypes {
				r.index()
			}
		} else if l.head == nil {
			r.nEmpty--
		}
		l.pushBack(w)
	default:
		r.other.pushBack(w)
	}
}

func (r *receivers) remove(w *waiter) {
	r.n--
	l := w.list
	l.remove(w)
	if w.mode == searchEqual && l.head == nil {
		r.nEmpty++
		if r.nEmpty > 32 && r.nEmpty > len(r.exact)/2 {
			r.exact = slices.DeleteFunc(r.exact, func(l *exactList) bool { return l.head == nil })
			r.nEmpty = 0
			r.byType = nil
			if len(r.exact) > linearTypes {
				r.index()
			}
		}
	}
}

// index builds byType from exact.
func (r *receivers) index() {
	r.byType = make(map[int64]*exactList, len(r.exact))
	for _, l := range r.exact {
		r.byType[l.mtype] = l
	}
}

// oldestFor returns the receiver that has waited longest among those whose
// selector accepts a message of type mtype, or nil.
func (r *receivers) oldestFor(mtype int64) *waiter {
	best := r.any.head
	if mtype != r.none && len(r.exact) > 0 {
		// Remember a miss: senders tend to repeat a type that receivers
		// parked on other types do not want.
		if l := r.find(mtype); l == nil || l.head == nil {
			r.none = mtype
		} else if best == nil || l.head.order < best.order {
			best = l.head
		}
	}
	for w := r.other.head; w != nil; w = w.next {
		if best != nil && w.order > best.order {
			break // the list is in arrival order: nothing later can win
		}
		if matches(mtype, w.mode, w.msgtyp) {
			best = w
			break
		}
	}
	return best
}

// each calls f for every blocked receiver; f may remove the one it is
// given. The exact lists are visited from a copy of r.exact: a removal
// that empties many lists sweeps them out of r.exact in place.
func (r *receivers) each(f func(w *waiter)) {
	eachIn(&r.any, f)
	eachIn(&r.other, f)
	if len(r.exact) == 0 {
		return
	}
	for _, l := range slices.Clone(r.exact) {
		eachIn(&l.waitList, f)
	}
}

// eachIn calls f for every waiter on l; f may remove the one it is given.
func eachIn(l *waitList, f func(w *waiter)) {
	for w := l.head; w != nil; {
		next := w.next
		f(w)
		w = next
	}
}

// noLimit is a receiver's maxSize under MSG_NOERROR (Linux uses INT_MAX).
const noLimit = math.MaxInt
