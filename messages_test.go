package msgq

import (
	"math"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeQueue returns a bare queue for the store tests, unlocked: check
// needs nothing of the namespace.
func storeQueue() *queue { return &queue{qbytes: 1 << 20} }

// push and take are the store's operations as send and receive use them.
func (q *queue) testPush(mtype int64, text string) {
	q.enqueue(q.msgs.newMessage(mtype, []byte(text)))
}

func (q *queue) testTake(mode searchMode, msgtyp int64) (int64, string, bool) {
	l := q.find(mode, msgtyp)
	if l == nil {
		return 0, "", false
	}
	m := q.msgs.take(l)
	q.cbytes -= uint64(len(m.text))
	mtype, text := m.mtype, string(m.text)
	q.msgs.recycle(m)
	return mtype, text, true
}

// TestStoreRenumbersBeforeSeqWraps: arrival numbers are 32 bits, so the
// store renumbers its messages (from 0, in order) before the next number
// would wrap; the order every mode sees is unchanged.
func TestStoreRenumbersBeforeSeqWraps(t *testing.T) {
	q := storeQueue()
	q.testPush(1, "a")
	q.testPush(2, "b")
	q.testPush(1, "c")
	q.testTake(searchEqual, 2) // a hole in the middle of the ring
	s := &q.msgs
	// Move the numbers to just before the wrap, as 4 billion sends would.
	mask := uint32(len(s.ring) - 1)
	moved := make([]*message, len(s.ring))
	off := uint32(math.MaxUint32 - 3 - s.head)
	for seq := s.head; seq < s.tail; seq++ {
		if m := s.ring[seq&mask]; m != nil {
			m.seq += off
			moved[m.seq&mask] = m
		}
	}
	copy(s.ring, moved)
	s.head += off
	s.tail += off
	require.NoError(t, q.check())

	for i, text := range []string{"d", "e", "f", "g"} {
		q.testPush(int64(1+i%2), text)
		require.NoError(t, q.check(), "after push %d, tail %d", i, s.tail)
	}
	assert.Less(t, s.tail, uint32(100), "renumbered from 0")

	var got []string
	for {
		_, text, ok := q.testTake(searchAny, 0)
		if !ok {
			break
		}
		got = append(got, text)
		require.NoError(t, q.check())
	}
	assert.Equal(t, []string{"a", "c", "d", "e", "f", "g"}, got, "arrival order survives the renumbering")
}

// TestStoreFirstListLivesInTheStore: the first type's list is the store's
// own (one); a second type's is allocated; once the map sweeps the first
// out, its storage serves the next new type.
func TestStoreFirstListLivesInTheStore(t *testing.T) {
	q := storeQueue()
	s := &q.msgs
	q.testPush(7, "x")
	assert.Same(t, &s.one, s.list(7), "the first type uses the store's list")
	q.testPush(8, "y")
	assert.NotSame(t, &s.one, s.list(8), "a second type is allocated while one is in use")
	require.NoError(t, q.check())

	// Empty lists pile up until the store sweeps them out of its map.
	q.testTake(searchAny, 0)
	q.testTake(searchAny, 0)
	for mtype := int64(100); s.nEmpty > 0 || s.types[7] != nil; mtype++ {
		q.testPush(mtype, "z")
		q.testTake(searchEqual, mtype)
		require.NoError(t, q.check())
		require.Less(t, mtype, int64(1000), "the sweep never came")
	}
	q.testPush(9, "w")
	assert.Same(t, &s.one, s.list(9), "swept out, the store's own list is used again")
	q.testPush(10, "v")
	require.NoError(t, q.check())
	mtype, text, ok := q.testTake(searchLessEqual, 10)
	assert.True(t, ok)
	assert.Equal(t, int64(9), mtype)
	assert.Equal(t, "w", text)
}

// TestStoreSpares: a queue that still holds messages keeps those it
// delivers (up to maxFree) for its next sends, and once it drains it
// keeps none.
func TestStoreSpares(t *testing.T) {
	q := storeQueue()
	s := &q.msgs
	const n = maxFree + 44
	for i := range n {
		q.testPush(1, string(rune('a'+i%26)))
	}
	for range n - 1 {
		q.testTake(searchAny, 0)
	}
	require.NoError(t, q.check())
	require.NotNil(t, s.spare)
	assert.Equal(t, uint32(maxFree), s.spare.seq, "spares stop at maxFree")

	q.testPush(1, "x")
	assert.Equal(t, uint32(maxFree-1), s.spare.seq, "a send uses a spare")
	q.testTake(searchAny, 0)
	q.testTake(searchAny, 0)
	assert.Nil(t, s.spare, "a drained queue keeps no spare")
	require.NoError(t, q.check())

	// A batch from the pool is a spare list like any other: a send takes
	// its first message and keeps the rest.
	s.spare = batchOf(5)
	q.testPush(2, "y")
	require.NotNil(t, s.spare)
	assert.Equal(t, uint32(4), s.spare.seq)
	require.NoError(t, q.check())
}

// TestEachBatch: spares go back to the pool cut into counted batches of
// at most maxBatch, every message in one of them.
func TestEachBatch(t *testing.T) {
	for _, n := range []uint32{1, maxBatch - 1, maxBatch, maxBatch + 1, 3*maxBatch + 7, maxFree} {
		var sizes []uint32
		var total uint32
		eachBatch(batchOf(n), func(b *message) {
			var length uint32
			for m := b; m != nil; m = m.next {
				length++
			}
			assert.Equal(t, b.seq, length, "n=%d: a batch counts its messages", n)
			assert.LessOrEqual(t, length, uint32(maxBatch), "n=%d", n)
			sizes = append(sizes, length)
			total += length
		})
		assert.Equal(t, n, total, "n=%d: every message in a batch", n)
		for _, size := range sizes[:len(sizes)-1] {
			assert.Equal(t, uint32(maxBatch), size, "n=%d: full batches but the last %v", n, sizes)
		}
	}
}

// batchOf returns a counted list of n fresh messages.
func batchOf(n uint32) *message {
	var head *message
	for i := range n {
		head = &message{next: head, seq: i + 1}
	}
	return head
}

// TestMaxQueued: a store holds at most maxQueued messages; in every
// dialect a send past it is refused as on a full queue (EAGAIN under
// IPC_NOWAIT), though its bytes would fit. (illumos and AIX refuse it by
// their own MsgMnm, which cannot exceed it.)
func TestMaxQueued(t *testing.T) {
	for d := range Dialect(len(dialectRules)) {
		t.Run(d.String(), func(t *testing.T) {
			ns := newNS(t, WithDialect(d), WithLimits(Limits{MsgMnm: math.MaxInt32}))
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			q, err := ns.core.ids.lockID(int32(id))
			require.NoError(t, err)
			q.msgs.count = maxQueued // as if it held that many empty messages
			q.qbytes = 1 << 40       // so that neither bytes nor Linux's count bound refuse it
			q.unlock()
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, nil, IPC_NOWAIT), "at maxQueued")

			q, err = ns.core.ids.lockID(int32(id))
			require.NoError(t, err)
			q.msgs.count = 0
			q.unlock()
			assert.NoError(t, ns.Msgsnd(id, 1, nil, IPC_NOWAIT), "below it")
		})
	}
}
