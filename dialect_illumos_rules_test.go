package msgq

import (
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// illumos's rules (dialects.md, IL = illumos-gate usr/src/uts/common/os/msg.c,
// ILc = os/ipc.c, os/id_space.c, sys/ipc_impl.h, os/policy.c, rctl_proc.c).
func TestDialectIllumos(t *testing.T) {
	sysres := Cred{UID: 1000, GID: 1000, Caps: CapSysResource} // the owner with PRIV_SYS_IPC_CONFIG
	runRules(t, Illumos, []rule{
		// §1 ILc ipc_keylookup: EEXIST before the mode check.
		{"msgget/excl-before-mode", getMode(0o600, stranger, IPC_CREAT|IPC_EXCL|0o600, syscall.EEXIST)},
		// §1 ILc ipc_keylookup: a bit-subset test, no class: a stranger may ask 0640 of 0644.
		{"msgget/subset-no-class", getMode(0o644, stranger, 0o640, nil)},
		// §1 ILc ipc_keylookup: no privilege: AllCaps asking 0666 of 0644 fails.
		{"msgget/subset-no-privilege", getMode(0o644, Root, 0o666, syscall.EACCES)},
		// §1 ILc ipc_keylookup: asking 0 always passes.
		{"msgget/zero-passes", getMode(0o000, stranger, 0, nil)},
		// §1 project.max-msg-ids: ENOSPC at MsgMni (128).
		{"msgget/enospc-at-128", func(t *testing.T, ns *Namespace) {
			for range 128 {
				_, err := ns.Msgget(IPC_PRIVATE, 0o600)
				require.NoError(t, err)
			}
			_, err := ns.Msgget(IPC_PRIVATE, 0o600)
			assert.Equal(t, syscall.ENOSPC, err)
		}},

		// §2 ILc ipc_commit_end: seq<<24 | index, from 0.
		{"ids/first-0-1", firstIDs(0, 1)},
		// §2 id_space.c next fit over 64 slots; the seq bumped at removal.
		{"ids/next-fit-then-seq", func(t *testing.T, ns *Namespace) {
			for i := range 64 {
				id := create(t, ns, 1, 0o600)
				require.Equal(t, i, id)
				rmid(t, ns, id)
			}
			assert.Equal(t, 1<<24, create(t, ns, 1, 0o600), "index 0, seq 1")
		}},
		// §2 ILc: the id space doubles while full.
		{"ids/doubles-when-full", func(t *testing.T, ns *Namespace) {
			for range 64 {
				create(t, ns, IPC_PRIVATE, 0o600)
			}
			assert.Equal(t, 64, create(t, ns, IPC_PRIVATE, 0o600))
		}},
		// §2 ILc ipc_lookup: the id must match exactly: stale ids are EINVAL.
		{"ids/stale-einval", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			for i := 1; i < 64; i++ {
				rmid(t, ns, create(t, ns, 1, 0o600))
			}
			b := create(t, ns, 1, 0o600)
			require.Equal(t, 1<<24, b)
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(b|64, 1, nil, IPC_NOWAIT))
		}},

		// §3 IL msgsnd: mtype < 1 before the lookup: EINVAL even on a removed handle.
		{"msgsnd/mtype-first", func(t *testing.T, ns *Namespace) {
			q, err := ns.Get(1, IPC_CREAT|0o600)
			require.NoError(t, err)
			rmid(t, ns, q.ID())
			assert.Equal(t, syscall.EINVAL, q.Send(t.Context(), 0, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EIDRM, q.Send(t.Context(), 1, nil, IPC_NOWAIT))
		}},
		// §3 IL msgsnd: msgsz > qbytes is EINVAL before the permission check.
		{"msgsnd/qbytes-before-perm", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, ns.As(stranger).Msgsnd(id, 1, make([]byte, 65537), IPC_NOWAIT))
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, make([]byte, 10), IPC_NOWAIT))
		}},
		// §3 IL msgsnd: no MsgMax; a raised qbytes takes any message up to it.
		{"msgsnd/no-msgmax", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, sysres, id, func(ds *MsqidDS) { ds.Qbytes = 200000 }))
			assert.NoError(t, ns.Msgsnd(id, 1, make([]byte, 150000), IPC_NOWAIT))
		}},
		// §3 IL msgsnd, rctl process.max-msg-messages: qnum = MsgMnm waits.
		{"msgsnd/msgmnm", func(t *testing.T, ns *Namespace) {
			ns = newNS(t, WithDialect(Illumos), WithLimits(Limits{MsgMnm: 3}))
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, ""}, msg{1, ""}, msg{1, ""})
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §3 IL msgsnd: the space test is unsigned.
		{"msgsnd/unsigned-space", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "0123456789"})
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 5 }))
			assert.NoError(t, ns.Msgsnd(id, 1, []byte("abc"), IPC_NOWAIT))
		}},
		// §6 consequences: qbytes 0 takes only empty messages; others are EINVAL.
		{"msgsnd/qbytes-zero", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0 }))
			assert.NoError(t, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(id, 1, []byte("x"), IPC_NOWAIT))
		}},

		// §4 IL msgrcv_lookup: the lowest type ≤ |t|.
		{"msgrcv/neg-lowest", negTypeSelects(1)},
		// §4 IL msg_copyout: E2BIG unless MSG_NOERROR.
		{"msgrcv/e2big", tooLong(syscall.E2BIG)},
		// §4 IL msgrcv: MSG_EXCEPT is unknown.
		{"msgrcv/except-ignored", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{2, "a"}, msg{1, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 1, IPC_NOWAIT|MSG_EXCEPT)
			require.NoError(t, err)
			assert.Equal(t, int64(1), mtype)
		}},

		// §5 IL msgctl: only IPC_STAT, IPC_SET and IPC_RMID (13 is not MSG_STAT_ANY either).
		// §6 IL msgctl: copyin before ipc_lookup.
		{"set/nil-buffer-efault", setNilBuf(false)},
		{"msgctl/three-commands", onlyCommands},

		// §6 IL msgctl: any raise needs CapSysResource (PRIV_SYS_IPC_CONFIG); no clamp.
		{"set/raise-needs-sysresource", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 65537 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 65537 }), "UID 0 alone is nothing")
			require.NoError(t, setq(t, ns, sysres, id, func(ds *MsqidDS) { ds.Qbytes = 1 << 20 }))
			assert.Equal(t, uint64(1<<20), stat(t, ns, id).Qbytes)
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }), "lowering is free")
		}},
		// §6 IL msgctl: the raise test comes before the owner test, and the owner test before the ids.
		{"set/order-raise-owner-ids", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EPERM, setq(t, ns, Cred{UID: 5, Caps: CapSysResource}, id, func(*MsqidDS) {}), "a non-owner")
			assert.Equal(t, syscall.EPERM, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes++; ds.Perm.UID = 1 << 31 }), "raise before ids")
			assert.Equal(t, syscall.EINVAL, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.UID = 1 << 31 }))
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.GID = 1<<31 - 1 }))
			assert.NoError(t, setq(t, ns, Cred{UID: 5, Caps: CapSysAdmin}, id, func(*MsqidDS) {}), "PRIV_IPC_OWNER")
		}},
		// §6 IL msgctl: IPC_SET wakes nobody; a removed message wakes the senders.
		{"set/wakes-nobody", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 10 }))
			mustSend(t, ns, id, msg{1, "0123456789"}, msg{2, ""})
			ch := blockedSend(t, ns, owner, id, 1, 3, "abc")
			require.NoError(t, setq(t, ns, sysres, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			stillWaits(t, ch, 50*time.Millisecond)
			recvType(t, ns, id, 2)
			assert.NoError(t, outcome(t, ch))
		}},

		// §7 ILc ipc_rmid: owner, creator or CapSysAdmin; else EPERM.
		{"rmid/who", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EPERM, err)
			_, err = ns.As(Cred{UID: 5, Caps: CapSysAdmin}).Msgctl(id, IPC_RMID, nil)
			assert.NoError(t, err)
		}},

		// §8 ILc ipcperm_stat, IL msgctl: IPC_ALLOC always, MSG_RWAIT/MSG_WWAIT while waiters sleep, seq 0.
		{"stat/mode-bits-seq-0", func(t *testing.T, ns *Namespace) {
			for range 64 { // move index 0's seq on
				rmid(t, ns, create(t, ns, 1, 0o600))
			}
			id := create(t, ns, 1, 0o600)
			ds := stat(t, ns, id)
			assert.Equal(t, uint16(0o100600), ds.Perm.Mode)
			assert.Equal(t, uint16(0), ds.Perm.Seq)
			ch := blockedRecv(t, ns, owner, id, 1, 0, 8, 0)
			assert.Equal(t, uint16(0o101600), stat(t, ns, id).Perm.Mode, "MSG_RWAIT")
			mustSend(t, ns, id, msg{1, "x"})
			require.NoError(t, outcome(t, ch))
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 1; ds.Perm.Mode = 0o100600 }))
			mustSend(t, ns, id, msg{1, "x"})
			ch = blockedSend(t, ns, owner, id, 1, 1, "y")
			assert.Equal(t, uint16(0o102600), stat(t, ns, id).Perm.Mode, "MSG_WWAIT")
			recvType(t, ns, id, 0)
			require.NoError(t, outcome(t, ch))
			assert.Equal(t, uint16(0o100600), stat(t, ns, id).Perm.Mode, "the bits clear when the waiters leave")
		}},

		// §9 ILc ipcperm_access, policy.c: the class, CapIPCOwner overrides, UID 0 alone does not.
		{"perm/class-and-caps", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EACCES, ns.As(rootNoCaps).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.NoError(t, ns.As(Cred{UID: 5, Caps: CapIPCOwner}).Msgsnd(id, 1, nil, IPC_NOWAIT))
			assert.NoError(t, recvAny(ns.As(owner), id))
		}},

		// §10 rctl_proc.c, project.c.
		{"limits/defaults", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Limits{MsgMnb: 65536, MsgMni: 128, MsgMnm: 8192}, ns.Limits())
		}},

		// §11 ILc ipc_ids: the count, and the ids newest first only when they all fit.
		{"msgids", func(t *testing.T, ns *Namespace) {
			n, err := ns.Msgids(nil)
			require.NoError(t, err)
			assert.Equal(t, 0, n)
			a, b, c := create(t, ns, 1, 0o600), create(t, ns, 2, 0o600), create(t, ns, 3, 0o600)
			rmid(t, ns, b)
			d := create(t, ns, 4, 0o600)
			short := []int{-1, -1}
			n, err = ns.Msgids(short)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.Equal(t, []int{-1, -1}, short, "left untouched")
			buf := []int{-1, -1, -1, -1}
			n, err = ns.Msgids(buf)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.Equal(t, []int{d, c, a, -1}, buf)
		}},
		// §11 IL msgsnap: the layout of dialects.md's example.
		{"msgsnap/layout", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "abc"}, msg{2, "hello world!"})
			buf := make([]byte, 100)
			for i := range buf {
				buf[i] = 0xee
			}
			require.NoError(t, ns.Msgsnap(id, buf, 0, 0))
			u := binary.NativeEndian.Uint64
			assert.Equal(t, []uint64{72, 2, 3, 1, 12, 2}, []uint64{u(buf[0:]), u(buf[8:]), u(buf[16:]), u(buf[24:]), u(buf[40:]), u(buf[48:])})
			assert.Equal(t, "abc", string(buf[32:35]))
			assert.Equal(t, []byte{0xee, 0xee, 0xee, 0xee, 0xee}, buf[35:40], "padding is not written")
			assert.Equal(t, "hello world!", string(buf[56:68]))
			assert.Equal(t, byte(0xee), buf[72], "nothing past size")
			assert.Equal(t, 2, len(types(t, ns, id)), "nothing dequeued")
		}},
		// §11 IL msgsnap: too small a buffer gets the head {size, 0}; under 16 bytes EINVAL first.
		{"msgsnap/short-and-checks", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "abc"}, msg{2, "hello world!"}, msg{3, "z"})
			buf := make([]byte, 40)
			require.NoError(t, ns.Msgsnap(id, buf, -2, 0))
			assert.Equal(t, uint64(72), binary.NativeEndian.Uint64(buf))
			assert.Equal(t, uint64(0), binary.NativeEndian.Uint64(buf[8:]))
			require.NoError(t, ns.Msgsnap(id, buf, 3, 0))
			assert.Equal(t, []uint64{40, 1, 1, 3}, []uint64{binary.NativeEndian.Uint64(buf), binary.NativeEndian.Uint64(buf[8:]), binary.NativeEndian.Uint64(buf[16:]), binary.NativeEndian.Uint64(buf[24:])})
			assert.Equal(t, syscall.EINVAL, ns.Msgsnap(12345, make([]byte, 15), 0, 0))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnap(12345, buf, 0, 0))
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnap(id, buf, 0, 0))
		}},
	})
}
