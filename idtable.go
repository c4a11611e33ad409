package msgq

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"syscall"
)

// Ids are built as Linux builds them (ipc/util.h): id = seq<<shift | index.
// The shift is 15 (IPCMNI 32768) unless the namespace allows more queues
// than that, when it is 24 as under Linux's ipcmni_extend.
const (
	idShiftDefault  = 15
	idShiftExtended = 24
	maxMsgMni       = 1 << idShiftExtended

	minCycle         = 64              // Linux ipc_min_cycle: indices cycle through at least this many
	minCycleExtended = 64 * 64         // and this many under ipcmni_extend (IPCMNI_EXTEND_MIN_CYCLE)
	chunkShift       = 6               // slots are allocated in chunks of 1<<chunkShift
	chunkSlots       = 1 << chunkShift // slots in a chunk
	initialSlots     = chunkSlots      // the table starts this small and doubles as it fills
)

// slot is one entry of the id table. Its mutex is the lock of the queue it
// holds: every operation on that queue runs under it.
type slot struct {
	mu sync.Mutex
	q  *queue // guarded by mu; changed only with the namespace lock held too
}

// slotTable is one published generation of the table: its slots, in
// chunks of chunkSlots. Growth publishes a longer one holding the same
// chunks, so a slot and its lock outlive every table that names it. A
// chunk is allocated the first time one of its indices is handed out; its
// entry is set once, under the namespace lock, in the newest table, and
// never changes after that. Chunks keep a lookup to one cache miss for the
// slot itself: the array of chunk pointers is small enough to stay cached
// (16,384 entries for a million queues).
type slotTable struct {
	chunks []atomic.Pointer[slotChunk] // len is a power of two; nil until first used
}

type slotChunk [chunkSlots]slot

// size is the number of slots the table can hold.
func (st *slotTable) size() int { return len(st.chunks) << chunkShift }

// idTable maps ids to queues. Lookups by id take no namespace-wide lock:
// they load the current table atomically, index it and lock one slot.
// Allocation, removal and growth run under the namespace lock.
type idTable struct {
	table atomic.Pointer[slotTable]

	// Guarded by the namespace lock (nsCore.mu).
	used    []uint64 // bitmap of the indices in use
	inUse   int      // number of queues
	maxIdx  int      // highest index in use, -1 when none
	next    int      // where the cyclic search for a free index starts (idr_next)
	lastIdx int      // the index handed out last, -1 before the first
	seq     int      // sequence number that new ids carry

	// Immutable.
	shift    uint
	mni      int // 1 << shift: the number of indices an id can name
	seqMax   int // sequence numbers run from 0 to seqMax-1, then wrap
	minCycle int // the fewest indices the allocator cycles through

	// A dialect's id scheme (dialect_ids.go); nil for Linux's. Immutable
	// pointer; its state is guarded by the namespace lock.
	scheme *idScheme
	mod    int  // immutable; non-zero: the index is id % mod (SVR4, AIX)
	loose  bool // immutable; OpenBSD: any id with a queue's index bits names it
}

func newIDTable(msgMni int) *idTable {
	t := &idTable{maxIdx: -1, lastIdx: -1, shift: idShiftDefault, minCycle: minCycle}
	if msgMni > 1<<idShiftDefault {
		t.shift, t.minCycle = idShiftExtended, minCycleExtended
	}
	t.mni = 1 << t.shift
	t.seqMax = math.MaxInt32 >> t.shift
	t.table.Store(&slotTable{chunks: make([]atomic.Pointer[slotChunk], initialSlots/chunkSlots)})
	return t
}

// slotAt returns the slot at index idx, or nil past the end of the table
// or in a chunk never used.
func (t *idTable) slotAt(idx int) *slot {
	chunks := t.table.Load().chunks
	if idx < 0 || idx>>chunkShift >= len(chunks) {
		return nil
	}
	c := chunks[idx>>chunkShift].Load()
	if c == nil {
		return nil
	}
	return &c[idx&(chunkSlots-1)]
}

// index is the table index an id names (Linux ipcid_to_idx).
func (t *idTable) index(id int32) int {
	if t.mod != 0 {
		return int(id) % t.mod
	}
	return int(id) & (t.mni - 1)
}

// lockID returns the queue with the given id with its slot locked, or
// EINVAL if no queue has that id: an index never used, a removed queue or a
// stale id whose index now holds a queue with another sequence number.
func (t *idTable) lockID(id int32) (*queue, error) {
	if id < 0 && !t.loose {
		return nil, syscall.EINVAL
	}
	s := t.slotAt(t.index(id))
	if s == nil {
		return nil, syscall.EINVAL
	}
	s.mu.Lock()
	if q := s.q; q != nil && (q.id == id || t.loose) {
		return q, nil
	}
	s.mu.Unlock()
	return nil, syscall.EINVAL
}

// lockIndex returns the queue at a table index with its slot locked, or
// EINVAL for an empty index. Like Linux's MSG_STAT it uses only the index
// bits of idx: the sequence bits are ignored.
func (t *idTable) lockIndex(idx int32) (*queue, error) {
	if idx < 0 {
		return nil, syscall.EINVAL
	}
	s := t.slotAt(t.index(idx))
	if s == nil {
		return nil, syscall.EINVAL
	}
	s.mu.Lock()
	if q := s.q; q != nil {
		return q, nil
	}
	s.mu.Unlock()
	return nil, syscall.EINVAL
}

// add gives q an index and an id, as Linux's ipc_addid and ipc_idr_alloc
// do: ENOSPC once limit queues exist; otherwise the lowest free index at or
// after the one handed out last, cycling through max(inUse*3/2, 64)
// indices (4096 with extended ids), so that a freed index is not reused at
// once; and the sequence
// number advances each time the cycle wraps, so a reused index never
// carries the id it had before. The namespace lock must be held.
func (t *idTable) add(q *queue, limit int) error {
	if limit > t.mni {
		limit = t.mni
	}
	if t.inUse >= limit {
		return syscall.ENOSPC
	}
	if t.scheme != nil {
		idx, id, seq := t.scheme.next(t)
		t.install(q, idx, id, seq)
		return nil
	}
	end := min(max(t.inUse*3/2, t.minCycle), t.mni)
	idx := t.findFree(t.next, end)
	if idx < 0 {
		idx = t.findFree(0, end)
	}
	if idx < 0 { // cannot happen: end exceeds inUse
		return syscall.ENOSPC
	}
	t.next = idx + 1
	if idx <= t.lastIdx {
		t.seq++
		if t.seq >= t.seqMax {
			t.seq = 0
		}
	}
	t.lastIdx = idx
	t.install(q, idx, t.seq<<t.shift|idx, uint16(t.seq))
	return nil
}

// install puts q at index idx with the given id and sequence number.
func (t *idTable) install(q *queue, idx, id int, seq uint16) {
	t.growTo(idx + 1)
	q.id = int32(id)
	q.perm.seq = seq
	s := t.makeSlot(idx)
	q.mu = &s.mu
	s.mu.Lock()
	s.q = q
	s.mu.Unlock()

	t.setUsed(idx, true)
	t.inUse++
	t.maxIdx = max(t.maxIdx, idx)
}

// makeSlot returns the slot at idx, allocating its chunk if it has none.
// The table must hold idx and the namespace lock must be held.
func (t *idTable) makeSlot(idx int) *slot {
	entry := &t.table.Load().chunks[idx>>chunkShift]
	if entry.Load() == nil {
		entry.Store(new(slotChunk))
	}
	return t.slotAt(idx)
}

// remove frees q's index. The namespace lock and q's slot lock must be held.
func (t *idTable) remove(q *queue) {
	idx := t.index(int32(q.id))
	t.slotAt(idx).q = nil
	t.setUsed(idx, false)
	t.inUse--
	for t.maxIdx >= 0 && !t.isUsed(t.maxIdx) {
		t.maxIdx--
	}
	if t.scheme != nil {
		t.scheme.removed(idx, int(q.id))
	}
}

// highestIndex is what IPC_INFO and MSG_INFO return: the highest index in
// use, or 0 when the namespace has no queue (Linux ipc_get_maxidx).
func (t *idTable) highestIndex() int {
	return max(t.maxIdx, 0)
}

// growTo doubles the table until it has at least n slots. The new table
// shares the existing slots, so concurrent lookups in the old one stay
// correct; it is published with one atomic store.
func (t *idTable) growTo(n int) {
	old := t.table.Load()
	if n <= old.size() {
		return
	}
	size := len(old.chunks)
	for size<<chunkShift < n {
		size *= 2
	}
	chunks := make([]atomic.Pointer[slotChunk], size)
	for i := range old.chunks {
		chunks[i].Store(old.chunks[i].Load())
	}
	t.table.Store(&slotTable{chunks: chunks})
}

// findFree returns the lowest unused index in [from, end), or -1.
func (t *idTable) findFree(from, end int) int {
	for i := from; i < end; {
		w := i / 64
		if w >= len(t.used) {
			return i
		}
		free := ^t.used[w] >> (i % 64)
		if free != 0 {
			if j := i + bits.TrailingZeros64(free); j < end {
				return j
			}
			return -1
		}
		i = (w + 1) * 64
	}
	return -1
}

func (t *idTable) isUsed(idx int) bool {
	w := idx / 64
	return w < len(t.used) && t.used[w]&(1<<(idx%64)) != 0
}

func (t *idTable) setUsed(idx int, used bool) {
	w := idx / 64
	for w >= len(t.used) {
		t.used = append(t.used, 0)
	}
	if used {
		t.used[w] |= 1 << (idx % 64)
	} else {
		t.used[w] &^= 1 << (idx % 64)
	}
}

// each calls f for every queue in index order, with the queue's slot locked.
// The namespace lock must be held, so that no queue comes or goes.
func (t *idTable) each(f func(q *queue)) {
	for idx := 0; idx <= t.maxIdx; idx++ {
		if !t.isUsed(idx) {
			continue
		}
		s := t.slotAt(idx)
		s.mu.Lock()
		f(s.q)
		s.mu.Unlock()
	}
}
