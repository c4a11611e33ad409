package msgq

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMsgget(t *testing.T) {
	withQueue := func(key Key, mode int) func(*testing.T, *Namespace) {
		return func(t *testing.T, ns *Namespace) { mustQueue(t, ns, key, mode) }
	}
	tests := []struct {
		name  string
		setup func(*testing.T, *Namespace)
		as    Cred
		key   Key
		flg   int
		want  error
	}{
		{"missing key without IPC_CREAT gives ENOENT", nil, owner, 7, 0o600, syscall.ENOENT},
		{"missing key with IPC_EXCL alone gives ENOENT", nil, owner, 7, IPC_EXCL | 0o600, syscall.ENOENT},
		{"missing key with IPC_CREAT creates it", nil, owner, 7, IPC_CREAT | 0o600, nil},
		{"missing key with IPC_CREAT|IPC_EXCL creates it", nil, owner, 7, IPC_CREAT | IPC_EXCL | 0o600, nil},
		{"existing key with IPC_CREAT|IPC_EXCL gives EEXIST", withQueue(7, 0o600), owner, 7, IPC_CREAT | IPC_EXCL, syscall.EEXIST},
		{"existing key with IPC_CREAT opens it", withQueue(7, 0o600), owner, 7, IPC_CREAT | 0o600, nil},
		{"existing key with no flags opens it", withQueue(7, 0o600), owner, 7, 0, nil},
		{"existing key with IPC_EXCL alone opens it", withQueue(7, 0o600), owner, 7, IPC_EXCL, nil},
		{"IPC_PRIVATE creates even with IPC_EXCL", withQueue(IPC_PRIVATE, 0o600), owner, IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o600, nil},
		{"IPC_PRIVATE creates without IPC_CREAT", nil, owner, IPC_PRIVATE, 0, nil},
		{"owner asking for read on a write-only queue gives EACCES", withQueue(7, 0o200), owner, 7, 0o400, syscall.EACCES},
		{"a read bit in any triplet asks for read", withQueue(7, 0o200), owner, 7, 0o004, syscall.EACCES},
		{"asking for nothing opens a mode-0 queue", withQueue(7, 0), stranger, 7, 0, nil},
		{"other gets the other bits", withQueue(7, 0o604), stranger, 7, 0o400, nil},
		{"other is refused what the other bits lack", withQueue(7, 0o640), stranger, 7, 0o400, syscall.EACCES},
		{"group member gets the group bits", withQueue(7, 0o640), member, 7, 0o600, syscall.EACCES},
		{"group member reads with group read", withQueue(7, 0o640), member, 7, 0o400, nil},
		{"supplementary group counts", withQueue(7, 0o640), suppl, 7, 0o400, nil},
		{"uid 0 without capabilities is other", withQueue(7, 0o600), rootNoCaps, 7, 0o400, syscall.EACCES},
		{"CAP_IPC_OWNER overrides the bits", withQueue(7, 0), Cred{UID: 5, Caps: CapIPCOwner}, 7, 0o600, nil},
		{"CAP_SYS_ADMIN does not override the bits", withQueue(7, 0), Cred{UID: 5, Caps: CapSysAdmin}, 7, 0o600, syscall.EACCES},
		{"EEXIST is reported before EACCES", withQueue(7, 0), stranger, 7, IPC_CREAT | IPC_EXCL | 0o600, syscall.EEXIST},
		{"flag bits above the mode ask for nothing", withQueue(7, 0), stranger, 7, IPC_NOWAIT | MSG_NOERROR, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			if tt.setup != nil {
				tt.setup(t, ns)
			}
			id, err := ns.As(tt.as).Msgget(tt.key, tt.flg)
			if tt.want != nil {
				require.Equal(t, tt.want, err)
				assert.Equal(t, -1, id)
				return
			}
			require.NoError(t, err)
			assert.GreaterOrEqual(t, id, 0)
		})
	}
}

func TestMsggetNewQueueState(t *testing.T) {
	clock := newClock()
	ns := newNS(t, WithClock(clock.now))
	id, err := ns.As(member).Msgget(42, IPC_CREAT|IPC_NOWAIT|0o7777)
	require.NoError(t, err)
	ds := stat(t, ns, id)
	assert.Equal(t, MsqidDS{
		Perm:   IPCPerm{Key: 42, UID: member.UID, GID: member.GID, CUID: member.UID, CGID: member.GID, Mode: 0o777},
		Ctime:  clock.now(),
		Qbytes: 16384,
	}, ds, "mode keeps only the low 9 bits; owner and creator are the caller")

	again, err := ns.Msgget(42, 0)
	require.NoError(t, err)
	assert.Equal(t, id, again, "the key names the same queue")

	p1, err := ns.Msgget(IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	p2, err := ns.Msgget(IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	assert.NotEqual(t, p1, p2, "IPC_PRIVATE always makes a new queue")
	assert.Equal(t, IPC_PRIVATE, stat(t, ns, p1).Perm.Key)
}

func TestMsggetLimitMsgMni(t *testing.T) {
	ns := newNS(t, WithLimits(Limits{MsgMni: 3}))
	var ids []int
	for range 3 {
		ids = append(ids, mustQueue(t, ns, IPC_PRIVATE, 0o600))
	}
	_, err := ns.Msgget(IPC_PRIVATE, 0o600)
	assert.Equal(t, syscall.ENOSPC, err, "a fourth queue is past MsgMni")
	_, err = ns.Msgget(99, IPC_CREAT|0o600)
	assert.Equal(t, syscall.ENOSPC, err)
	_, err = ns.Msgctl(ids[1], IPC_RMID, nil)
	require.NoError(t, err)
	_, err = ns.Msgget(99, IPC_CREAT|0o600)
	assert.NoError(t, err, "removing one makes room")
}

func TestMsgsnd(t *testing.T) {
	type setup struct {
		mode   int
		qbytes *uint64 // nil: leave the default
		msgs   []msg
	}
	tests := []struct {
		name  string
		setup setup
		as    Cred
		id    func(id int) int
		mtype int64
		size  int
		flg   int
		want  error
	}{
		{"a message is queued", setup{mode: 0o600}, owner, nil, 1, 10, 0, nil},
		{"an empty message is queued", setup{mode: 0o600}, owner, nil, 1, 0, 0, nil},
		{"MsgMax bytes is accepted", setup{mode: 0o600}, owner, nil, 1, 8192, 0, nil},
		{"MsgMax+1 bytes gives EINVAL", setup{mode: 0o600}, owner, nil, 1, 8193, 0, syscall.EINVAL},
		{"type 0 gives EINVAL", setup{mode: 0o600}, owner, nil, 0, 1, 0, syscall.EINVAL},
		{"a negative type gives EINVAL", setup{mode: 0o600}, owner, nil, -5, 1, 0, syscall.EINVAL},
		{"type MaxInt64 is accepted", setup{mode: 0o600}, owner, nil, math.MaxInt64, 1, 0, nil},
		{"a negative id gives EINVAL", setup{mode: 0o600}, owner, func(int) int { return -1 }, 1, 1, 0, syscall.EINVAL},
		{"an unknown id gives EINVAL", setup{mode: 0o600}, owner, func(id int) int { return id + 1 }, 1, 1, 0, syscall.EINVAL},
		{"an id with another sequence number gives EINVAL", setup{mode: 0o600}, owner, func(id int) int { return id + 1<<15 }, 1, 1, 0, syscall.EINVAL},
		{"no write permission gives EACCES", setup{mode: 0o400}, owner, nil, 1, 1, 0, syscall.EACCES},
		{"other without the other write bit gives EACCES", setup{mode: 0o660}, stranger, nil, 1, 1, 0, syscall.EACCES},
		{"the type check comes before the permission check", setup{mode: 0}, stranger, nil, 0, 1, 0, syscall.EINVAL},
		{"the size check comes before the id check", setup{mode: 0o600}, owner, func(int) int { return 12345 }, 1, 9000, 0, syscall.EINVAL},
		{"a full queue with IPC_NOWAIT gives EAGAIN", setup{mode: 0o600, qbytes: qb(10), msgs: []msg{{1, "123456"}}}, owner, nil, 1, 5, IPC_NOWAIT, syscall.EAGAIN},
		{"a message that exactly fills the queue is accepted", setup{mode: 0o600, qbytes: qb(10), msgs: []msg{{1, "123456"}}}, owner, nil, 1, 4, IPC_NOWAIT, nil},
		{"the count bound: qbytes messages at most", setup{mode: 0o600, qbytes: qb(2), msgs: []msg{{1, ""}, {1, ""}}}, owner, nil, 1, 0, IPC_NOWAIT, syscall.EAGAIN},
		{"qbytes 0 takes not even an empty message", setup{mode: 0o600, qbytes: qb(0)}, owner, nil, 1, 0, IPC_NOWAIT, syscall.EAGAIN},
		{"a message larger than qbytes gives EAGAIN", setup{mode: 0o600, qbytes: qb(4)}, owner, nil, 1, 5, IPC_NOWAIT, syscall.EAGAIN},
		{"EACCES is reported before EAGAIN", setup{mode: 0o400, qbytes: qb(1), msgs: nil}, owner, nil, 1, 5, IPC_NOWAIT, syscall.EACCES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			mustSend(t, ns, id, tt.setup.msgs...)
			ds := stat(t, ns, id)
			ds.Perm.Mode = uint16(tt.setup.mode)
			if tt.setup.qbytes != nil {
				ds.Qbytes = *tt.setup.qbytes
			}
			_, err := ns.Msgctl(id, IPC_SET, &ds)
			require.NoError(t, err)
			before := contents(t, ns, id)

			target := id
			if tt.id != nil {
				target = tt.id(id)
			}
			text := []byte(strings.Repeat("x", tt.size))
			err = ns.As(tt.as).Msgsnd(target, tt.mtype, text, tt.flg)
			assert.Equal(t, tt.want, err)
			after := contents(t, ns, id)
			if tt.want != nil {
				assert.Equal(t, before, after, "a failed send queues nothing")
				return
			}
			assert.Equal(t, append(before, msg{tt.mtype, string(text)}), after)
		})
	}
}

func qb(n uint64) *uint64 { return &n }

func TestMsgsndCopiesText(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	buf := []byte("hello")
	require.NoError(t, ns.Msgsnd(id, 1, buf, 0))
	copy(buf, "XXXXX")
	assert.Equal(t, []msg{{1, "hello"}}, contents(t, ns, id), "the caller may reuse its buffer at once")
}

// The queue used by the receive tables: types interleaved so that every
// selection mode has a different answer.
var mixed = []msg{{3, "c1"}, {1, "a1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}

func TestMsgrcvSelection(t *testing.T) {
	tests := []struct {
		name   string
		msgtyp int64
		flg    int
		want   msg
		rest   []msg // the queue afterwards
	}{
		{"msgtyp 0 takes the oldest", 0, 0, msg{3, "c1"},
			[]msg{{1, "a1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"msgtyp > 0 takes the oldest of that type", 2, 0, msg{2, "b1"},
			[]msg{{3, "c1"}, {1, "a1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"msgtyp < 0 takes the least type not above |msgtyp|", -2, 0, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"msgtyp < 0 takes the least type even if younger", -3, 0, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"msgtyp MinInt64 takes the least type of all", math.MinInt64, 0, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT takes the oldest of another type", 3, MSG_EXCEPT, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT of a type not at the head takes the head", 1, MSG_EXCEPT, msg{3, "c1"},
			[]msg{{1, "a1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT with msgtyp 0 is msgtyp 0", 0, MSG_EXCEPT, msg{3, "c1"},
			[]msg{{1, "a1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT with msgtyp < 0 is msgtyp < 0", -2, MSG_EXCEPT, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT MinInt64 is the least type", math.MinInt64, MSG_EXCEPT, msg{1, "a1"},
			[]msg{{3, "c1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_EXCEPT MaxInt64 takes the oldest", math.MaxInt64, MSG_EXCEPT, msg{3, "c1"},
			[]msg{{1, "a1"}, {2, "b1"}, {1, "a2"}, {5, "e1-long"}, {2, "b2"}, {3, "c2"}}},
		{"MSG_NOERROR truncates and consumes", 5, MSG_NOERROR, msg{5, "e1-lo"},
			[]msg{{3, "c1"}, {1, "a1"}, {2, "b1"}, {1, "a2"}, {2, "b2"}, {3, "c2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			mustSend(t, ns, id, mixed...)
			buf := make([]byte, 5)
			n, mtype, err := ns.Msgrcv(id, buf, tt.msgtyp, tt.flg|IPC_NOWAIT)
			require.NoError(t, err)
			assert.Equal(t, tt.want, msg{mtype, string(buf[:n])})
			assert.Equal(t, tt.rest, contents(t, ns, id))
		})
	}
}

func TestMsgrcvErrors(t *testing.T) {
	tests := []struct {
		name   string
		as     Cred
		mode   int
		id     func(id int) int
		size   int
		msgtyp int64
		flg    int
		want   error
	}{
		{"a negative id gives EINVAL", owner, 0o600, func(int) int { return -1 }, 10, 0, IPC_NOWAIT, syscall.EINVAL},
		{"an unknown id gives EINVAL", owner, 0o600, func(id int) int { return id + 1 }, 10, 0, IPC_NOWAIT, syscall.EINVAL},
		{"a stale id gives EINVAL", owner, 0o600, func(id int) int { return id + 1<<15 }, 10, 0, IPC_NOWAIT, syscall.EINVAL},
		{"no read permission gives EACCES", owner, 0o200, nil, 10, 0, IPC_NOWAIT, syscall.EACCES},
		{"no read permission for other gives EACCES", stranger, 0o660, nil, 10, 0, IPC_NOWAIT, syscall.EACCES},
		{"a message longer than the buffer gives E2BIG", owner, 0o600, nil, 1, 0, IPC_NOWAIT, syscall.E2BIG},
		{"no message of the type gives ENOMSG", owner, 0o600, nil, 10, 4, IPC_NOWAIT, syscall.ENOMSG},
		{"msgtyp 0 with MSG_EXCEPT takes any type", owner, 0o600, nil, 10, 0, IPC_NOWAIT | MSG_EXCEPT, nil},
		{"msgtyp -7 takes type 7", owner, 0o600, nil, 10, -7, IPC_NOWAIT, nil},
		{"msgtyp -1 with no type 1 gives ENOMSG", owner, 0o600, nil, 10, -1, IPC_NOWAIT, syscall.ENOMSG},
		{"MSG_EXCEPT with only that type gives ENOMSG", owner, 0o600, nil, 10, 7, IPC_NOWAIT | MSG_EXCEPT, syscall.ENOMSG},
		{"MSG_EXCEPT of another type takes it", owner, 0o600, nil, 10, 8, IPC_NOWAIT | MSG_EXCEPT, nil},
		{"MSG_COPY without IPC_NOWAIT gives EINVAL", owner, 0o600, nil, 10, 0, MSG_COPY, syscall.EINVAL},
		{"MSG_COPY with MSG_EXCEPT gives EINVAL", owner, 0o600, nil, 10, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT, syscall.EINVAL},
		{"MSG_COPY misuse is EINVAL before EACCES", stranger, 0, nil, 10, 0, MSG_COPY, syscall.EINVAL},
		{"MSG_COPY misuse is EINVAL even for a bad id", owner, 0o600, func(int) int { return -1 }, 10, 0, MSG_COPY, syscall.EINVAL},
		{"EACCES is reported before ENOMSG", stranger, 0o600, nil, 10, 4, IPC_NOWAIT, syscall.EACCES},
		{"EACCES is reported before E2BIG", stranger, 0o600, nil, 0, 0, IPC_NOWAIT, syscall.EACCES},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNS(t)
			id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
			mustSend(t, ns, id, msg{7, "seven"})
			ds := stat(t, ns, id)
			ds.Perm.Mode = uint16(tt.mode)
			_, err := ns.Msgctl(id, IPC_SET, &ds)
			require.NoError(t, err)
			target := id
			if tt.id != nil {
				target = tt.id(id)
			}
			n, _, err := ns.As(tt.as).Msgrcv(target, make([]byte, tt.size), tt.msgtyp, tt.flg)
			if tt.want == nil { // rows that must succeed: they pin the mode rules
				require.NoError(t, err)
				assert.Equal(t, 5, n)
				return
			}
			assert.Equal(t, tt.want, err)
			assert.Equal(t, -1, n)
			assert.Equal(t, []msg{{7, "seven"}}, contents(t, ns, id), "a failed receive consumes nothing")
		})
	}
}

func TestMsgrcvCopy(t *testing.T) {
	clock := newClock()
	ns := newNS(t, WithClock(clock.now))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	mustSend(t, ns, id, mixed...)
	before := stat(t, ns, id)
	clock.advance(time.Second)

	tests := []struct {
		name  string
		index int64
		size  int
		flg   int
		want  msg
		err   error
	}{
		{"index 0 is the oldest", 0, 10, 0, msg{3, "c1"}, nil},
		{"index 4 is the fifth", 4, 10, 0, msg{5, "e1-long"}, nil},
		{"the last index", int64(len(mixed) - 1), 10, 0, msg{3, "c2"}, nil},
		{"an index past the end gives ENOMSG", int64(len(mixed)), 10, 0, msg{}, syscall.ENOMSG},
		{"a negative index gives ENOMSG", -1, 10, 0, msg{}, syscall.ENOMSG},
		{"a short buffer gives E2BIG", 4, 3, 0, msg{}, syscall.E2BIG},
		{"a short buffer with MSG_NOERROR gives EINVAL, not a truncated copy", 4, 3, MSG_NOERROR, msg{}, syscall.EINVAL},
		{"an exact buffer with MSG_NOERROR copies", 4, 7, MSG_NOERROR, msg{5, "e1-long"}, nil},
		{"msgtyp is an index, not a type", 1, 10, 0, msg{1, "a1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.size)
			n, mtype, err := ns.Msgrcv(id, buf, tt.index, MSG_COPY|IPC_NOWAIT|tt.flg)
			if tt.err != nil {
				assert.Equal(t, tt.err, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, msg{mtype, string(buf[:n])})
		})
	}
	assert.Equal(t, mixed, contents(t, ns, id), "MSG_COPY takes nothing")
	assert.Equal(t, before, stat(t, ns, id), "MSG_COPY changes neither rtime, lrpid nor counts")
}

func TestMsgrcvRecordsReceiver(t *testing.T) {
	clock := newClock()
	ns := newNS(t, WithClock(clock.now))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	sendAt := clock.advance(time.Minute)
	require.NoError(t, ns.As(member).Msgsnd(id, 1, []byte("abc"), 0))
	require.NoError(t, ns.As(member).Msgsnd(id, 1, []byte("de"), 0))
	ds := stat(t, ns, id)
	assert.Equal(t, sendAt, ds.Stime)
	assert.True(t, ds.Rtime.IsZero(), "never received")
	assert.Equal(t, member.PID, ds.Lspid)
	assert.Zero(t, ds.Lrpid)
	assert.Equal(t, uint64(5), ds.Cbytes)
	assert.Equal(t, uint64(2), ds.Qnum)

	recvAt := clock.advance(time.Minute)
	_, _, err := ns.As(stranger).Msgrcv(id, make([]byte, 10), 0, 0)
	require.NoError(t, err)
	ds = stat(t, ns, id)
	assert.Equal(t, sendAt, ds.Stime)
	assert.Equal(t, recvAt, ds.Rtime)
	assert.Equal(t, stranger.PID, ds.Lrpid)
	assert.Equal(t, uint64(2), ds.Cbytes)
	assert.Equal(t, uint64(1), ds.Qnum)

	_, _, err = ns.As(owner).Msgrcv(id, make([]byte, 1), 0, IPC_NOWAIT)
	require.Equal(t, syscall.E2BIG, err)
	assert.Equal(t, ds, stat(t, ns, id), "E2BIG changes nothing")
}

func TestMsgctlStat(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, 5, 0o640)
	tests := []struct {
		name string
		as   Cred
		id   int
		cmd  int
		buf  *MsqidDS
		want int
		err  error
	}{
		{"IPC_STAT by the owner returns 0", owner, id, IPC_STAT, new(MsqidDS), 0, nil},
		{"IPC_STAT by a group member with read", member, id, IPC_STAT, new(MsqidDS), 0, nil},
		{"IPC_STAT without read gives EACCES", stranger, id, IPC_STAT, new(MsqidDS), -1, syscall.EACCES},
		{"IPC_STAT with CAP_IPC_OWNER", Cred{UID: 9, Caps: CapIPCOwner}, id, IPC_STAT, new(MsqidDS), 0, nil},
		{"IPC_STAT of an unknown id gives EINVAL", owner, id + 1, IPC_STAT, new(MsqidDS), -1, syscall.EINVAL},
		{"IPC_STAT with a nil buffer gives EFAULT", owner, id, IPC_STAT, nil, -1, syscall.EFAULT},
		{"IPC_STAT of a bad id with a nil buffer gives EINVAL", owner, id + 1, IPC_STAT, nil, -1, syscall.EINVAL},
		{"IPC_STAT without read with a nil buffer gives EACCES", stranger, id, IPC_STAT, nil, -1, syscall.EACCES},
		{"MSG_STAT takes an index and returns the id", owner, 0, MSG_STAT, new(MsqidDS), id, nil},
		{"MSG_STAT ignores the sequence bits", owner, 1 << 15, MSG_STAT, new(MsqidDS), id, nil},
		{"MSG_STAT of an empty index gives EINVAL", owner, 1, MSG_STAT, new(MsqidDS), -1, syscall.EINVAL},
		{"MSG_STAT past the table gives EINVAL", owner, 30000, MSG_STAT, new(MsqidDS), -1, syscall.EINVAL},
		{"MSG_STAT without read gives EACCES", stranger, 0, MSG_STAT, new(MsqidDS), -1, syscall.EACCES},
		{"MSG_STAT_ANY skips the read check", stranger, 0, MSG_STAT_ANY, new(MsqidDS), id, nil},
		{"a negative id gives EINVAL", owner, -1, IPC_STAT, new(MsqidDS), -1, syscall.EINVAL},
		{"a negative cmd gives EINVAL", owner, id, -1, new(MsqidDS), -1, syscall.EINVAL},
		{"an unknown cmd gives EINVAL", owner, id, 99, new(MsqidDS), -1, syscall.EINVAL},
		{"IPC_64 is not stripped: IPC_STAT|0x100 gives EINVAL", owner, id, IPC_STAT | 0x100, new(MsqidDS), -1, syscall.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ns.As(tt.as).Msgctl(tt.id, tt.cmd, tt.buf)
			assert.Equal(t, tt.err, err)
			assert.Equal(t, tt.want, r)
			if err == nil {
				assert.Equal(t, stat(t, ns, id), *tt.buf)
			}
		})
	}
}

func TestMsgctlSet(t *testing.T) {
	tests := []struct {
		name   string
		as     Cred
		change func(ds *MsqidDS)
		nilBuf bool
		want   error
	}{
		{"the owner sets mode", owner, func(ds *MsqidDS) { ds.Perm.Mode = 0o644 }, false, nil},
		{"the creator may set after giving ownership away", creator, func(ds *MsqidDS) { ds.Perm.Mode = 0o600 }, false, nil},
		{"a stranger gets EPERM", stranger, func(ds *MsqidDS) { ds.Perm.Mode = 0o777 }, false, syscall.EPERM},
		{"a group member gets EPERM", member, func(ds *MsqidDS) {}, false, syscall.EPERM},
		{"uid 0 without capabilities gets EPERM", rootNoCaps, func(ds *MsqidDS) {}, false, syscall.EPERM},
		{"CAP_SYS_ADMIN may set", Cred{UID: 9, Caps: CapSysAdmin}, func(ds *MsqidDS) { ds.Perm.UID = 9 }, false, nil},
		{"CAP_IPC_OWNER may not set", Cred{UID: 9, Caps: CapIPCOwner}, func(ds *MsqidDS) {}, false, syscall.EPERM},
		{"extra mode bits are dropped", owner, func(ds *MsqidDS) { ds.Perm.Mode = 0o7644 }, false, nil},
		{"lowering qbytes needs nothing", owner, func(ds *MsqidDS) { ds.Qbytes = 100 }, false, nil},
		{"qbytes up to MsgMnb needs nothing", owner, func(ds *MsqidDS) { ds.Qbytes = 16384 }, false, nil},
		{"qbytes above MsgMnb needs CAP_SYS_RESOURCE", owner, func(ds *MsqidDS) { ds.Qbytes = 16385 }, false, syscall.EPERM},
		{"qbytes above MsgMnb with CAP_SYS_RESOURCE", Cred{UID: owner.UID, Caps: CapSysResource}, func(ds *MsqidDS) { ds.Qbytes = 1 << 20 }, false, nil},
		{"only the low 32 bits of qbytes count", owner, func(ds *MsqidDS) { ds.Qbytes = 1<<32 + 5 }, false, nil},
		{"qbytes 1<<31 is above MsgMnb", owner, func(ds *MsqidDS) { ds.Qbytes = 1 << 31 }, false, syscall.EPERM},
		{"uid -1 gives EINVAL", owner, func(ds *MsqidDS) { ds.Perm.UID = math.MaxUint32 }, false, syscall.EINVAL},
		{"gid -1 gives EINVAL", owner, func(ds *MsqidDS) { ds.Perm.GID = math.MaxUint32 }, false, syscall.EINVAL},
		{"EPERM for qbytes comes before EINVAL for uid", owner, func(ds *MsqidDS) { ds.Qbytes = 1 << 20; ds.Perm.UID = math.MaxUint32 }, false, syscall.EPERM},
		{"a nil buffer gives EFAULT", owner, nil, true, syscall.EFAULT},
		{"key, creator, counts and times in the buffer are ignored", owner, func(ds *MsqidDS) {
			ds.Perm.Key, ds.Perm.CUID, ds.Perm.CGID, ds.Perm.Seq = 77, 77, 77, 77
			ds.Cbytes, ds.Qnum, ds.Lspid, ds.Lrpid = 77, 77, 77, 77
			ds.Stime = time.Unix(77, 0)
		}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			ns := NewNamespace(WithCred(creator), WithClock(clock.now))
			id := mustQueue(t, ns, 5, 0o600)
			give := stat(t, ns, id)
			give.Perm.UID, give.Perm.GID = owner.UID, owner.GID
			_, err := ns.Msgctl(id, IPC_SET, &give)
			require.NoError(t, err)
			before := stat(t, ns, id)
			setAt := clock.advance(time.Hour)

			var buf *MsqidDS
			want := before
			if !tt.nilBuf {
				ds := before
				tt.change(&ds)
				buf = &ds
				want.Perm.UID, want.Perm.GID = ds.Perm.UID, ds.Perm.GID
				want.Perm.Mode = ds.Perm.Mode & 0o777
				want.Qbytes = ds.Qbytes & (1<<32 - 1)
				want.Ctime = setAt
			}
			r, err := ns.As(tt.as).Msgctl(id, IPC_SET, buf)
			assert.Equal(t, tt.want, err)
			if tt.want != nil {
				assert.Equal(t, -1, r)
				assert.Equal(t, before, stat(t, ns, id), "a failed IPC_SET changes nothing")
				return
			}
			assert.Equal(t, 0, r)
			assert.Equal(t, want, stat(t, ns, id))
		})
	}
}

func TestMsgctlSetQbytesHighBitSignExtends(t *testing.T) {
	// The kernel passes msg_qbytes to msgctl_down as a C int and stores it
	// in an unsigned long: with CAP_SYS_RESOURCE, 0x80000000 becomes
	// 0xffffffff80000000.
	ns := NewNamespace(WithCred(Root))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	ds := stat(t, ns, id)
	ds.Qbytes = 0x80000000
	_, err := ns.Msgctl(id, IPC_SET, &ds)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffffff80000000), stat(t, ns, id).Qbytes)
}

func TestMsgctlSetNilBufferBeforeLookup(t *testing.T) {
	ns := newNS(t)
	_, err := ns.Msgctl(12345, IPC_SET, nil)
	assert.Equal(t, syscall.EFAULT, err, "Linux copies the buffer before it looks up the id")
	_, err = ns.Msgctl(-1, IPC_SET, nil)
	assert.Equal(t, syscall.EINVAL, err, "but a negative id is checked first")
}

func TestMsgctlRmid(t *testing.T) {
	tests := []struct {
		name string
		as   Cred
		want error
	}{
		{"the owner removes", owner, nil},
		{"the creator removes", creator, nil},
		{"CAP_SYS_ADMIN removes", Cred{UID: 9, Caps: CapSysAdmin}, nil},
		{"a stranger gets EPERM", stranger, syscall.EPERM},
		{"a group member gets EPERM", member, syscall.EPERM},
		{"CAP_IPC_OWNER does not suffice", Cred{UID: 9, Caps: CapIPCOwner}, syscall.EPERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := NewNamespace(WithCred(creator))
			id := mustQueue(t, ns, 5, 0o666)
			mustSend(t, ns, id, msg{1, "x"})
			ds := stat(t, ns, id)
			ds.Perm.UID = owner.UID
			_, err := ns.Msgctl(id, IPC_SET, &ds)
			require.NoError(t, err)

			r, err := ns.As(tt.as).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, tt.want, err)
			if tt.want != nil {
				assert.Equal(t, -1, r)
				assert.Equal(t, []msg{{1, "x"}}, contents(t, ns, id))
				return
			}
			assert.Equal(t, 0, r)
			_, err = ns.Msgctl(id, IPC_STAT, new(MsqidDS))
			assert.Equal(t, syscall.EINVAL, err, "the id is gone")
			_, err = ns.Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EINVAL, err, "a second IPC_RMID finds nothing")
			_, err = ns.Msgget(5, 0)
			assert.Equal(t, syscall.ENOENT, err, "the key is gone")
		})
	}
}

func TestMsgctlInfo(t *testing.T) {
	ns := newNS(t, WithLimits(Limits{MsgMax: 100, MsgMnb: 1000, MsgMni: 50}))
	var info MsgInfo
	r, err := ns.MsgctlInfo(IPC_INFO, &info)
	require.NoError(t, err)
	assert.Equal(t, 0, r, "no queue: 0")
	assert.Equal(t, MsgInfo{Msgpool: 512000, Msgmap: 16384, Msgmax: 100, Msgmnb: 1000, Msgmni: 50, Msgssz: 16, Msgtql: 16384, Msgseg: 65535}, info)

	var ids []int
	for range 6 {
		ids = append(ids, mustQueue(t, ns, IPC_PRIVATE, 0o600))
	}
	mustSend(t, ns, ids[0], msg{1, "abc"}, msg{2, "de"})
	mustSend(t, ns, ids[5], msg{1, "f"})
	_, err = ns.Msgctl(ids[2], IPC_RMID, nil)
	require.NoError(t, err)

	r, err = ns.MsgctlInfo(MSG_INFO, &info)
	require.NoError(t, err)
	assert.Equal(t, 5, r, "the highest index in use")
	assert.Equal(t, MsgInfo{Msgpool: 5, Msgmap: 3, Msgmax: 100, Msgmnb: 1000, Msgmni: 50, Msgssz: 16, Msgtql: 6, Msgseg: 65535}, info,
		"MSG_INFO: msgpool counts queues, msgmap messages, msgtql bytes")

	_, err = ns.Msgctl(ids[5], IPC_RMID, nil)
	require.NoError(t, err)
	r, err = ns.MsgctlInfo(IPC_INFO, &info)
	require.NoError(t, err)
	assert.Equal(t, 4, r, "removing the highest lowers it")

	r, err = ns.Msgctl(0, IPC_INFO, new(MsqidDS))
	assert.NoError(t, err)
	assert.Equal(t, 4, r, "msgctl with IPC_INFO returns the same index")
	_, err = ns.Msgctl(0, MSG_INFO, nil)
	assert.Equal(t, syscall.EFAULT, err)
	_, err = ns.Msgctl(-1, IPC_INFO, new(MsqidDS))
	assert.Equal(t, syscall.EINVAL, err, "a negative id is EINVAL even for IPC_INFO")
	_, err = ns.MsgctlInfo(IPC_INFO, nil)
	assert.Equal(t, syscall.EFAULT, err)
	_, err = ns.MsgctlInfo(IPC_STAT, &info)
	assert.Equal(t, syscall.EINVAL, err)
}

func TestIDs(t *testing.T) {
	ns := newNS(t)
	var got []int
	for range 66 {
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		got = append(got, id)
		_, err := ns.Msgctl(id, IPC_RMID, nil)
		require.NoError(t, err)
	}
	// As Linux in a fresh IPC namespace: indices cycle through 64 before
	// one is reused, and the sequence number advances when they wrap.
	for i := range 64 {
		assert.Equal(t, i, got[i])
	}
	assert.Equal(t, 1<<15, got[64])
	assert.Equal(t, 1<<15+1, got[65])

	reused := mustQueue(t, ns, IPC_PRIVATE, 0o600) // index 2 of the second cycle
	assert.Equal(t, 1<<15+2, reused)
	for _, id := range got {
		err := ns.Msgsnd(id, 1, nil, IPC_NOWAIT)
		assert.Equal(t, syscall.EINVAL, err, "removed id %d", id)
		_, err = ns.Lookup(id)
		assert.Equal(t, syscall.EINVAL, err, "Lookup of removed id %d", id)
	}
}

func TestIDStaleAfterIndexReuse(t *testing.T) {
	ns := newNS(t)
	first := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	require.NoError(t, ns.Msgsnd(first, 1, []byte("old"), 0))
	_, err := ns.Msgctl(first, IPC_RMID, nil)
	require.NoError(t, err)
	var second int
	for { // cycle until index 0 is handed out again
		second = mustQueue(t, ns, IPC_PRIVATE, 0o600)
		if second&(1<<15-1) == first {
			break
		}
		_, err := ns.Msgctl(second, IPC_RMID, nil)
		require.NoError(t, err)
	}
	assert.NotEqual(t, first, second, "the reused index carries a new sequence number")
	assert.Equal(t, syscall.EINVAL, ns.Msgsnd(first, 1, nil, 0), "the old id stays invalid")
	_, _, err = ns.Msgrcv(first, nil, 0, IPC_NOWAIT)
	assert.Equal(t, syscall.EINVAL, err)
	assert.Equal(t, uint16(1), stat(t, ns, second).Perm.Seq)
}

func TestTableGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 100,000 queues")
	}
	const n = 100_000
	ns := newNS(t, WithLimits(Limits{MsgMni: 1 << 20}))
	require.Equal(t, initialSlots, ns.core.ids.table.Load().size(), "the table starts small")
	ids := make([]int, n)
	for i := range ids {
		ids[i] = mustQueue(t, ns, Key(i+1), 0o600)
	}
	assert.Equal(t, 1<<17, ns.core.ids.table.Load().size(), "and doubles to hold 100,000")
	for i := 0; i < n; i += 997 {
		id, err := ns.Msgget(Key(i+1), 0)
		require.NoError(t, err)
		assert.Equal(t, ids[i], id)
		require.NoError(t, ns.Msgsnd(id, 1, []byte{byte(i)}, 0))
		buf := make([]byte, 1)
		_, _, err = ns.Msgrcv(id, buf, 0, 0)
		require.NoError(t, err)
		assert.Equal(t, byte(i), buf[0])
	}
	var info MsgInfo
	r, err := ns.MsgctlInfo(MSG_INFO, &info)
	require.NoError(t, err)
	assert.Equal(t, n-1, r)
	assert.Equal(t, int32(n), info.Msgpool)
}

func TestExtendedIDsPastIPCMNI(t *testing.T) {
	// With more than 32768 queues allowed, Linux (ipcmni_extend) builds ids
	// as seq<<24 | index and cycles through at least 4096 indices.
	ns := newNS(t, WithLimits(Limits{MsgMni: 40000}))
	for i := range 4096 {
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		require.Equal(t, i, id)
		_, err := ns.Msgctl(id, IPC_RMID, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 1<<24, mustQueue(t, ns, IPC_PRIVATE, 0o600), "the cycle wrapped: index 0, sequence 1")
}

func TestWithCredSharedAcrossGoroutines(t *testing.T) {
	c := Cred{UID: 7, Groups: []uint32{1, 2}}
	opt := WithCred(c)
	c.Groups[0] = 99 // the option took its own copy
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				assert.Equal(t, []uint32{1, 2}, NewNamespace(opt).Cred().Groups)
			}
		})
	}
	wg.Wait()
}

func TestNamespacesAreIndependent(t *testing.T) {
	a, b := newNS(t), newNS(t)
	ida := mustQueue(t, a, 1, 0o600)
	idb := mustQueue(t, b, 1, 0o600)
	assert.Equal(t, ida, idb, "each namespace numbers its own queues")
	mustSend(t, a, ida, msg{1, "in a"})
	_, _, err := b.Msgrcv(idb, make([]byte, 10), 0, IPC_NOWAIT)
	assert.Equal(t, syscall.ENOMSG, err)
	_, err = b.Msgctl(idb, IPC_RMID, nil)
	require.NoError(t, err)
	assert.Equal(t, []msg{{1, "in a"}}, contents(t, a, ida))
	_, err = b.Msgget(1, 0)
	assert.Equal(t, syscall.ENOENT, err)
	_, err = a.Msgget(1, 0)
	assert.NoError(t, err)
}

func TestViewsShareTheNamespace(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, 9, 0o666)
	other := ns.As(stranger)
	require.NoError(t, other.Msgsnd(id, 1, []byte("hi"), 0))
	assert.Equal(t, stranger.PID, stat(t, ns, id).Lspid)
	assert.Equal(t, stranger, other.Cred())
	assert.Equal(t, owner, ns.Cred())
}

func TestCredIsCopied(t *testing.T) {
	c := Cred{UID: 5, GID: 5, Groups: []uint32{1000}}
	ns := newNS(t)
	id := mustQueue(t, ns, 9, 0o640)
	view := ns.As(c)
	c.Groups[0] = 4242
	_, _, err := view.Msgrcv(id, nil, 0, IPC_NOWAIT)
	assert.Equal(t, syscall.ENOMSG, err, "the view kept group 1000")
}

func TestLimitsDefaults(t *testing.T) {
	assert.Equal(t, DefaultLimits, NewNamespace().Limits())
	assert.Equal(t, Limits{MsgMax: 10, MsgMnb: 16384, MsgMni: 32000}, NewNamespace(WithLimits(Limits{MsgMax: 10})).Limits())
	assert.Equal(t, DefaultLimits, NewNamespace(WithLimits(Limits{MsgMax: -1, MsgMnb: -1, MsgMni: -1})).Limits(), "negative counts as zero")
	assert.Equal(t, 1<<24, NewNamespace(WithLimits(Limits{MsgMni: math.MaxInt})).Limits().MsgMni)
}

func TestLimitsMsgMaxAndMnb(t *testing.T) {
	ns := newNS(t, WithLimits(Limits{MsgMax: 4, MsgMnb: 8}))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1, []byte("12345"), 0))
	require.NoError(t, ns.Msgsnd(id, 1, []byte("1234"), 0))
	require.NoError(t, ns.Msgsnd(id, 1, []byte("1234"), 0))
	assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, []byte("1"), IPC_NOWAIT))
	assert.Equal(t, uint64(8), stat(t, ns, id).Qbytes)
}

func TestQueueHandle(t *testing.T) {
	ns := newNS(t)
	q, err := ns.Get(3, IPC_CREAT|0o600)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, q.Send(ctx, 4, []byte("four"), 0))
	m, err := q.Recv(ctx, 0, 100, 0)
	require.NoError(t, err)
	assert.Equal(t, Message{Type: 4, Text: []byte("four")}, m)

	require.NoError(t, q.Send(ctx, 2, []byte("two!"), 0))
	buf := make([]byte, 2)
	n, mtype, err := q.RecvInto(ctx, buf, 0, MSG_NOERROR)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, int64(2), mtype)
	assert.Equal(t, "tw", string(buf))

	_, err = q.Recv(ctx, 0, -1, IPC_NOWAIT)
	assert.Equal(t, syscall.EINVAL, err, "a negative size is EINVAL")
	assert.Equal(t, syscall.EINVAL, q.Send(ctx, 0, nil, 0))
	assert.Equal(t, syscall.EINVAL, q.Send(ctx, 1, make([]byte, 8193), 0))
	_, err = q.Recv(ctx, 0, 10, MSG_COPY)
	assert.Equal(t, syscall.EINVAL, err)

	ds, err := q.Stat()
	require.NoError(t, err)
	assert.Equal(t, Key(3), ds.Perm.Key)
	ds.Perm.Mode = 0o644
	require.NoError(t, q.Set(&ds))
	assert.Equal(t, syscall.EFAULT, q.Set(nil))
	_, err = handleAs(q, stranger).Stat()
	assert.NoError(t, err, "0o644 lets others read")
	assert.Equal(t, syscall.EACCES, handleAs(q, stranger).Send(ctx, 1, nil, 0))
	assert.Equal(t, syscall.EPERM, handleAs(q, stranger).Remove())

	same, err := ns.Lookup(q.ID())
	require.NoError(t, err)
	require.NoError(t, same.Remove())

	// Every call on a removed queue's handle is EIDRM, even once its id is reused.
	for range 70 {
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		if id&(1<<15-1) == q.ID()&(1<<15-1) {
			break
		}
		_, err := ns.Msgctl(id, IPC_RMID, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, syscall.EIDRM, q.Send(ctx, 1, nil, 0))
	_, err = q.Recv(ctx, 0, 10, 0)
	assert.Equal(t, syscall.EIDRM, err)
	_, _, err = q.RecvInto(ctx, buf, 0, 0)
	assert.Equal(t, syscall.EIDRM, err)
	_, err = q.Stat()
	assert.Equal(t, syscall.EIDRM, err)
	assert.Equal(t, syscall.EIDRM, q.Set(&ds))
	assert.Equal(t, syscall.EIDRM, q.Remove())
}

// handleAs returns a handle on the same queue acting as c.
func handleAs(q *Queue, c Cred) *Queue { return &Queue{ns: q.ns.As(c), q: q.q} }

func TestLookup(t *testing.T) {
	ns := newNS(t)
	id := mustQueue(t, ns, 1, 0)
	q, err := ns.As(stranger).Lookup(id)
	require.NoError(t, err, "Lookup checks no permission")
	assert.Equal(t, id, q.ID())
	_, err = q.Stat()
	assert.Equal(t, syscall.EACCES, err, "the handle's calls do")
	for _, bad := range []int{-1, id + 1, id + 1<<15, math.MaxInt32} {
		_, err := ns.Lookup(bad)
		assert.Equal(t, syscall.EINVAL, err, "id %d", bad)
	}
}

func TestIpcsListing(t *testing.T) {
	ns := newNS(t)
	a := mustQueue(t, ns, 0x2a, 0o600)
	b := mustQueue(t, ns, -1, 0o644)
	mustSend(t, ns, a, msg{1, "hello"}, msg{2, "seven"}, msg{1, "xy"})
	want := "------ Message Queues --------\n" +
		"key        msqid      owner      perms      used-bytes   messages\n" +
		"0x0000002a 0          1000       600        12           3\n" +
		"0xffffffff 1          1000       644        0            0\n"
	assert.Equal(t, 1, b)
	assert.Equal(t, want, ns.String())
	var sb strings.Builder
	n, err := ns.WriteTo(&sb)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), n)
	assert.Equal(t, want, sb.String())
}

func TestFtok(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	k1, err := Ftok(path, 'a')
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no inode numbers on this system")
	}
	require.NoError(t, err)
	k2, err := Ftok(path, 'b')
	require.NoError(t, err)
	assert.Equal(t, uint32(k1)&0xffffff, uint32(k2)&0xffffff, "the project id only changes the top byte")
	if st, ok := statOf(t, path); ok { // glibc: (ino & 0xffff) | (dev & 0xff) << 16 | proj << 24
		assert.Equal(t, uint32(st.ino&0xffff)|uint32(st.dev&0xff)<<16|uint32('a')<<24, uint32(k1))
	}
	assert.Equal(t, uint32('a'), uint32(k1)>>24)
	assert.Equal(t, uint32('b'), uint32(k2)>>24)
	link := filepath.Join(dir, "link")
	if os.Symlink(path, link) == nil {
		k3, err := Ftok(link, 'a')
		require.NoError(t, err)
		assert.Equal(t, k1, k3, "symbolic links are followed")
	}
	k, err := Ftok(filepath.Join(dir, "missing"), 'a')
	assert.Equal(t, Key(-1), k)
	assert.ErrorIs(t, err, syscall.ENOENT)
}

func TestCurrentCred(t *testing.T) {
	if os.Geteuid() < 0 {
		t.Skip("no uids on this system")
	}
	c := CurrentCred()
	assert.Equal(t, uint32(os.Geteuid()), c.UID)
	assert.Equal(t, uint32(os.Getegid()), c.GID)
	assert.Equal(t, int32(os.Getpid()), c.PID)
}

func TestRemovedQueueHandle(t *testing.T) {
	// A handle of a removed queue: the argument checks Linux makes before
	// it looks the queue up come first, then EIDRM, even once the id and
	// its index are reused.
	ns := newNS(t, WithCred(Root))
	q, err := ns.Get(IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, q.Remove())
	_, err = ns.Get(IPC_PRIVATE, 0o600) // a new queue, perhaps in the same slot
	require.NoError(t, err)
	ctx := context.Background()
	big := make([]byte, DefaultLimits.MsgMax+1)
	for _, tc := range []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"Send with mtype 0 is EINVAL", q.Send(ctx, 0, nil, 0), syscall.EINVAL},
		{"Send with mtype -1 is EINVAL", q.Send(ctx, -1, []byte("x"), IPC_NOWAIT), syscall.EINVAL},
		{"Send of a text above MsgMax is EINVAL", q.Send(ctx, 1, big, IPC_NOWAIT), syscall.EINVAL},
		{"Send with flags outside C's int is EINVAL", q.Send(ctx, 1, nil, 1<<32), syscall.EINVAL},
		{"a valid Send is EIDRM", q.Send(ctx, 1, []byte("x"), IPC_NOWAIT), syscall.EIDRM},
		{"a valid blocking Send is EIDRM", q.Send(ctx, 1, []byte("x"), 0), syscall.EIDRM},
		{"Recv with a negative size is EINVAL", errOf(q.Recv(ctx, 0, -1, IPC_NOWAIT)), syscall.EINVAL},
		{"Recv with MSG_COPY without IPC_NOWAIT is EINVAL", errOf(q.Recv(ctx, 0, 10, MSG_COPY)), syscall.EINVAL},
		{"Recv with MSG_COPY|MSG_EXCEPT is EINVAL", errOf(q.Recv(ctx, 0, 10, MSG_COPY|MSG_EXCEPT|IPC_NOWAIT)), syscall.EINVAL},
		{"a valid Recv is EIDRM", errOf(q.Recv(ctx, 0, 10, IPC_NOWAIT)), syscall.EIDRM},
		{"a valid blocking Recv is EIDRM", errOf(q.Recv(ctx, 5, 10, 0)), syscall.EIDRM},
		{"a valid MSG_COPY is EIDRM", errOf(q.Recv(ctx, 0, 10, MSG_COPY|IPC_NOWAIT)), syscall.EIDRM},
		{"RecvInto with MSG_COPY without IPC_NOWAIT is EINVAL", errOf3(q.RecvInto(ctx, nil, 0, MSG_COPY)), syscall.EINVAL},
		{"a valid RecvInto is EIDRM", errOf3(q.RecvInto(ctx, make([]byte, 4), 0, 0)), syscall.EIDRM},
		{"Stat is EIDRM", errOf(q.Stat()), syscall.EIDRM},
		{"Set(nil) is EFAULT", q.Set(nil), syscall.EFAULT},
		{"a valid Set is EIDRM", q.Set(&MsqidDS{Perm: IPCPerm{Mode: 0o600}, Qbytes: 100}), syscall.EIDRM},
		{"an invalid Set (uid -1) is still EIDRM: Linux checks it after the lookup", q.Set(&MsqidDS{Perm: IPCPerm{UID: 1<<32 - 1}}), syscall.EIDRM},
		{"Remove is EIDRM", q.Remove(), syscall.EIDRM},
	} {
		assert.Equal(t, tc.want, tc.err, tc.name)
	}
}

// errOf and errOf3 keep only a call's error, for tables of calls.
func errOf[T any](_ T, err error) error { return err }

func errOf3[A, B any](_ A, _ B, err error) error { return err }

func TestTimesAreWholeSeconds(t *testing.T) {
	// Linux stamps msg_stime, msg_rtime and msg_ctime in whole seconds
	// (ktime_get_real_seconds); so does msgq, whatever its clock's precision.
	at := time.Date(2026, 11, 23, 12, 0, 0, 999_999_999, time.Local)
	ns := newNS(t, WithClock(func() time.Time { return at }))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	require.NoError(t, ns.Msgsnd(id, 1, nil, 0))
	_, _, err := ns.Msgrcv(id, nil, 0, 0)
	require.NoError(t, err)
	ds := stat(t, ns, id)
	want := time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local)
	for name, got := range map[string]time.Time{"stime": ds.Stime, "rtime": ds.Rtime, "ctime": ds.Ctime} {
		assert.True(t, want.Equal(got), "%s = %v, want %v", name, got, want)
	}

	// A clock at or before the epoch still stamps a time: 0 means never.
	ns = newNS(t, WithClock(func() time.Time { return time.Unix(0, 0) }))
	id = mustQueue(t, ns, IPC_PRIVATE, 0o600)
	assert.Equal(t, time.Unix(1, 0), stat(t, ns, id).Ctime)
}
