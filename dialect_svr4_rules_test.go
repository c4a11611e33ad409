package msgq

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SVR4's rules (dialects.md, S4 = calmsacibis995/svr4-src uts/i386/os/msg.c,
// S4c = os/ipc.c, sys/param.h, Mtune; SUN = the SunOS 4 msgctl(2) page).
func TestDialectSVR4(t *testing.T) {
	runRules(t, SVR4, []rule{
		// §1 S4c ipcget: EEXIST before the mode check.
		{"msgget/excl-before-mode", getMode(0o600, stranger, IPC_CREAT|IPC_EXCL|0o600, syscall.EEXIST)},
		// §1 S4c ipcget: the subset test, without classes.
		{"msgget/subset", getMode(0o644, stranger, 0o640, nil)},
		// §1 S4c ipcget: root is not exempt.
		{"msgget/root-not-exempt", getMode(0o644, rootNoCaps, 0o666, syscall.EACCES)},
		// §1 S4c ipcget: ENOSPC when no slot is free (MsgMni 50).
		{"msgget/enospc-at-50", func(t *testing.T, ns *Namespace) {
			for range 50 {
				create(t, ns, IPC_PRIVATE, 0o600)
			}
			_, err := ns.Msgget(IPC_PRIVATE, 0o600)
			assert.Equal(t, syscall.ENOSPC, err)
		}},

		// §2 S4 msgget: seq × MsgMni + slot.
		{"ids/first-0-1", firstIDs(0, 1)},
		// §2 S4 msgctl IPC_RMID: the slot's seq moves on; the lowest slot is reused at once.
		{"ids/reuse-bumps-seq", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			create(t, ns, 2, 0o600)
			rmid(t, ns, a)
			assert.Equal(t, 50, create(t, ns, 3, 0o600))
			assert.Equal(t, uint16(1), stat(t, ns, 50).Perm.Seq, "IPC_STAT reports the slot seq")
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(a, 1, nil, IPC_NOWAIT), "stale")
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(-50, 1, nil, IPC_NOWAIT), "negative")
		}},
		// §2 S4 msgctl: the seq resets to 0 when removed id + MsgMni passes 32767.
		{"ids/seq-reset-past-32767", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(SVR4), WithLimits(Limits{MsgMni: 20000}))
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			b := create(t, ns, 1, 0o600)
			require.Equal(t, 20000, b)
			rmid(t, ns, b)
			assert.Equal(t, 0, create(t, ns, 1, 0o600))
		}},

		// §3 S4 msgsnd: write permission before MsgMax, MsgMax before mtype.
		{"msgsnd/order", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, ns.As(stranger).Msgsnd(id+1, 0, nil, IPC_NOWAIT), "lookup first")
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 0, make([]byte, 2049), IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1, make([]byte, 2049), IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 0, nil, IPC_NOWAIT))
		}},
		// §3 S4 msgsnd: a message longer than qbytes (≤ MsgMax) never fits: it waits.
		{"msgsnd/longer-than-qbytes-waits", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, make([]byte, 200), IPC_NOWAIT))
		}},
		// §3 S4 msgsnd: no per-queue count.
		{"msgsnd/no-queue-count", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 2 }))
			for range 5 {
				require.NoError(t, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
			}
		}},
		// §3 S4 msgsnd: a header (MsgTql 40) and ⌈msgsz/8⌉ of 1024 segments.
		{"msgsnd/headers-and-segments", func(t *testing.T, ns *Namespace) {
			a, b, c := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600), create(t, ns, 3, 0o600)
			mustSend(t, ns, a, msg{1, string(make([]byte, 2048))}, msg{1, string(make([]byte, 2048))})
			mustSend(t, ns, b, msg{1, string(make([]byte, 2048))}, msg{1, string(make([]byte, 2040))}) // 256+255 segments
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(c, 1, make([]byte, 9), IPC_NOWAIT), "1 segment left")
			require.NoError(t, ns.Msgsnd(c, 1, make([]byte, 8), IPC_NOWAIT))
			for range 35 {
				require.NoError(t, ns.Msgsnd(c, 1, nil, IPC_NOWAIT))
			}
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(c, 1, nil, IPC_NOWAIT), "40 headers")
		}},
		// §6 consequences: qbytes 0 takes only empty messages; others wait.
		{"msgsnd/qbytes-zero", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0 }))
			assert.NoError(t, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, []byte("x"), IPC_NOWAIT))
		}},

		// §4 S4 msgrcv: the lowest type ≤ |t|.
		{"msgrcv/neg-lowest", negTypeSelects(1)},
		// §4 S4 msgrcv: E2BIG unless MSG_NOERROR.
		{"msgrcv/e2big", tooLong(syscall.E2BIG)},
		// §4: MSG_COPY is unknown.
		{"msgrcv/copy-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "a"}, msg{2, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 2, IPC_NOWAIT|MSG_COPY)
			require.NoError(t, err)
			assert.Equal(t, int64(2), mtype)
			assert.Equal(t, []int64{1}, types(t, ns, id))
		}},

		// §5 S4 msgctl, SUN: only IPC_STAT, IPC_SET and IPC_RMID.
		// §6 S4 msgctl: the owner check, then copyin.
		{"set/nil-buffer-efault", setNilBuf(true)},
		{"msgctl/three-commands", onlyCommands},

		// §6 S4 msgctl IPC_SET, SUN: owner or UID 0; any raise needs UID 0; no clamp; 0 allowed.
		{"set/who-raise", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EPERM, setq(t, ns, stranger, id, func(*MsqidDS) {}))
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes++ }))
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 100000 }))
			assert.Equal(t, uint64(100000), stat(t, ns, id).Qbytes)
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0 }))
		}},
		// §6 S4c param.h MAXUID 60002; the order owner, raise, ids.
		{"set/uid-range-and-order", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.UID = 60003 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.GID = 60003; ds.Qbytes++ }))
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.UID = 60002 }))
		}},

		// §7 S4 msgctl IPC_RMID: EPERM for a non-owner, UID 0 may; waiters get EIDRM.
		{"rmid/who", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(stranger).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EPERM, err)
			ch := blockedRecv(t, ns, owner, id, 1, 0, 8, 0)
			_, err = ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			assert.NoError(t, err)
			assert.Equal(t, syscall.EIDRM, outcome(t, ch))
		}},

		// §8 S4c ipcget, S4 msgrcv, msgsnd: IPC_ALLOC, and MSG_RWAIT sticky until a send.
		{"stat/rwait-sticky", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode)
			q, err := ns.Lookup(id)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			ch := async(func(context.Context) error { _, err := q.Recv(ctx, 0, 8, 0); return err })
			waitBlocked(t, ns, id, 1)
			cancel()
			assert.ErrorIs(t, outcome(t, ch), context.Canceled)
			assert.Equal(t, uint16(0o101600), stat(t, ns, id).Perm.Mode, "left set by a receiver that left")
			mustSend(t, ns, id, msg{1, "x"})
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode, "cleared by the next send")
		}},
		// §8 S4 msgsnd, msgrcv: MSG_WWAIT set by a sender sleeping for bytes, cleared by a receive.
		{"stat/wwait-bytes", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			mustSend(t, ns, id, msg{1, "abcd"}, msg{2, ""})
			ch := blockedSend(t, ns, owner, id, 1, 1, "x")
			assert.Equal(t, uint16(0o102600), stat(t, ns, id).Perm.Mode)
			recvType(t, ns, id, 2)
			assert.Equal(t, uint16(0o102600), stat(t, ns, id).Perm.Mode, "the sender sleeps again")
			recvType(t, ns, id, 1)
			require.NoError(t, outcome(t, ch))
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode)
		}},
		// §8 S4 msgsnd: a sender that leaves by its context clears MSG_WWAIT.
		{"stat/wwait-cleared-on-cancel", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			mustSend(t, ns, id, msg{1, "abcd"})
			q, err := ns.Lookup(id)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			ch := async(func(context.Context) error { return q.Send(ctx, 1, []byte("x"), 0) })
			waitBlocked(t, ns, id, 1)
			cancel()
			assert.ErrorIs(t, outcome(t, ch), context.Canceled)
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode)
		}},
		// §0, §8 S4 msgsnd: Interrupt takes the signal path: MSG_WWAIT cleared.
		{"stat/wwait-cleared-on-interrupt", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			mustSend(t, ns, id, msg{1, "abcd"})
			ch := blockedSend(t, ns, owner, id, 1, 1, "x")
			assert.Equal(t, 1, ns.Interrupt(owner.PID))
			assert.Equal(t, syscall.EINTR, outcome(t, ch))
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode)
		}},
		// §8 S4 msgsnd: sleeping for a header does not set MSG_WWAIT.
		{"stat/no-wwait-for-header", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for range 40 {
				require.NoError(t, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			}
			ch := blockedSend(t, ns, owner, b, 1, 1, "x")
			assert.Equal(t, uint16(0o100600), stat(t, ns, b).Perm.Mode)
			// §12 S4 msgfree: freeing a message wakes the header waiters of every queue.
			recvType(t, ns, a, 0)
			assert.NoError(t, outcome(t, ch))
		}},

		// §9 S4c ipcaccess: the class (supplementary groups count), UID 0 overrides, Caps do not.
		{"perm/class-uid0", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o620)
			assert.NoError(t, ns.As(suppl).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.NoError(t, ns.As(rootNoCaps).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(Cred{UID: 9, Caps: AllCaps}).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §12 S4 msgctl: IPC_SET wakes nobody.
		{"wake/set-wakes-nobody", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			mustSend(t, ns, id, msg{1, "abcd"}, msg{2, ""})
			ch := blockedSend(t, ns, owner, id, 1, 1, "x")
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			stillWaits(t, ch, 50*time.Millisecond)
			recvType(t, ns, id, 2)
			assert.NoError(t, outcome(t, ch))
		}},

		// §10 S4c Mtune.
		{"limits/defaults", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Limits{MsgMax: 2048, MsgMnb: 4096, MsgMni: 50, MsgTql: 40, MsgSsz: 8, MsgSeg: 1024}, ns.Limits())
		}},
	})
}

// AIX's rules (dialects.md, AIXk = the AIX 4.3 kmsgctl kernel service, AIXm
// = the msgctl, msgsnd, msgrcv, msgget subroutine pages; most are [I]).
func TestDialectAIX(t *testing.T) {
	runRules(t, AIX, []rule{
		// §1 [I] SVR4's subset test; AIXm msgget: "the low-order 9 bits of msgflg".
		{"msgget/subset", getMode(0o644, stranger, 0o640, nil)},
		{"msgget/root-not-exempt", getMode(0o644, rootNoCaps, 0o666, syscall.EACCES)},
		// §2 [I] SVR4's formula with AIX's MsgMni.
		{"ids/svr4-formula", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			require.Equal(t, 0, a)
			rmid(t, ns, a)
			assert.Equal(t, 1048576, create(t, ns, 1, 0o600))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(0, 1, nil, IPC_NOWAIT), "stale")
		}},
		// §3 AIXm msgsnd: the stored mtype is its low 32 bits, sign-extended; mtype < 1 on that value.
		{"msgsnd/mtype-32", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, ns.Msgsnd(id, 1<<32+7, []byte("x"), IPC_NOWAIT))
			assert.Equal(t, []int64{7}, types(t, ns, id))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1<<32, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1<<31, nil, IPC_NOWAIT), "negative as 32 bits")
		}},
		// §3 AIXm msgsnd: msgsz > MsgMax is EINVAL, [I] after the permission check.
		{"msgsnd/msgmax-after-perm", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(AIX), WithLimits(Limits{MsgMax: 10}))
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, make([]byte, 11), IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1, make([]byte, 11), IPC_NOWAIT))
		}},
		// §3 AIXm msgsnd: qnum = MsgMnm waits.
		{"msgsnd/msgmnm", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(AIX), WithLimits(Limits{MsgMnm: 2}))
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, ""}, msg{1, ""})
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §4 AIXm msgrcv: the lowest type ≤ |t|; E2BIG unless MSG_NOERROR.
		{"msgrcv/neg-lowest", negTypeSelects(1)},
		{"msgrcv/e2big", tooLong(syscall.E2BIG)},
		// §5 AIXk: "three valid commands".
		{"msgctl/three-commands", onlyCommands},
		// §6 AIXk, AIXm: owner or UID 0 (EPERM); a raise needs UID 0; [I] no clamp, 0 allowed, no uid range.
		{"set/who-raise", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EPERM, setq(t, ns, stranger, id, func(*MsqidDS) {}))
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes++ }))
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 1 << 30 }))
			assert.Equal(t, uint64(1<<30), stat(t, ns, id).Qbytes)
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0; ds.Perm.UID = 1<<32 - 1 }))
		}},
		// §7 AIXk: a non-owner's IPC_RMID is EPERM; [I] UID 0 may.
		{"rmid/who", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(stranger).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EPERM, err)
			_, err = ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			assert.NoError(t, err)
		}},
		// §8 [I] the permission bits only; the slot seq.
		{"stat/plain", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o640)
			assert.Equal(t, uint16(0o640), stat(t, ns, id).Perm.Mode)
		}},
		// §9 [I] SVR4's classes, UID 0 overrides.
		{"perm/class-uid0", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(member).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.NoError(t, ns.As(rootNoCaps).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §10 AIXm msgctl (7.3), msgsnd (7.1).
		{"limits/defaults", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Limits{MsgMax: 4194304, MsgMnb: 4194304, MsgMni: 1048576, MsgMnm: 524288}, ns.Limits())
		}},
	})
}
