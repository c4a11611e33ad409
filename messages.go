package msgq

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
// Nothing here locks: the store belongs to its queue and is guarded by the
// queue's slot lock.

// message is one queued message.
type message struct {
	text  []byte
	mtype int64
	seq   uint64   // arrival order; the message lives at ring[seq & mask]
	next  *message // the next message of the same type, or on the free list
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
	count int // number of messages

	ring       []*message // arrival order; nil marks a message taken from the middle
	head, tail uint64     // messages have seq in [head, tail)

	types   map[int64]*typeList // every type present, and some recently empty
	last    *typeList           // the list used last: most sends repeat a type
	nEmpty  int                 // empty lists still in types
	heaps   [2]listHeap
	kept    [2]bool  // whether heaps[byType], heaps[byAge] are built and kept up
	free    *message // recycled messages, linked by next
	nFree   int
	freeCap int // bytes of text capacity held by the free list
}

const (
	minRing      = 16
	maxFreeMsgs  = 1024    // recycled messages kept per queue, at most
	maxFreeBytes = 1 << 20 // and the text capacity they may hold
)

func (s *msgStore) init() {
	s.types = make(map[int64]*typeList)
	s.heaps[byType].order = byType
	s.heaps[byAge].order = byAge
}

// list returns the FIFO for mtype, creating it if need be.
func (s *msgStore) list(mtype int64) *typeList {
	if l := s.last; l != nil && l.mtype == mtype {
		return l
	}
	l := s.types[mtype]
	if l == nil {
		l = &typeList{mtype: mtype, pos: [2]int32{-1, -1}}
		s.types[mtype] = l
		s.nEmpty++
	}
	s.last = l
	return l
}

// newMessage returns a message holding a copy of text, recycled if it can
// be. A recycled text buffer is reused only if it is not much larger than
// the text, so that small messages do not pin large buffers.
func (s *msgStore) newMessage(mtype int64, text []byte) *message {
	m := s.free
	if m != nil {
		s.free = m.next
		s.nFree--
		s.freeCap -= cap(m.text)
		m.next = nil
	} else {
		m = new(message)
	}
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

// recycle keeps m for a later newMessage, within the free list's bounds.
func (s *msgStore) recycle(m *message) {
	if s.nFree >= maxFreeMsgs || s.freeCap+cap(m.text) > maxFreeBytes {
		return
	}
	m.next = s.free
	s.free = m
	s.nFree++
	s.freeCap += cap(m.text)
}

// push appends m as the newest message.
func (s *msgStore) push(m *message) {
	if s.tail-s.head == uint64(len(s.ring)) {
		s.resize()
	}
	m.seq = s.tail
	s.ring[s.tail&uint64(len(s.ring)-1)] = m
	s.tail++
	s.count++

	l := s.list(m.mtype)
	if l.head == nil {
		l.head, l.tail = m, m
		s.nEmpty--
		for k := range s.heaps {
			if s.kept[k] {
				s.heaps[k].push(l)
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
	if l.head == nil {
		l.tail = nil
		for k := range s.heaps {
			if s.kept[k] {
				s.heaps[k].remove(int(l.pos[k]))
			}
		}
		s.nEmpty++
		if s.nEmpty > 32 && s.nEmpty > len(s.types)/2 {
			s.sweep()
		}
	} else if s.kept[byAge] {
		s.heaps[byAge].down(int(l.pos[byAge])) // the new head is younger
	}
	s.count--
	s.unlinkRing(m)
	return m
}

// unlinkRing removes m from the arrival-order ring.
func (s *msgStore) unlinkRing(m *message) {
	mask := uint64(len(s.ring) - 1)
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
	if s.count < len(s.ring)/8 && len(s.ring) > minRing {
		s.resize()
	}
}

// resize rebuilds the ring to fit: it drops the holes left by messages
// taken from the middle and renumbers the messages in order (the heaps
// compare sequence numbers only with each other, so order is all that
// matters), doubling the ring if it is mostly full.
func (s *msgStore) resize() {
	size := max(minRing, len(s.ring))
	for s.count+1 > size*3/4 {
		size *= 2
	}
	for size > minRing && s.count < size/4 {
		size /= 2
	}
	ring := make([]*message, size)
	mask := uint64(len(s.ring) - 1)
	var n uint64
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil {
			m.seq = n
			ring[n] = m
			n++
		}
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
	return s.list(s.ring[s.head&uint64(len(s.ring)-1)].mtype)
}

// heap returns heaps[k], building it if it is not kept yet.
func (s *msgStore) heap(k int) *listHeap {
	h := &s.heaps[k]
	if !s.kept[k] {
		s.kept[k] = true
		for _, l := range s.types {
			if l.head != nil {
				h.push(l)
			}
		}
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
	mask := uint64(len(s.ring) - 1)
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
	mask := uint64(len(s.ring) - 1)
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil {
			out = append(out, Message{Type: m.mtype, Text: m.text})
		}
	}
	return out
}

// reset drops every message.
func (s *msgStore) reset() {
	*s = msgStore{}
	s.init()
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
