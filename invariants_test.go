package msgq

import (
	"errors"
	"fmt"
)

// checkInvariants checks the internal state of a namespace: the id table,
// the key index and every queue's messages and waiters. The fuzz targets
// and the stress test call it after hostile calls and at quiet moments.
func checkInvariants(ns *Namespace) error {
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	var errs []error
	queues := 0
	core.ids.each(func(q *queue) {
		queues++
		if q.removed {
			errs = append(errs, fmt.Errorf("queue %d: removed but still in the table", q.id))
		}
		if core.ids.index(int32(q.id)) > core.ids.maxIdx {
			errs = append(errs, fmt.Errorf("queue %d: index above maxIdx %d", q.id, core.ids.maxIdx))
		}
		if err := q.check(); err != nil {
			errs = append(errs, fmt.Errorf("queue %d: %w", q.id, err))
		}
	})
	if p := core.pool; p != nil {
		// The namespace's pool holds exactly the queued messages' headers
		// and segments (dialects.md §3).
		var msgs, segs uint64
		core.ids.each(func(q *queue) {
			var qsegs uint64
			for _, m := range q.msgs.all() {
				qsegs += p.segsOf(len(m.Text))
			}
			if qsegs != uint64(q.x.segs) {
				errs = append(errs, fmt.Errorf("queue %d: messages take %d segments, segs says %d", q.id, qsegs, q.x.segs))
			}
			msgs += uint64(q.msgs.count)
			segs += qsegs
		})
		if u := p.used.Load(); u>>32 != msgs || u&0xffffffff != segs {
			errs = append(errs, fmt.Errorf("pool says %d messages, %d segments; queues hold %d, %d", u>>32, u&0xffffffff, msgs, segs))
		}
		if p.tql > 0 && msgs > p.tql || p.seg > 0 && segs > p.seg {
			errs = append(errs, fmt.Errorf("pool over its limits: %d messages, %d segments", msgs, segs))
		}
	}
	if queues != core.ids.inUse {
		errs = append(errs, fmt.Errorf("%d queues in the table, inUse says %d", queues, core.ids.inUse))
	}
	for key, q := range core.keys {
		if q.perm.key != key || q.removed || key == IPC_PRIVATE {
			errs = append(errs, fmt.Errorf("key %d names queue %d (key %d, removed %v)", key, q.id, q.perm.key, q.removed))
		}
	}
	return errors.Join(errs...)
}

// check checks one queue; its slot lock must be held.
func (q *queue) check() error {
	s := &q.msgs
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Spares: a counted list, no longer than maxFree, and none at all
	// once the queue is empty.
	if s.spare != nil {
		var n uint32
		for m := s.spare; m != nil; m = m.next {
			n++
		}
		if n != s.spare.seq || n > maxFree {
			fail("%d spare messages, the list says %d (at most %d)", n, s.spare.seq, maxFree)
		}
		if s.count == 0 {
			fail("an empty queue keeps %d spare messages", n)
		}
	}

	// The ring holds the messages in arrival order, the oldest at its head.
	var inRing int
	var bytes uint64
	if s.count > 0 {
		mask := uint32(len(s.ring) - 1)
		if s.ring[s.head&mask] == nil {
			fail("ring head %d is a hole", s.head)
		}
		if s.tail-s.head > uint32(len(s.ring)) {
			fail("ring span %d exceeds its size %d", s.tail-s.head, len(s.ring))
		}
		for seq := s.head; seq < s.tail; seq++ {
			if m := s.ring[seq&mask]; m != nil {
				inRing++
				bytes += uint64(len(m.text))
				if m.seq != seq {
					fail("message at %d says seq %d", seq, m.seq)
				}
			}
		}
	}
	if inRing != int(s.count) {
		fail("ring holds %d messages, count says %d", inRing, s.count)
	}
	if bytes != q.cbytes {
		fail("messages hold %d bytes, cbytes says %d", bytes, q.cbytes)
	}

	// Each type's FIFO holds its messages in arrival order.
	inLists, empty, lists := 0, 0, 0
	if s.types == nil && s.last != nil && s.count > 0 && s.last.head == nil {
		fail("one list, empty, but %d messages", s.count)
	}
	if s.types != nil && s.last != nil && s.types[s.last.mtype] != s.last {
		fail("the last list, of type %d, is not in the map", s.last.mtype)
	}
	s.eachList(func(l *typeList) {
		lists++
		mtype := l.mtype
		if s.types != nil && s.types[mtype] != l {
			fail("list for type %d is not the map's", mtype)
		}
		if l.head == nil {
			empty++
			if l.tail != nil {
				fail("empty list for type %d has a tail", mtype)
			}
			return
		}
		var last *message
		for m := l.head; m != nil; m = m.next {
			inLists++
			if m.mtype != mtype {
				fail("type %d list holds a message of type %d", mtype, m.mtype)
			}
			if last != nil && m.seq <= last.seq {
				fail("type %d list out of order", mtype)
			}
			last = m
		}
		if last != l.tail {
			fail("type %d list tail is not its last message", mtype)
		}
	})
	if inLists != int(s.count) {
		fail("type lists hold %d messages, count says %d", inLists, s.count)
	}
	if empty != int(s.nEmpty) {
		fail("%d empty lists, nEmpty says %d", empty, s.nEmpty)
	}

	// The heaps, where kept, hold exactly the non-empty lists, in order.
	for k := range 2 {
		if s.heaps == nil || !s.heaps.kept[k] {
			continue
		}
		h := &s.heaps.h[k]
		if len(h.lists) != lists-empty {
			fail("heap %d holds %d lists, %d are non-empty", k, len(h.lists), lists-empty)
		}
		for i, l := range h.lists {
			if l.head == nil || int(l.pos[k]) != i {
				fail("heap %d: list %d at %d is empty or misplaced", k, l.mtype, i)
			}
			if i > 0 && h.less(i, (i-1)/2) {
				fail("heap %d: order broken at %d", k, i)
			}
		}
	}

	// Every waiter on a list is still waiting.
	if ws := q.waits; ws != nil {
		n := 0
		ws.receivers.each(func(w *waiter) {
			n++
			if w.done {
				fail("a finished receiver is still listed")
			}
		})
		if n != ws.receivers.n {
			fail("%d receivers listed, n says %d", n, ws.receivers.n)
		}
		eachIn(&ws.senders, func(w *waiter) {
			if w.done || w.msg == nil {
				fail("a listed sender is finished or has no message")
			}
		})
	}
	return errors.Join(errs...)
}
