package msgq

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FreeBSD's rules (dialects.md, FB = freebsd/freebsd-src sys/kern/sysv_msg.c,
// FBp = sys/kern/sysv_ipc.c ipcperm).
func TestDialectFreeBSD(t *testing.T) {
	runRules(t, FreeBSD, []rule{
		// §1 FB sys_msgget: EEXIST before the mode check.
		{"msgget/excl-before-mode", getMode(0o600, stranger, IPC_CREAT|IPC_EXCL|0o600, syscall.EEXIST)},
		// §1 FB sys_msgget: only msgflg & 0700 is requested.
		{"msgget/only-0700-requested", getMode(0o600, stranger, 0o066, nil)},
		// §1 FBp ipcperm: r and w against the caller's class.
		{"msgget/class-checked", getMode(0o604, stranger, 0o200, syscall.EACCES)},
		// §1 FBp ipcperm: UID 0 passes r and w.
		{"msgget/uid0-passes-rw", getMode(0o000, rootNoCaps, 0o600, nil)},
		// §1 FBp ipcperm: the 0100 bit is never granted, even to UID 0.
		{"msgget/x-never-granted", getMode(0o777, rootNoCaps, 0o100, syscall.EACCES)},
		// §1 FB sys_msgget: ENOSPC when no slot is free.
		{"msgget/enospc-at-40", func(t *testing.T, ns *Namespace) {
			for i := range 40 {
				create(t, ns, Key(100+i), 0o600)
			}
			_, err := ns.Msgget(IPC_PRIVATE, 0o600)
			assert.Equal(t, syscall.ENOSPC, err)
		}},

		// §2 FB sys_msgget: seq<<16 | ix, the slot's seq moving on at allocation.
		{"ids/first-65536-65537", firstIDs(65536, 65537)},
		// §2 FB: the lowest slot is reused at once, with the slot's next seq.
		{"ids/reuse-next-seq", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			assert.Equal(t, 131072, create(t, ns, 2, 0o600))
			assert.Equal(t, uint16(2), stat(t, ns, 131072).Perm.Seq, "IPC_STAT shows the slot seq")
		}},
		// §2 FB kern_msgctl: a stale seq, a free slot or an index ≥ MsgMni is EINVAL.
		{"ids/stale-einval", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			create(t, ns, 2, 0o600)
			for _, id := range []int{65536, 65537, 65536 + 40, -65536} {
				_, err := ns.Msgctl(id, IPC_STAT, new(MsqidDS))
				assert.Equal(t, syscall.EINVAL, err, "id %d", id)
			}
		}},

		// §3 FB kern_msgsnd: the permission check before msgsz > qbytes.
		{"msgsnd/perm-before-qbytes", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, make([]byte, 2049), IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1, make([]byte, 2049), IPC_NOWAIT))
		}},
		// §3 FB kern_msgsnd: mtype < 1 only once the message fits, with the pool given back.
		{"msgsnd/mtype-last", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 0, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 0, []byte("x"), IPC_NOWAIT))
			assert.Equal(t, uint64(0), ns.core.pool.used.Load())
			mustSend(t, ns, id, msg{1, string(make([]byte, 2048))})
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 0, []byte("x"), IPC_NOWAIT))
		}},
		// §3 FB kern_msgsnd: no MsgMax test; a raised MsgMnb takes a long message.
		{"msgsnd/no-msgmax", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(FreeBSD), WithLimits(Limits{MsgMnb: 100000, MsgSeg: 30000}))
			id := create(t, ns, 1, 0o600)
			assert.NoError(t, ns.Msgsnd(id, 1, make([]byte, 20000), IPC_NOWAIT))
		}},
		// §3 FB kern_msgsnd: ⌈msgsz/MsgSsz⌉ segments of the namespace pool.
		{"msgsnd/segment-pool", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(FreeBSD), WithLimits(Limits{MsgSeg: 4}))
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			mustSend(t, ns, a, msg{1, "123456789"}) // 2 segments
			mustSend(t, ns, b, msg{1, "12345678"}, msg{1, "1"})
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(b, 1, []byte("x"), IPC_NOWAIT))
			assert.NoError(t, ns.Msgsnd(b, 1, nil, IPC_NOWAIT), "an empty message takes no segment")
		}},
		// §3 FB kern_msgsnd: MsgTql headers in the whole namespace.
		{"msgsnd/msgtql-40", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for range 40 {
				require.NoError(t, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			}
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(b, 1, nil, IPC_NOWAIT))
		}},
		// §3, §8 FB kern_msgsnd MSG_LOCKED: the first sleeping sender locks the queue; others find it short.
		{"msgsnd/locked", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "12345678"})
			ch := blockedSend(t, ns, owner, id, 1, 2, "abcde")
			assert.Equal(t, uint16(0o1600), stat(t, ns, id).Perm.Mode, "MSG_LOCKED shows")
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 3, []byte("x"), IPC_NOWAIT), "fits, but the queue is locked")
			recvType(t, ns, id, 1)
			require.NoError(t, outcome(t, ch))
			assert.Equal(t, uint16(0o600), stat(t, ns, id).Perm.Mode, "the owner dropped the lock")
			assert.NoError(t, ns.Msgsnd(id, 3, []byte("x"), IPC_NOWAIT))
		}},
		// §3 FB kern_msgsnd: the owner leaving by its context drops the lock.
		{"msgsnd/lock-dropped-on-cancel", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "12345678"})
			q, err := ns.Lookup(id)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			ch := async(func(context.Context) error { return q.Send(ctx, 2, []byte("abcde"), 0) })
			waitBlocked(t, ns, id, 1)
			cancel()
			assert.ErrorIs(t, outcome(t, ch), context.Canceled)
			assert.Equal(t, uint16(0o600), stat(t, ns, id).Perm.Mode)
			assert.NoError(t, ns.Msgsnd(id, 3, []byte("x"), IPC_NOWAIT))
		}},
		// §0, §3 FB kern_msgsnd: an interrupted owner drops the lock.
		{"msgsnd/lock-dropped-on-interrupt", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "12345678"})
			ch := blockedSend(t, ns, owner, id, 1, 2, "abcde")
			assert.Equal(t, 1, ns.Interrupt(owner.PID))
			assert.Equal(t, syscall.EINTR, outcome(t, ch))
			assert.Equal(t, uint16(0o600), stat(t, ns, id).Perm.Mode)
		}},
		// §3, §12 FB kern_msgsnd msleep(…, hz): a raise lets a sleeping sender through within a second.
		{"msgsnd/poll-sees-raise", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "12345678"})
			ch := blockedSend(t, ns, owner, id, 1, 2, "abcde")
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			stillWaits(t, ch, 100*time.Millisecond) // IPC_SET wakes nobody
			assert.NoError(t, outcome(t, ch))
		}},
		// §3 FB kern_msgsnd: msgsz > qbytes is rechecked after every wait.
		{"msgsnd/poll-sees-lower", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "12345678"})
			ch := blockedSend(t, ns, owner, id, 1, 2, "abcde")
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			assert.Equal(t, syscall.EINVAL, outcome(t, ch))
		}},

		// §4 FB kern_msgrcv: msgtyp < 0 takes the first with type ≤ |t|.
		{"msgrcv/neg-first-le", negTypeSelects(2)},
		// §4 FB kern_msgrcv: E2BIG unless MSG_NOERROR.
		{"msgrcv/e2big", tooLong(syscall.E2BIG)},
		// §4 FB kern_msgrcv: MSG_EXCEPT is unknown.
		{"msgrcv/except-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{2, "a"}, msg{1, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 1, IPC_NOWAIT|MSG_EXCEPT)
			require.NoError(t, err)
			assert.Equal(t, int64(1), mtype)
		}},
		// §4 FB kern_msgrcv: MSG_COPY|IPC_NOWAIT is an ordinary receive of type n.
		{"msgrcv/copy-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "a"}, msg{2, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 2, IPC_NOWAIT|MSG_COPY)
			require.NoError(t, err)
			assert.Equal(t, int64(2), mtype)
			assert.Equal(t, []int64{1}, types(t, ns, id))
		}},

		// §5 FB kern_msgctl: only IPC_STAT, IPC_SET and IPC_RMID.
		// §6 FB sys_msgctl copies in before kern_msgctl.
		{"set/nil-buffer-efault", setNilBuf(false)},
		{"msgctl/three-commands", onlyCommands},

		// §6 FBp ipcperm: a non-owner's IPC_SET is EACCES (the man page's EPERM is wrong).
		{"set/non-owner-eacces", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			assert.Equal(t, syscall.EACCES, setq(t, ns, stranger, id, func(*MsqidDS) {}))
			assert.NoError(t, setq(t, ns, rootNoCaps, id, func(*MsqidDS) {}))
		}},
		// §6 FB kern_msgctl: any raise needs UID 0 (EPERM); above MsgMnb is clamped; 0 is EINVAL.
		{"set/raise-clamp-zero", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 101 }))
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 5000 }))
			assert.Equal(t, uint64(2048), stat(t, ns, id).Qbytes)
			assert.Equal(t, syscall.EINVAL, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0 }))
		}},

		// §7 FB kern_msgctl: a non-owner's IPC_RMID is EACCES.
		{"rmid/non-owner-eacces", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(stranger).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EACCES, err)
			_, err = ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			assert.NoError(t, err)
		}},

		// §9 FBp ipcperm: the caller's class; UID 0 passes; Caps mean nothing.
		{"perm/class-and-uid0", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o640)
			assert.NoError(t, recvAny(ns.As(member), id))
			assert.Equal(t, syscall.EACCES, ns.As(member).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.NoError(t, ns.As(rootNoCaps).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(Cred{UID: 9, Caps: AllCaps}).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},

		// §12 FB kern_msgrcv, kern_msgsnd: a sender held by the pool on another queue gets through when it next polls.
		{"wake/pool-across-queues-by-poll", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for range 40 {
				require.NoError(t, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			}
			ch := blockedSend(t, ns, owner, b, 1, 1, "x")
			recvType(t, ns, a, 0)
			assert.NoError(t, outcome(t, ch))
		}},

		// §10 FB MSGMNB…MSGSEG.
		{"limits/defaults", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Limits{MsgMnb: 2048, MsgMni: 40, MsgTql: 40, MsgSsz: 8, MsgSeg: 2048}, ns.Limits())
			assert.Equal(t, 16, NewNamespace(WithDialect(FreeBSD), WithLimits(Limits{MsgSsz: 9})).Limits().MsgSsz, "a power of two")
			assert.Equal(t, 0, NewNamespace(WithDialect(FreeBSD), WithLimits(Limits{MsgMax: 9})).Limits().MsgMax, "no msgmax")
		}},
	})
}

// recvAny is a receive of anything with IPC_NOWAIT; finding nothing is
// no error.
func recvAny(ns *Namespace, id int) error {
	_, _, err := ns.Msgrcv(id, nil, 0, IPC_NOWAIT)
	if err == syscall.ENOMSG {
		return nil
	}
	return err
}
