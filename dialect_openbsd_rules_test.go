package msgq

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OpenBSD's rules (dialects.md, OB = openbsd/src sys/kern/sysv_msg.c, OBp =
// sys_ipc.c ipcperm, vfs_subr.c vaccess, sys/msg.h).
func TestDialectOpenBSD(t *testing.T) {
	runRules(t, OpenBSD, []rule{
		// §1 OB sys_msgget: EEXIST before the mode check.
		{"msgget/excl-before-mode", getMode(0o600, stranger, IPC_CREAT|IPC_EXCL|0o600, syscall.EEXIST)},
		// §1 OB sys_msgget, OBp ipcperm: the group check of (uid, gid) grants 0060's w... a stranger asking group bits is checked against 0700 only.
		{"msgget/only-0700-requested", getMode(0o604, stranger, 0o060, nil)},
		// §1 OB sys_msgget: 0600 asks the owner triplet, which a stranger is not in.
		{"msgget/stranger-0600-denied", getMode(0o604, stranger, 0o600, syscall.EACCES)},
		// §1 OBp vaccess: UID 0 passes r and w without a bit.
		{"msgget/uid0-passes-rw", getMode(0o000, rootNoCaps, 0o600, nil)},
		// §1 OBp vaccess: x needs an x bit, even for UID 0.
		{"msgget/uid0-x-needs-x-bit", getMode(0o600, rootNoCaps, 0o100, syscall.EACCES)},
		// §1 OBp vaccess: with some x bit UID 0 passes x.
		{"msgget/uid0-x-with-x-bit", getMode(0o601, rootNoCaps, 0o100, nil)},
		// §0 privilege: Caps mean nothing under OpenBSD.
		{"msgget/caps-ignored", getMode(0o000, Cred{UID: 5, GID: 5, Caps: AllCaps}, 0o400, syscall.EACCES)},
		// §1 OB sys_msgget: ENOSPC at MsgMni (40); ENOENT without IPC_CREAT even then.
		{"msgget/enospc-at-40", func(t *testing.T, ns *Namespace) {
			for i := range 40 {
				create(t, ns, Key(100+i), 0o600)
			}
			_, err := ns.Msgget(IPC_PRIVATE, 0o600)
			assert.Equal(t, syscall.ENOSPC, err)
			_, err = ns.Msgget(7, 0o600)
			assert.Equal(t, syscall.ENOENT, err)
		}},
		// §1: bits besides IPC_CREAT, IPC_EXCL and 0777 are ignored; the mode is msgflg & 0777.
		{"msgget/other-bits-ignored", func(t *testing.T, ns *Namespace) {
			id, err := ns.Msgget(1, IPC_CREAT|IPC_NOWAIT|0o7640)
			require.NoError(t, err)
			assert.Equal(t, uint16(0o640), stat(t, ns, id).Perm.Mode)
		}},

		// §2 OB que_create: ix ≥ 1, seq = ++sequence & 0x7fff from 1.
		{"ids/first-131073-196610", firstIDs(131073, 196610)},
		// §2 OB que_create: the lowest free ix is reused at once with the next seq.
		{"ids/ix-reused-at-once", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			create(t, ns, 2, 0o600)
			rmid(t, ns, a)
			assert.Equal(t, 262145, create(t, ns, 3, 0o600))
		}},
		// §2 OB que_lookup: only id & 0xffff counts, so a stale id addresses the new queue.
		{"ids/stale-not-detected", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			c := create(t, ns, 3, 0o600)
			require.NoError(t, ns.Msgsnd(131073, 1, []byte("x"), IPC_NOWAIT))
			require.NoError(t, ns.Msgsnd(0x7fff0001, 1, []byte("y"), IPC_NOWAIT))
			require.NoError(t, ns.Msgsnd(-65535, 1, []byte("z"), IPC_NOWAIT)) // 0xffff0001
			assert.Equal(t, uint64(3), stat(t, ns, c).Qnum)
			_, err := ns.Msgctl(-65535, IPC_STAT, new(MsqidDS))
			assert.NoError(t, err, "msgctl resolves a negative id by its low bits too")
			_, err = ns.Lookup(131073)
			assert.Equal(t, syscall.EINVAL, err, "the Go layer refuses stale ids")
			assert.Contains(t, ns.String(), "------ Message Queues (openbsd) --------")
		}},
		// §2 OB que_lookup: EINVAL only when no live queue has the index.
		{"ids/einval-empty-index", func(t *testing.T, ns *Namespace) {
			create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(2, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(0, 1, nil, IPC_NOWAIT), "ix 0 is never used")
		}},
		// §2, §8 OB que_create: IPC_STAT reports the counter's seq.
		{"stat/seq-from-counter", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			assert.Equal(t, uint16(2), stat(t, ns, a).Perm.Seq)
			assert.Equal(t, uint16(0o600), stat(t, ns, a).Perm.Mode, "perms only")
		}},
		// §0 the Go layer keeps its handle rules: a removed queue's handle is EIDRM.
		{"ids/handle-eidrm", func(t *testing.T, ns *Namespace) {
			q, err := ns.Get(1, IPC_CREAT|0o600)
			require.NoError(t, err)
			rmid(t, ns, q.ID())
			create(t, ns, 2, 0o600) // same ix
			assert.Equal(t, syscall.EIDRM, q.Send(context.Background(), 1, nil, IPC_NOWAIT))
		}},

		// §3 OB sys_msgsnd: the lookup comes first.
		{"msgsnd/lookup-first", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(5, 0, make([]byte, 1), IPC_NOWAIT))
		}},
		// §3 OB sys_msgsnd: msgsz > qbytes is EINVAL before the permission check.
		{"msgsnd/qbytes-before-perm", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, ns.As(stranger).Msgsnd(id, 1, make([]byte, 2049), IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, make([]byte, 2048), IPC_NOWAIT))
		}},
		// §3 OB msg_copyin: mtype < 1 only once the message fits; with room EINVAL, nothing queued.
		{"msgsnd/mtype-last", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 0, nil, IPC_NOWAIT), "EACCES before mtype")
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 0, []byte("x"), IPC_NOWAIT))
			assert.Empty(t, types(t, ns, id))
			require.NoError(t, ns.Msgsnd(id, 1, make([]byte, 2048), IPC_NOWAIT))
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 0, []byte("x"), IPC_NOWAIT), "full: EAGAIN, not EINVAL")
		}},
		// §3 OB MSGQ_SPACE: qbytes − cbytes is unsigned, so qbytes below cbytes lets a message in.
		{"msgsnd/unsigned-space", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "0123456789"})
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 5 }))
			assert.NoError(t, ns.Msgsnd(id, 1, []byte("abc"), IPC_NOWAIT))
		}},
		// §3 OB sys_msgsnd: no per-queue message count; empty messages beyond qbytes fit.
		{"msgsnd/no-queue-count", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 2 }))
			for range 5 {
				require.NoError(t, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
			}
		}},
		// §3, §10 OB num_msgs >= msgtql: 40 messages in the whole namespace.
		{"msgsnd/msgtql-40", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for i := range 40 {
				require.NoError(t, ns.Msgsnd([]int{a, b}[i%2], 1, nil, IPC_NOWAIT))
			}
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(b, 1, nil, IPC_NOWAIT))
			recvType(t, ns, a, 0)
			assert.NoError(t, ns.Msgsnd(b, 1, nil, IPC_NOWAIT))
		}},
		// §3 OB sys_msgsnd: the wait, then a sleeping sender with a bad mtype gets EINVAL.
		{"msgsnd/mtype-after-wait", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, string(make([]byte, 2048))})
			ch := blockedSend(t, ns, owner, id, 1, 0, "x")
			recvType(t, ns, id, 0)
			assert.Equal(t, syscall.EINVAL, outcome(t, ch))
			assert.Empty(t, types(t, ns, id))
		}},

		// §4 OB msg_lookup: msgtyp < 0 takes the first with type ≥ |t|.
		{"msgrcv/neg-first-ge", negTypeSelects(5)},
		// §4 OB msg_copyout: always truncated and consumed; MSG_NOERROR ignored.
		{"msgrcv/always-truncates", tooLong(nil)},
		// §4 OB msg_lookup(…, int): msgtyp is cut to 32 bits.
		{"msgrcv/msgtyp-cut-32", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{9, "a"}, msg{5, "b"})
			assert.Equal(t, int64(5), recvType(t, ns, id, 1<<32+5))
			assert.Equal(t, int64(9), recvType(t, ns, id, 1<<32), "2^32 cuts to 0: any")
		}},
		// §4 OB sys_msgrcv: MSG_EXCEPT is unknown and ignored.
		{"msgrcv/except-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{2, "a"}, msg{1, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 1, IPC_NOWAIT|MSG_EXCEPT)
			require.NoError(t, err)
			assert.Equal(t, int64(1), mtype)
		}},
		// §4 OB sys_msgrcv: MSG_COPY is unknown: an ordinary, consuming receive; without IPC_NOWAIT no EINVAL.
		{"msgrcv/copy-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "a"}, msg{3, "b"}, msg{3, "c"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 3, IPC_NOWAIT|MSG_COPY)
			require.NoError(t, err)
			assert.Equal(t, int64(3), mtype)
			_, _, err = ns.Msgrcv(id, make([]byte, 8), 3, MSG_COPY)
			require.NoError(t, err)
			assert.Equal(t, []int64{1}, types(t, ns, id))
		}},
		// §4: no match with IPC_NOWAIT is ENOMSG (the man page's EAGAIN is wrong).
		{"msgrcv/enomsg", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			_, _, err := ns.Msgrcv(id, nil, 0, IPC_NOWAIT)
			assert.Equal(t, syscall.ENOMSG, err)
			_, _, err = ns.As(stranger).Msgrcv(id, nil, 0, IPC_NOWAIT)
			assert.Equal(t, syscall.EACCES, err)
		}},

		// §5 OB sys_msgctl: only IPC_STAT, IPC_SET and IPC_RMID.
		// §6 OB sys_msgctl: ipcperm, then copyin.
		{"set/nil-buffer-efault", setNilBuf(true)},
		{"msgctl/three-commands", onlyCommands},

		// §6 OBp ipcperm IPC_M: a non-owner's IPC_SET is EPERM; UID 0 may.
		{"set/non-owner-eperm", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			assert.Equal(t, syscall.EPERM, setq(t, ns, stranger, id, func(*MsqidDS) {}))
			assert.Equal(t, syscall.EPERM, setq(t, ns, Cred{UID: 7, Caps: AllCaps}, id, func(*MsqidDS) {}), "Caps do not count")
			assert.NoError(t, setq(t, ns, rootNoCaps, id, func(*MsqidDS) {}))
		}},
		// §6 OB sys_msgctl: any raise needs UID 0, even within MsgMnb.
		{"set/raise-needs-uid0", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 101 }))
			assert.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 101 }))
		}},
		// §6 OB sys_msgctl: above MsgMnb is silently clamped.
		{"set/clamped-to-msgmnb", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 1 << 40 }))
			assert.Equal(t, uint64(2048), stat(t, ns, id).Qbytes)
		}},
		// §6 OB sys_msgctl: qbytes 0 is EINVAL ("non-standard errno"), and nothing changes.
		{"set/zero-einval", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0; ds.Perm.Mode = 0o644 }))
			assert.Equal(t, uint16(0o600), stat(t, ns, id).Perm.Mode)
		}},
		// §6 OB sys_msgctl: no uid/gid range; the low 9 mode bits.
		{"set/any-uid", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.UID = 1<<32 - 1; ds.Perm.Mode = 0o7777 }))
			ds := stat(t, ns, id)
			assert.Equal(t, uint32(1<<32-1), ds.Perm.UID)
			assert.Equal(t, uint16(0o777), ds.Perm.Mode)
		}},
		// §6, §12 OB sys_msgctl: IPC_SET wakes nobody; the next receive does.
		{"set/wakes-nobody", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "0123456789"}, msg{2, ""})
			ch := blockedSend(t, ns, owner, id, 1, 3, "abc")
			require.NoError(t, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			stillWaits(t, ch, 50*time.Millisecond)
			recvType(t, ns, id, 2)
			assert.NoError(t, outcome(t, ch))
		}},

		// §7 OB sys_msgctl IPC_RMID: EPERM for a non-owner; waiters get EIDRM; the key is free.
		{"rmid/who-and-effects", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(stranger).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EPERM, err)
			ch := blockedRecv(t, ns, owner, id, 1, 0, 8, 0)
			_, err = ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			require.NoError(t, err)
			assert.Equal(t, syscall.EIDRM, outcome(t, ch))
			_, err = ns.Msgget(1, 0)
			assert.Equal(t, syscall.ENOENT, err)
		}},

		// §9 OBp ipcperm: access if either (uid, gid) or (cuid, cgid) grants it.
		{"perm/either-check", func(t *testing.T, ns *Namespace) {
			a := Cred{UID: 1000, GID: 100}
			id, err := ns.As(a).Msgget(1, IPC_CREAT|0o600)
			require.NoError(t, err)
			require.NoError(t, setq(t, ns, a, id, func(ds *MsqidDS) { ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode = 2000, 100, 0o060 }))
			_, _, err = ns.As(a).Msgrcv(id, nil, 0, IPC_NOWAIT)
			assert.Equal(t, syscall.ENOMSG, err, "granted by the group check of (uid, gid)")
			assert.NoError(t, ns.As(a).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §9 OBp vaccess: UID 0 passes r and w; Caps do not.
		{"perm/uid0", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o000)
			assert.NoError(t, ns.As(rootNoCaps).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(Cred{UID: 9, Caps: AllCaps}).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},

		// §12 OB sys_msgsnd: a send wakes the readers.
		{"wake/send-wakes-reader", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			ch := blockedRecv(t, ns, owner, id, 1, -3, 8, 0)
			mustSend(t, ns, id, msg{7, "x"})
			assert.NoError(t, outcome(t, ch))
		}},
		// §12 OB sys_msgrcv maxmsgs, que_wakewriters: a sender held by MsgTql is woken by a receive on another queue.
		{"wake/msgtql-across-queues", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for range 40 {
				require.NoError(t, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			}
			ch := blockedSend(t, ns, owner, b, 1, 1, "x")
			recvType(t, ns, a, 0)
			assert.NoError(t, outcome(t, ch))
			assert.Equal(t, []int64{1}, types(t, ns, b))
		}},
		// §12 OB: removing a queue frees its messages for the MsgTql count.
		{"wake/rmid-frees-msgtql", func(t *testing.T, ns *Namespace) {
			a, b := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600)
			for range 40 {
				require.NoError(t, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			}
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(b, 1, nil, IPC_NOWAIT))
			rmid(t, ns, a)
			assert.NoError(t, ns.Msgsnd(b, 1, nil, IPC_NOWAIT))
		}},

		// §10 OBp msg.h.
		{"limits/defaults", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Limits{MsgMax: 16384, MsgMnb: 2048, MsgMni: 40, MsgTql: 40}, ns.Limits())
			assert.Equal(t, ns.Limits(), DialectLimits(OpenBSD))
		}},
		// §11: msgids and msgsnap are illumos's.
		{"extras/enosys", func(t *testing.T, ns *Namespace) {
			_, err := ns.Msgids(nil)
			assert.Equal(t, syscall.ENOSYS, err)
			assert.Equal(t, syscall.ENOSYS, ns.Msgsnap(0, make([]byte, 64), 0, 0))
		}},
	})
}
