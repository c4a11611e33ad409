package msgq

import (
	"context"
	"encoding/json"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// §2: a dialect's snapshot carries its allocator's state, so that the
// restored namespace has the same queues and hands out the ids the
// checkpointed one would have.
func TestDialectSnapshotRoundTrip(t *testing.T) {
	for d := range Dialect(len(dialectRules)) {
		t.Run(d.String(), func(t *testing.T) {
			clock := newClock()
			ns := newNS(t, WithDialect(d), WithClock(clock.now))
			a := create(t, ns, 1, 0o600)
			b := create(t, ns, 2, 0o640)
			c := create(t, ns, IPC_PRIVATE, 0o600)
			mustSend(t, ns, a, msg{1, "one"}, msg{2, "two!"})
			mustSend(t, ns, c, msg{7, ""})
			rmid(t, ns, b) // move a seq on, free an index
			for range 3 {
				rmid(t, ns, create(t, ns, 9, 0o600))
			}
			snap := ns.Checkpoint()
			require.Equal(t, d, snap.Dialect)
			if d != Linux {
				require.NotNil(t, snap.Allocator.Scheme)
			}
			raw, err := json.Marshal(snap)
			require.NoError(t, err)
			var back Snapshot
			require.NoError(t, json.Unmarshal(raw, &back))
			assert.Equal(t, *snap, back, "round-trips through JSON")

			re, err := Restore(&back, WithCred(owner), WithClock(clock.now))
			require.NoError(t, err)
			require.NoError(t, checkInvariants(re))
			assert.Equal(t, d, re.Dialect())
			assert.Equal(t, snap, re.Checkpoint(), "the same state")
			// The next ids are the same.
			for k := Key(20); k < 23; k++ {
				x, err1 := ns.Msgget(k, IPC_CREAT|0o600)
				y, err2 := re.Msgget(k, IPC_CREAT|0o600)
				require.NoError(t, err1)
				require.NoError(t, err2)
				assert.Equal(t, x, y, "key %d", k)
			}
			if d == Illumos {
				n1, _ := ns.Msgids(make([]int, 8))
				buf1, buf2 := make([]int, n1), make([]int, n1)
				ns.Msgids(buf1)
				re.Msgids(buf2)
				assert.Equal(t, buf1, buf2, "msgids order survives")
			}
			// The pool's accounting survives: invariants hold after traffic.
			require.NoError(t, re.Msgsnd(a, 3, []byte("x"), IPC_NOWAIT))
			require.NoError(t, checkInvariants(re))
		})
	}
}

// §2: SVR4's sticky MSG_RWAIT is state, and survives a restore.
func TestDialectSnapshotSticky(t *testing.T) {
	ns := newNS(t, WithDialect(SVR4))
	id := create(t, ns, 1, 0o600)
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ch := async(func(context.Context) error { _, err := q.Recv(ctx, 0, 8, 0); return err })
	waitBlocked(t, ns, id, 1)
	cancel()
	outcome(t, ch)
	re, err := Restore(ns.Checkpoint(), WithCred(owner))
	require.NoError(t, err)
	assert.Equal(t, uint16(0o101600), stat(t, re, id).Perm.Mode)
}

// Restore refuses a dialect snapshot that breaks its system's rules.
func TestDialectSnapshotRefused(t *testing.T) {
	base := func(d Dialect) *Snapshot {
		ns := newNS(t, WithDialect(d))
		create(t, ns, 1, 0o600)
		mustSend(t, ns, firstID(t, ns), msg{1, "x"})
		return ns.Checkpoint()
	}
	for _, tc := range []struct {
		name  string
		d     Dialect
		field string
		edit  func(s *Snapshot)
	}{
		{"no allocator scheme", OpenBSD, "allocator.scheme", func(s *Snapshot) { s.Allocator.Scheme = nil }},
		{"openbsd index 0", OpenBSD, "queues[0].id", func(s *Snapshot) { s.Queues[0].ID = 2 << 16 }},
		{"openbsd counter behind", OpenBSD, "allocator.scheme.counter", func(s *Snapshot) { s.Allocator.Scheme.Counter = 1 }},
		{"freebsd slot seq", FreeBSD, "queues[0].id", func(s *Snapshot) { s.Allocator.Scheme.Seqs[0] = 5 }},
		{"illumos stat seq", Illumos, "queues[0].stat.perm.seq", func(s *Snapshot) { s.Queues[0].Stat.Perm.Seq = 1 }},
		{"illumos newest", Illumos, "allocator.scheme.newest", func(s *Snapshot) { s.Allocator.Scheme.Newest = nil }},
		{"svr4 uid above MAXUID", SVR4, "queues[0].stat.perm.uid", func(s *Snapshot) { s.Queues[0].Stat.Perm.UID = 60003 }},
		{"svr4 negative limit", SVR4, "limits.msgtql", func(s *Snapshot) { s.Limits.MsgTql = -1 }},
		{"freebsd qnum", FreeBSD, "queues[0].stat.qnum", func(s *Snapshot) { s.Queues[0].Stat.Qnum = 5 }},
		{"linux limit under openbsd", OpenBSD, "limits.msgmnm", func(s *Snapshot) { s.Limits.MsgMnm = 5 }},
		{"aix type above 32 bits", AIX, "queues[0].messages[0].type", func(s *Snapshot) { s.Queues[0].Messages[0].Type = 1 << 40 }},
		{"mode bits", AIX, "queues[0].stat.perm.mode", func(s *Snapshot) { s.Queues[0].Stat.Perm.Mode |= modeIPCAlloc }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base(tc.d)
			tc.edit(s)
			_, err := Restore(s)
			var se *SnapshotError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.True(t, errors.Is(err, syscall.EINVAL))
			assert.Equal(t, tc.field, se.Field, "%v", err)
		})
	}
}

// firstID is the id of ns's only queue.
func firstID(t *testing.T, ns *Namespace) int {
	t.Helper()
	ids := liveIDs(ns)
	require.Len(t, ids, 1)
	return ids[0]
}

// A checkpoint taken while callers wait leaves out the bits that say so
// (illumos's MSG_RWAIT, FreeBSD's MSG_LOCKED), and restores.
func TestDialectSnapshotWhileBlocked(t *testing.T) {
	for _, d := range []Dialect{Illumos, FreeBSD} {
		t.Run(d.String(), func(t *testing.T) {
			ns := newNS(t, WithDialect(d))
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 2 }))
			mustSend(t, ns, id, msg{1, "ab"})
			ch := blockedSend(t, ns, owner, id, 1, 1, "c")
			s := ns.Checkpoint()
			re, err := Restore(s, WithCred(owner))
			require.NoError(t, err)
			assert.Equal(t, s, re.Checkpoint())
			rmid(t, ns, id)
			assert.Equal(t, syscall.EIDRM, outcome(t, ch))
		})
	}
}
