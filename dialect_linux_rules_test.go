package msgq

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Linux's rules as the control (dialects.md's reference column; LX =
// torvalds/linux ipc/msg.c, ipc/util.c, include/uapi/linux/msg.h): the same
// rules the other tables change, under WithDialect(Linux).
func TestDialectLinux(t *testing.T) {
	runRules(t, Linux, []rule{
		// §0: WithDialect(Linux) and no option are the same namespace.
		{"default-is-linux", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, Linux, NewNamespace().Dialect())
			assert.Equal(t, DefaultLimits, ns.Limits())
			assert.Equal(t, DefaultLimits, DialectLimits(Linux))
			assert.Equal(t, Linux, NewNamespace(WithDialect(Dialect(77))).Dialect(), "an unknown dialect is Linux")
		}},
		// §1 LX ipcperms: (f>>6|f>>3|f)&7 against the class: 0060 folds to rw, which other lacks.
		{"msgget/fold", getMode(0o604, stranger, 0o060, syscall.EACCES)},
		// §1 LX ipcperms: CapIPCOwner overrides.
		{"msgget/cap-ipc-owner", getMode(0o000, Cred{UID: 5, Caps: CapIPCOwner}, 0o666, nil)},
		// §1 LX: UID 0 alone is nothing.
		{"msgget/uid0-nothing", getMode(0o000, rootNoCaps, 0o400, syscall.EACCES)},
		// §2 LX ipc_idr_alloc.
		{"ids/first-0-1", firstIDs(0, 1)},
		// §2 LX: stale ids are EINVAL; the index is not reused at once.
		{"ids/stale-einval", func(t *testing.T, ns *Namespace) {
			a := create(t, ns, 1, 0o600)
			rmid(t, ns, a)
			assert.Equal(t, 1, create(t, ns, 1, 0o600))
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(a, 1, nil, IPC_NOWAIT))
		}},
		// §3 LX do_msgsnd: MsgMax, then mtype, before the lookup.
		{"msgsnd/args-before-lookup", func(t *testing.T, ns *Namespace) {
			assert.Equal(t, syscall.EINVAL, ns.Msgsnd(9, 1, make([]byte, 8193), IPC_NOWAIT))
			id := create(t, ns, 1, 0o600)
			assert.Equal(t, syscall.EINVAL, ns.As(stranger).Msgsnd(id, 0, nil, IPC_NOWAIT), "mtype before permission")
			assert.Equal(t, syscall.EACCES, ns.As(stranger).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §3 LX msg_fits_inqueue: the message count is bounded by qbytes too.
		{"msgsnd/queue-count", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 2 }))
			mustSend(t, ns, id, msg{1, ""}, msg{1, ""})
			assert.Equal(t, syscall.EAGAIN, ns.Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §4 LX find_msg: the lowest type ≤ |t|.
		{"msgrcv/neg-lowest", negTypeSelects(1)},
		// §4 LX do_msgrcv: E2BIG, the message stays, unless MSG_NOERROR.
		{"msgrcv/e2big", tooLong(syscall.E2BIG)},
		// §4 LX: MSG_EXCEPT and MSG_COPY exist.
		{"msgrcv/except-and-copy", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			mustSend(t, ns, id, msg{1, "a"}, msg{2, "b"})
			_, mtype, err := ns.Msgrcv(id, make([]byte, 8), 1, IPC_NOWAIT|MSG_EXCEPT)
			require.NoError(t, err)
			assert.Equal(t, int64(2), mtype)
			_, _, err = ns.Msgrcv(id, make([]byte, 8), 0, MSG_COPY)
			assert.Equal(t, syscall.EINVAL, err, "MSG_COPY needs IPC_NOWAIT")
		}},
		// §5 LX ksys_msgctl: IPC_INFO, MSG_INFO, MSG_STAT and MSG_STAT_ANY exist.
		// §6 LX msgctl_down: copy_msqid_from_user first.
		{"set/nil-buffer-efault", setNilBuf(false)},
		{"msgctl/all-commands", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			var info MsgInfo
			_, err := ns.MsgctlInfo(IPC_INFO, &info)
			assert.NoError(t, err)
			r, err := ns.Msgctl(0, MSG_STAT_ANY, new(MsqidDS))
			assert.NoError(t, err)
			assert.Equal(t, id, r)
		}},
		// §6 LX msgctl_down: a raise up to MsgMnb is free; above needs CapSysResource; 0 allowed.
		{"set/raise", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 16384 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, rootNoCaps, id, func(ds *MsqidDS) { ds.Qbytes = 16385 }))
			assert.NoError(t, setq(t, ns, Cred{UID: 1000, Caps: CapSysResource}, id, func(ds *MsqidDS) { ds.Qbytes = 16385 }))
			assert.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 0 }))
			assert.Equal(t, syscall.EPERM, setq(t, ns, stranger, id, func(*MsqidDS) {}))
			assert.Equal(t, syscall.EINVAL, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Perm.UID = 1<<32 - 1 }))
		}},
		// §6, §12 LX msgctl_down ss_wakeup: IPC_SET lets a sender that now fits through.
		{"set/wakes", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o600)
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 4 }))
			mustSend(t, ns, id, msg{1, "abcd"})
			ch := blockedSend(t, ns, owner, id, 1, 1, "x")
			require.NoError(t, setq(t, ns, owner, id, func(ds *MsqidDS) { ds.Qbytes = 100 }))
			assert.NoError(t, outcome(t, ch))
		}},
		// §7 LX: a non-owner without CapSysAdmin is EPERM; UID 0 alone too.
		{"rmid/who", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o666)
			_, err := ns.As(rootNoCaps).Msgctl(id, IPC_RMID, nil)
			assert.Equal(t, syscall.EPERM, err)
		}},
		// §8 LX: the permission bits only.
		{"stat/plain", func(t *testing.T, ns *Namespace) {
			id := create(t, ns, 1, 0o640)
			assert.Equal(t, uint16(0o640), stat(t, ns, id).Perm.Mode)
		}},
		// §9 LX ipcperms: A is in the owner class as cuid, whatever the group says.
		{"perm/owner-class-wins", func(t *testing.T, ns *Namespace) {
			a := Cred{UID: 1000, GID: 100}
			id, err := ns.As(a).Msgget(1, IPC_CREAT|0o600)
			require.NoError(t, err)
			require.NoError(t, setq(t, ns, a, id, func(ds *MsqidDS) { ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode = 2000, 100, 0o060 }))
			assert.Equal(t, syscall.EACCES, ns.As(a).Msgsnd(id, 1, nil, IPC_NOWAIT))
		}},
		// §11: msgids and msgsnap are illumos's.
		{"extras/enosys", func(t *testing.T, ns *Namespace) {
			_, err := ns.Msgids(nil)
			assert.Equal(t, syscall.ENOSYS, err)
			assert.Equal(t, syscall.ENOSYS, ns.Msgsnap(0, make([]byte, 64), 0, 0))
		}},
	})
}
