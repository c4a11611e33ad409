package msgq

import (
	"math"
	"sync"
)

// The messages of one queue, kept so that every msgrcv selection mode but
// MSG_COPY finds its message in time independent of the queue's depth.
//
// Every message a receive takes is the oldest of its type: msgtyp 0 takes
// the oldest message, msgtyp > 0 the oldest of that type, msgtyp < 0 the
// oldest of the least type present, MSG_EXCEPT the oldest of any other
// type. So the store keeps all messages in a ring in arrival order (its
// head is the oldest: msgtyp 0), one FIFO per type present (msgtyp > 0),
// and two heaps over those FIFOs: one ordered by type (msgtyp < 0: the
// root) and one by the arrival sequence of each FIFO's head (MSG_EXCEPT:
// the oldest message of a type other than t heads the root FIFO or one of
// the root's two children). Most queues never see msgtyp < 0 or
// MSG_EXCEPT, so each heap is built on the first receive that needs it
// and kept up from then on. MSG_COPY, which names a message by its
// position in arrival order, walks the ring from whichever end is nearer.
//
// An empty queue costs little: the type map is made only when a second
// type appears (one type lives in last alone), the heaps only when first
// needed, the ring lives in the store itself until the queue first holds
// more than firstRing messages, the first type's list lives in the store
// too (one: a send and a receive on a queue of one type touch no other
// memory of the queue's, which a table of a million queues pays for in
// cache misses), and a drained queue pins no message.
//
// Message storage is recycled in two tiers. A queue that still holds
// messages keeps the ones it delivers (up to maxFree) for its next sends,
// under the lock it already holds; when it drains it gives them all back
// to one pool for the whole process (messagePool), in batches of at most
// maxBatch linked messages, and a send on a queue with no spare takes a
// whole batch. So a queue that streams (W3: a producer filling it while a
// consumer empties it) touches the pool twice per batch instead of twice
// per message, while a send and a receive that leave the queue empty (W1)
// pay one pool Get and one Put, and nothing stays with a drained queue.
//
// Nothing here locks: the store belongs to its queue and is guarded by the
// queue's slot lock.

// message is one queued message.
type message struct {
	text  []byte
	mtype int64
	seq   uint32   // arrival order; the message lives at ring[seq & mask]
	next  *message // the next message of the same type, or the next spare or in a pool batch
}

// typeList is the FIFO of the queued messages of one type.
type typeList struct {
	mtype      int64
	head, tail *message
	pos        [2]int32 // index in heaps[byType] and heaps[byAge]; -1 when empty
}

const (
	byType = iota // heap order: least type first
	byAge         // heap order: oldest head first
)

// listHeap is a binary min-heap of the non-empty typeLists.
type listHeap struct {
	order int // byType or byAge
	lists []*typeList
}

// msgStore holds the messages of one queue.
type msgStore struct {
	count  int32 // number of messages; at most maxQueued
	nEmpty int32 // empty lists kept (in types, or last)

	ring       []*message          // arrival order; nil marks a message taken from the middle
	head, tail uint32              // messages have seq in [head, tail); renumbered before tail wraps
	small      [firstRing]*message // the ring until it first grows: no allocation, no cache miss

	// Every type's list: while types is nil there is at most one, last.
	types map[int64]*typeList // every type present, and some recently empty
	last  *typeList           // the list used last: most sends repeat a type
	heaps *storeHeaps         // nil until a receive first needs a heap
	one   typeList            // the first list, while in use; later ones are allocated
	spare *message            // delivered messages kept for the next sends, linked by next; the first's seq counts them
}

// storeHeaps are the two heaps over a store's lists, each built on the
// first receive that needs it and kept up from then on.
type storeHeaps struct {
	h    [2]listHeap
	kept [2]bool // whether h[byType], h[byAge] are built and kept up
}

const (
	firstRing = 1  // the ring of a queue's first message
	minRing   = 16 // a ring that has grown shrinks no further than this

	maxFree  = 256 // the most spare messages a queue keeps while it holds messages
	maxBatch = 32  // the most messages in one batch in messagePool

	// maxQueued is the most messages one store holds (count is 32 bits, as
	// are the ring's sequence numbers). Linux has no such bound, but
	// reaching it takes over 100 GB of messages; a send that would pass it
	// waits, or fails with EAGAIN, as on a full queue.
	maxQueued = math.MaxInt32
)

// messagePool recycles messages with their text buffers across every
// queue and namespace, so that a send after a receive allocates nothing
// and a drained queue keeps no message of its own. Each item is a batch:
// a list of messages linked by next, the first's seq counting them.
var messagePool = sync.Pool{New: func() any { return &message{seq: 1} }}

// list returns the FIFO for mtype, creating it if need be. Its first test
// is the common case, kept small enough to be inlined.
func (s *msgStore) list(mtype int64) *typeList {
	if l := s.last; l != nil && l.mtype == mtype {
		return l
	}
	return s.otherList(mtype)
}

func (s *msgStore) otherList(mtype int64) *typeList {
	l := s.types[mtype]
	if l == nil {
		if s.last == &s.one || s.types[s.one.mtype] == &s.one {
			l = new(typeList)
		} else {
			l = &s.one // free: never used, or swept out of the map
		}
		*l = typeList{mtype: mtype, pos: [2]int32{-1, -1}}
		if s.types == nil && s.last != nil {
			// A second type: from now on the lists live in the map.
			s.types = map[int64]*typeList{s.last.mtype: s.last}
		}
		if s.types != nil {
			s.types[mtype] = l
		}
		s.nEmpty++
	}
	s.last = l
	return l
}

// eachList calls f for every list the store keeps.
func (s *msgStore) eachList(f func(l *typeList)) {
	if s.types == nil {
		if s.last != nil {
			f(s.last)
		}
		return
	}
	for _, l := range s.types {
		f(l)
	}
}

// newMessage returns a message holding a copy of text, recycled if it can
// be. A recycled text buffer is reused only if it is not much larger than
// the text, so that small messages do not pin large buffers.
func (s *msgStore) newMessage(mtype int64, text []byte) *message {
	m := s.spare
	if m == nil {
		m = messagePool.Get().(*message)
	}
	if m.next != nil { // a spare or a batch: the rest are spares
		m.next.seq = m.seq - 1
	}
	s.spare, m.next = m.next, nil
	n := len(text)
	if c := cap(m.text); c < n || c > 2*n+64 {
		m.text = nil
		if n > 0 {
			m.text = make([]byte, n)
		}
	}
	m.text = m.text[:n]
	copy(m.text, text)
	m.mtype = mtype
	return m
}

// recycle gives m back for a later newMessage: to the queue's spares, or
// to the pool when the queue keeps maxFree already; a queue left empty
// gives all its spares to the pool. Nothing may refer to m afterwards.
func (s *msgStore) recycle(m *message) {
	if s.count > 0 {
		s.keep(m)
		return
	}
	// A receive that drained the queue. Its spares go back first and m
	// last, on its own: the pool hands out what it was given last first,
	// so the next send anywhere on this processor takes m alone, not a
	// batch it has no use for (W8: a send and a receive on each of many
	// queues).
	if s.spare != nil {
		s.release()
	}
	putMessage(m)
}

// putMessage gives m, alone, to the pool.
func putMessage(m *message) {
	m.next, m.seq = nil, 1
	messagePool.Put(m)
}

// keep is recycle when the queue still holds messages.
func (s *msgStore) keep(m *message) {
	var n uint32
	if s.spare != nil {
		n = s.spare.seq
	}
	if n < maxFree {
		m.next, m.seq = s.spare, n+1
		s.spare = m
		return
	}
	putMessage(m)
}

// release gives the queue's spares to the pool, in batches.
func (s *msgStore) release() {
	eachBatch(s.spare, func(b *message) { messagePool.Put(b) })
	s.spare = nil
}

// eachBatch cuts a counted list of messages into counted lists of at most
// maxBatch and calls f with each. Cutting walks the list, which costs no
// more than the recycle calls that built it.
func eachBatch(m *message, f func(b *message)) {
	for m != nil {
		left := m.seq
		if left <= maxBatch {
			f(m)
			return
		}
		last := m
		for range maxBatch - 1 {
			last = last.next
		}
		rest := last.next
		last.next = nil
		m.seq = maxBatch
		rest.seq = left - maxBatch
		f(m)
		m = rest
	}
}

// push appends m as the newest message.
func (s *msgStore) push(m *message) {
	if s.tail-s.head == uint32(len(s.ring)) || s.tail == math.MaxUint32 {
		s.resize() // which renumbers the messages from 0
	}
	m.seq = s.tail
	s.ring[s.tail&uint32(len(s.ring)-1)] = m
	s.tail++
	s.count++

	l := s.list(m.mtype)
	if l.head == nil {
		l.head, l.tail = m, m
		s.nEmpty--
		if hs := s.heaps; hs != nil {
			for k := range hs.h {
				if hs.kept[k] {
					hs.h[k].push(l)
				}
			}
		}
	} else {
		l.tail.next = m
		l.tail = m
	}
}

// take removes and returns the head of l, the oldest message of its type.
func (s *msgStore) take(l *typeList) *message {
	m := l.head
	l.head = m.next
	m.next = nil
	hs := s.heaps
	if l.head == nil {
		l.tail = nil
		if hs != nil {
			for k := range hs.h {
				if hs.kept[k] {
					hs.h[k].remove(int(l.pos[k]))
				}
			}
		}
		s.nEmpty++
		if s.nEmpty > 32 && int(s.nEmpty) > len(s.types)/2 {
			s.sweep()
		}
	} else if hs != nil && hs.kept[byAge] {
		hs.h[byAge].down(int(l.pos[byAge])) // the new head is younger
	}
	s.count--
	s.unlinkRing(m)
	return m
}

// unlinkRing removes m from the arrival-order ring.
func (s *msgStore) unlinkRing(m *message) {
	mask := uint32(len(s.ring) - 1)
	s.ring[m.seq&mask] = nil
	switch m.seq {
	case s.head:
		for s.head < s.tail && s.ring[s.head&mask] == nil {
			s.head++
		}
	case s.tail - 1:
		for s.tail > s.head && s.ring[(s.tail-1)&mask] == nil {
			s.tail--
		}
	}
	if int(s.count) < len(s.ring)/8 && len(s.ring) > minRing {
		s.resize()
	}
}

// resize rebuilds the ring to fit: it drops the holes left by messages
// taken from the middle and renumbers the messages in order (the heaps
// compare sequence numbers only with each other, so order is all that
// matters), doubling the ring if it is mostly full.
func (s *msgStore) resize() {
	if s.ring == nil {
		s.ring = s.small[:]
		return
	}
	size := max(minRing, len(s.ring))
	for int(s.count)+1 > size*3/4 {
		size *= 2
	}
	for size > minRing && int(s.count) < size/4 {
		size /= 2
	}
	ring := make([]*message, size)
	mask := uint32(len(s.ring) - 1)
	var n uint32
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil {
			m.seq = n
			ring[n] = m
			n++
		}
	}
	if len(s.ring) == firstRing {
		clear(s.small[:]) // left for good: the ring never shrinks below minRing
	}
	s.ring, s.head, s.tail = ring, 0, n
}

// sweep drops the empty lists from the type map.
func (s *msgStore) sweep() {
	for t, l := range s.types {
		if l.head == nil {
			delete(s.types, t)
		}
	}
	s.nEmpty = 0
	s.last = nil
}

// first returns the list whose head is the oldest message, or nil. The
// oldest message is at the ring's head: taking a message there moves the
// head past any holes.
func (s *msgStore) first() *typeList {
	if s.count == 0 {
		return nil
	}
	return s.list(s.ring[s.head&uint32(len(s.ring)-1)].mtype)
}

// heap returns heap k, building it if it is not kept yet.
func (s *msgStore) heap(k int) *listHeap {
	if s.heaps == nil {
		s.heaps = &storeHeaps{h: [2]listHeap{{order: byType}, {order: byAge}}}
	}
	h := &s.heaps.h[k]
	if !s.heaps.kept[k] {
		s.heaps.kept[k] = true
		s.eachList(func(l *typeList) {
			if l.head != nil {
				h.push(l)
			}
		})
	}
	return h
}

// exact returns the list of mtype if it holds a message, or nil.
func (s *msgStore) exact(mtype int64) *typeList {
	l := s.last
	if l == nil || l.mtype != mtype {
		l = s.types[mtype]
	}
	if l == nil || l.head == nil {
		return nil
	}
	return l
}

// lowest returns the list of the least type present if that type is at
// most bound, or nil.
func (s *msgStore) lowest(bound int64) *typeList {
	if l := s.heap(byType).min(); l != nil && l.mtype <= bound {
		return l
	}
	return nil
}

// except returns the list whose head is the oldest message of a type other
// than mtype, or nil.
func (s *msgStore) except(mtype int64) *typeList {
	h := s.heap(byAge)
	if l := h.min(); l == nil || l.mtype != mtype {
		return l
	}
	// The root is mtype's list; the next oldest head is a child of the root.
	switch len(h.lists) {
	case 1:
		return nil
	case 2:
		return h.lists[1]
	}
	if h.less(1, 2) {
		return h.lists[1]
	}
	return h.lists[2]
}

// nth returns the message at position k in arrival order (0 is the oldest),
// or nil if there is none, walking from the nearer end.
func (s *msgStore) nth(k int64) *message {
	if k < 0 || k >= int64(s.count) {
		return nil
	}
	mask := uint32(len(s.ring) - 1)
	if k < int64(s.count)/2 {
		for seq := s.head; ; seq++ {
			if m := s.ring[seq&mask]; m != nil {
				if k == 0 {
					return m
				}
				k--
			}
		}
	}
	k = int64(s.count) - 1 - k
	for seq := s.tail - 1; ; seq-- {
		if m := s.ring[seq&mask]; m != nil {
			if k == 0 {
				return m
			}
			k--
		}
	}
}

// all returns the messages in arrival order, sharing their text.
func (s *msgStore) all() []Message {
	out := make([]Message, 0, s.count)
	mask := uint32(len(s.ring) - 1)
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil {
			out = append(out, Message{Type: m.mtype, Text: m.text})
		}
	}
	return out
}

// reset drops every message.
func (s *msgStore) reset() {
	s.release()
	*s = msgStore{}
}

func (h *listHeap) min() *typeList {
	if len(h.lists) == 0 {
		return nil
	}
	return h.lists[0]
}

func (h *listHeap) less(i, j int) bool {
	a, b := h.lists[i], h.lists[j]
	if h.order == byType {
		return a.mtype < b.mtype
	}
	return a.head.seq < b.head.seq
}

func (h *listHeap) swap(i, j int) {
	h.lists[i], h.lists[j] = h.lists[j], h.lists[i]
	h.lists[i].pos[h.order] = int32(i)
	h.lists[j].pos[h.order] = int32(j)
}

func (h *listHeap) push(l *typeList) {
	l.pos[h.order] = int32(len(h.lists))
	h.lists = append(h.lists, l)
	h.up(len(h.lists) - 1)
}

func (h *listHeap) remove(i int) {
	n := len(h.lists) - 1
	l := h.lists[i]
	if i != n {
		h.swap(i, n)
	}
	h.lists[n] = nil
	h.lists = h.lists[:n]
	l.pos[h.order] = -1
	if i != n {
		h.down(i)
		h.up(i)
	}
}

func (h *listHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *listHeap) down(i int) {
	n := len(h.lists)
	for {
		least := i
		if l := 2*i + 1; l < n && h.less(l, least) {
			least = l
		}
		if r := 2*i + 2; r < n && h.less(r, least) {
			least = r
		}
		if least == i {
			return
		}
		h.swap(i, least)
		i = least
	}
}
