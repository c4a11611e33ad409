package msgq

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file is a permission matrix: every operation that Linux guards with
// a permission check, tried by every kind of caller against a queue in each
// of a set of representative modes, each cell on a fresh namespace. What
// each cell should give is not taken from the package: it is computed by
// the linux* functions below, which restate the kernel's rules (ipc/util.c
// ipcperms and ipcctl_obtain_check, ipc/msg.c msgctl_down) and nothing
// else.

// ---------------------------------------------------------------------------
// The rules, as Linux states them.

// permMsgMnb is Linux's default kernel.msgmnb, the limit above which
// msg_qbytes needs CAP_SYS_RESOURCE. The namespaces here use the default.
const permMsgMnb = 16384

// linuxClass says which triplet of the mode ipcperms applies to caller c:
// the owner triplet if c's euid is the queue's uid or cuid; otherwise the
// group triplet if c's gid or a supplementary group is the queue's gid or
// cgid; otherwise the other triplet. Exactly one applies: a caller in the
// owner class is never also judged by the group or other bits.
func linuxClass(p IPCPerm, c Cred) string {
	if c.UID == p.UID || c.UID == p.CUID {
		return "owner"
	}
	groups := append([]uint32{c.GID}, c.Groups...)
	for _, g := range groups {
		if g == p.GID || g == p.CGID {
			return "group"
		}
	}
	return "other"
}

// linuxIPCPerms is ipcperms: flag asks for read, write or execute by
// setting that bit in any triplet (0o444, 0o222, 0o111 all fold into one);
// the caller gets what its class's triplet grants; CAP_IPC_OWNER grants the
// rest. The uid 0 gets nothing for being 0.
func linuxIPCPerms(p IPCPerm, c Cred, flag int) bool {
	if c.Caps&CapIPCOwner != 0 {
		return true
	}
	var triplet uint16
	switch linuxClass(p, c) {
	case "owner":
		triplet = p.Mode >> 6 & 0o7
	case "group":
		triplet = p.Mode >> 3 & 0o7
	default:
		triplet = p.Mode & 0o7
	}
	if flag&0o444 != 0 && triplet&0o4 == 0 {
		return false
	}
	if flag&0o222 != 0 && triplet&0o2 == 0 {
		return false
	}
	if flag&0o111 != 0 && triplet&0o1 == 0 {
		return false
	}
	return true
}

// linuxAccess is the errno of an operation that needs the given access.
func linuxAccess(p IPCPerm, c Cred, flag int) error {
	if linuxIPCPerms(p, c, flag) {
		return nil
	}
	return syscall.EACCES
}

// linuxControl is ipcctl_obtain_check, the check of IPC_SET and IPC_RMID:
// the caller's euid must be the queue's uid or cuid, or it must hold
// CAP_SYS_ADMIN. The mode bits and CAP_IPC_OWNER play no part.
func linuxControl(p IPCPerm, c Cred) error {
	if c.UID == p.UID || c.UID == p.CUID || c.Caps&CapSysAdmin != 0 {
		return nil
	}
	return syscall.EPERM
}

// linuxSet is IPC_SET with a buffer whose msg_qbytes is qbytes: the control
// check, then a qbytes above msgmnb (whatever the queue's current qbytes)
// needs CAP_SYS_RESOURCE.
func linuxSet(p IPCPerm, c Cred, qbytes uint64) error {
	if err := linuxControl(p, c); err != nil {
		return err
	}
	if qbytes > permMsgMnb && c.Caps&CapSysResource == 0 {
		return syscall.EPERM
	}
	return nil
}

// ---------------------------------------------------------------------------
// The queue each cell runs against.

// permKey is the key of the queue under test.
const permKey Key = 0x5eed

// permLayout is the queue under test: created by creator with mode 0o600,
// holding one message {1, "m"} that creator sent, then given by IPC_SET to
// uid and gid with the mode and msg_qbytes under test.
type permLayout struct {
	creator  Cred
	uid, gid uint32
	mode     uint16
	qbytes   uint64 // 0 means MsgMnb, the default
}

// perm is the ipc_perm the layout gives the queue.
func (l permLayout) perm() IPCPerm {
	return IPCPerm{Key: permKey, UID: l.uid, GID: l.gid, CUID: l.creator.UID, CGID: l.creator.GID, Mode: l.mode}
}

func (l permLayout) qbytesOrDefault() uint64 {
	if l.qbytes == 0 {
		return permMsgMnb
	}
	return l.qbytes
}

// permMatrixLayout is the matrix's queue: created by creator (1001:1001)
// and given to owner (uid 1000, gid 1000), so that uid and cuid differ and
// gid and cgid differ.
func permMatrixLayout(mode uint16) permLayout {
	return permLayout{creator: creator, uid: owner.UID, gid: owner.GID, mode: mode}
}

// permEnv is a fresh namespace holding the queue of a layout.
type permEnv struct {
	ns     *Namespace // acting as Root: for setting up and looking
	id     int
	before MsqidDS   // the queue's state before the operation
	now    time.Time // the clock when the operation runs
}

func newPermEnv(t *testing.T, l permLayout) *permEnv {
	t.Helper()
	clock := newClock()
	ns := NewNamespace(WithCred(Root), WithClock(clock.now))
	require.Equal(t, permMsgMnb, ns.Limits().MsgMnb)
	cr := ns.As(l.creator)
	id, err := cr.Msgget(permKey, IPC_CREAT|IPC_EXCL|0o600)
	require.NoError(t, err)
	require.NoError(t, cr.Msgsnd(id, 1, []byte("m"), IPC_NOWAIT))

	ds := stat(t, ns, id)
	ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode = l.uid, l.gid, l.mode
	ds.Qbytes = l.qbytesOrDefault()
	setter := l.creator // the creator gives the queue away
	if ds.Qbytes > permMsgMnb {
		setter.Caps |= CapSysResource
	}
	_, err = cr.As(setter).Msgctl(id, IPC_SET, &ds)
	require.NoError(t, err)

	before := stat(t, ns, id)
	want := l.perm()
	want.Seq = before.Perm.Seq
	require.Equal(t, want, before.Perm, "the queue has the layout under test")
	require.Equal(t, l.qbytesOrDefault(), before.Qbytes)
	require.Equal(t, uint64(1), before.Qnum)
	return &permEnv{ns: ns, id: id, before: before, now: clock.advance(time.Minute)}
}

// ---------------------------------------------------------------------------
// The operations.

// permRecvOp is msgrcv with extra flags: it needs read permission and,
// allowed, returns the one message the queue holds.
func permRecvOp(name string, flags int, done func(ds *MsqidDS, c Cred, now time.Time)) permOp {
	return permOp{
		name: name,
		rule: func(l permLayout, c Cred) error { return linuxAccess(l.perm(), c, 0o444) }, // S_IRUGO
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			buf := make([]byte, 16)
			n, mtype, err := as.Msgrcv(e.id, buf, 0, flags|IPC_NOWAIT)
			if err != nil {
				assert.Equal(t, -1, n)
				return err
			}
			assert.Equal(t, msg{1, "m"}, msg{mtype, string(buf[:n])})
			return nil
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			m, err := permLookup(t, e, as).Recv(context.Background(), 0, 16, flags|IPC_NOWAIT)
			if err != nil {
				return err
			}
			assert.Equal(t, msg{1, "m"}, msg{m.Type, string(m.Text)})
			return nil
		},
		done: done,
	}
}

// permOp is one guarded operation.
type permOp struct {
	name string
	// rule is what Linux returns when c tries the operation on the queue
	// of layout l.
	rule func(l permLayout, c Cred) error
	// sys does the operation through the syscall-shaped layer and handle
	// through the Go-shaped one (nil where it has no equivalent). On
	// success they check what the call returned.
	sys, handle func(t *testing.T, e *permEnv, as *Namespace) error
	// done changes the state before into the state a successful call
	// leaves (nil: it changes nothing), or removes says it removes the
	// queue. A failed call changes nothing.
	done    func(ds *MsqidDS, c Cred, now time.Time)
	removes bool
}

// permLookup returns a handle on the queue under test, acting as as.
func permLookup(t *testing.T, e *permEnv, as *Namespace) *Queue {
	t.Helper()
	q, err := as.Lookup(e.id)
	require.NoError(t, err, "Lookup checks no permission")
	return q
}

// permMsgget is msgget on the existing key with flag.
func permMsgget(name string, flag int) permOp {
	return permOp{
		name: name,
		rule: func(l permLayout, c Cred) error { return linuxAccess(l.perm(), c, flag) },
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			id, err := as.Msgget(permKey, flag)
			if err != nil {
				assert.Equal(t, -1, id)
				return err
			}
			assert.Equal(t, e.id, id)
			return nil
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			q, err := as.Get(permKey, flag)
			if err != nil {
				assert.Nil(t, q)
				return err
			}
			assert.Equal(t, e.id, q.ID())
			return nil
		},
	}
}

// permSetQbytes is IPC_SET of msg_qbytes to qbytes, the rest unchanged.
func permSetQbytes(name string, qbytes uint64) permOp {
	set := func(e *permEnv) *MsqidDS {
		ds := e.before
		ds.Qbytes = qbytes
		return &ds
	}
	return permOp{
		name: name,
		rule: func(l permLayout, c Cred) error { return linuxSet(l.perm(), c, qbytes) },
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			return permCtl(t, as, e.id, IPC_SET, set(e))
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			return permLookup(t, e, as).Set(set(e))
		},
		done: func(ds *MsqidDS, c Cred, now time.Time) {
			ds.Qbytes = qbytes
			ds.Ctime = now
		},
	}
}

// permCtl is msgctl for a command that returns 0 on success.
func permCtl(t *testing.T, as *Namespace, id, cmd int, buf *MsqidDS) error {
	r, err := as.Msgctl(id, cmd, buf)
	if err != nil {
		assert.Equal(t, -1, r)
		return err
	}
	assert.Equal(t, 0, r)
	return nil
}

// permFlipMode is the mode IPC_SET-mode sets: every bit flipped, so it
// differs from whatever was there.
func permFlipMode(m uint16) uint16 { return ^m & 0o777 }

var (
	permMsgsnd = permOp{
		name: "msgsnd",
		rule: func(l permLayout, c Cred) error { return linuxAccess(l.perm(), c, 0o222) }, // S_IWUGO
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			return as.Msgsnd(e.id, 2, []byte("w"), IPC_NOWAIT)
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			return permLookup(t, e, as).Send(context.Background(), 2, []byte("w"), IPC_NOWAIT)
		},
		done: func(ds *MsqidDS, c Cred, now time.Time) {
			ds.Qnum++
			ds.Cbytes++
			ds.Lspid = c.PID
			ds.Stime = now
		},
	}

	permMsgrcv = permRecvOp("msgrcv", 0, func(ds *MsqidDS, c Cred, now time.Time) {
		ds.Qnum--
		ds.Cbytes--
		ds.Lrpid = c.PID
		ds.Rtime = now
	})

	// done is nil: a copy leaves the queue, its times and pids alone.
	permMsgrcvCopy = permRecvOp("msgrcv-MSG_COPY", MSG_COPY, nil)

	permIPCStat = permOp{
		name: "IPC_STAT",
		rule: func(l permLayout, c Cred) error { return linuxAccess(l.perm(), c, 0o444) },
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			var ds MsqidDS
			err := permCtl(t, as, e.id, IPC_STAT, &ds)
			if err != nil {
				assert.Equal(t, MsqidDS{}, ds, "a refused stat writes nothing")
				return err
			}
			assert.Equal(t, e.before, ds)
			return nil
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			ds, err := permLookup(t, e, as).Stat()
			if err != nil {
				return err
			}
			assert.Equal(t, e.before, ds)
			return nil
		},
	}

	permMsgStat    = permStatByIndex("MSG_STAT", MSG_STAT, func(l permLayout, c Cred) error { return linuxAccess(l.perm(), c, 0o444) })
	permMsgStatAny = permStatByIndex("MSG_STAT_ANY", MSG_STAT_ANY, func(permLayout, Cred) error { return nil })

	permSetMode = permOp{
		name: "IPC_SET-mode",
		rule: func(l permLayout, c Cred) error { return linuxSet(l.perm(), c, l.qbytesOrDefault()) },
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			ds := e.before
			ds.Perm.Mode = permFlipMode(ds.Perm.Mode)
			return permCtl(t, as, e.id, IPC_SET, &ds)
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			ds := e.before
			ds.Perm.Mode = permFlipMode(ds.Perm.Mode)
			return permLookup(t, e, as).Set(&ds)
		},
		done: func(ds *MsqidDS, c Cred, now time.Time) {
			ds.Perm.Mode = permFlipMode(ds.Perm.Mode)
			ds.Ctime = now
		},
	}

	permSetQbytesUp = permSetQbytes("IPC_SET-qbytes", permMsgMnb+1)

	permRmid = permOp{
		name: "IPC_RMID",
		rule: func(l permLayout, c Cred) error { return linuxControl(l.perm(), c) },
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			return permCtl(t, as, e.id, IPC_RMID, nil)
		},
		handle: func(t *testing.T, e *permEnv, as *Namespace) error {
			return permLookup(t, e, as).Remove()
		},
		removes: true,
	}
)

// permStatByIndex is MSG_STAT or MSG_STAT_ANY of the queue's table index,
// which return the queue's id. The Go-shaped layer has no equivalent.
func permStatByIndex(name string, cmd int, rule func(permLayout, Cred) error) permOp {
	return permOp{
		name: name,
		rule: rule,
		sys: func(t *testing.T, e *permEnv, as *Namespace) error {
			var ds MsqidDS
			index := e.id & (1<<15 - 1) // ipcid_to_idx with the default IPCMNI
			r, err := as.Msgctl(index, cmd, &ds)
			if err != nil {
				assert.Equal(t, -1, r)
				assert.Equal(t, MsqidDS{}, ds, "a refused stat writes nothing")
				return err
			}
			assert.Equal(t, e.id, r, "MSG_STAT returns the id")
			assert.Equal(t, e.before, ds)
			return nil
		},
	}
}

// permOps are the matrix's operations, in the order of the brief: msgget
// asking for read, write and both, then the rest.
var permOps = []permOp{
	permMsgget("msgget-r", 0o400),
	permMsgget("msgget-w", 0o200),
	permMsgget("msgget-rw", 0o600),
	permMsgsnd,
	permMsgrcv,
	permMsgrcvCopy,
	permIPCStat,
	permMsgStat,
	permMsgStatAny,
	permSetMode,
	permSetQbytesUp,
	permRmid,
}

// ---------------------------------------------------------------------------
// The callers.

// permWho is a caller of the matrix, with the class the matrix layout puts
// it in (checked against linuxClass, so the names cannot lie).
type permWho struct {
	name  string
	cred  Cred
	class string
}

func permWithCaps(c Cred, pid int32, caps Caps) Cred {
	c.PID, c.Caps = pid, caps
	return c
}

var permWhos = []permWho{
	{"owner", owner, "owner"},     // uid == queue uid, not cuid
	{"creator", creator, "owner"}, // uid == cuid only: the queue was given to owner
	{"group-gid", member, "group"},
	{"group-cgid", Cred{UID: 2002, GID: creator.GID, PID: 17}, "group"},
	{"group-suppl", suppl, "group"}, // a supplementary group is the queue's gid
	{"other", stranger, "other"},
	{"uid0-nocaps", rootNoCaps, "other"},
	{"other+CAP_IPC_OWNER", permWithCaps(stranger, 21, CapIPCOwner), "other"},
	{"other+CAP_SYS_ADMIN", permWithCaps(stranger, 22, CapSysAdmin), "other"},
	{"other+CAP_SYS_RESOURCE", permWithCaps(stranger, 23, CapSysResource), "other"},
	{"other+allcaps", permWithCaps(stranger, 24, AllCaps), "other"},
}

// permModes are the matrix's modes: nothing, each bit of read and write in
// each triplet, both in each, everything, and mixes where one class has
// more than another.
var permModes = []uint16{
	0, 0o400, 0o200, 0o600, 0o040, 0o020, 0o060, 0o004, 0o002, 0o006,
	0o777, 0o640, 0o604, 0o064,
}

// ---------------------------------------------------------------------------
// Running a cell.

// permRun tries op as c on a fresh queue of layout l, through each layer,
// and checks that it returns want and leaves the state a call with that
// result leaves.
func permRun(t *testing.T, l permLayout, c Cred, op permOp, want error) {
	t.Helper()
	layers := []struct {
		name string
		do   func(t *testing.T, e *permEnv, as *Namespace) error
	}{{"syscall layer", op.sys}, {"Queue layer", op.handle}}
	for _, layer := range layers {
		if layer.do == nil {
			continue
		}
		e := newPermEnv(t, l)
		err := layer.do(t, e, e.ns.As(c))
		if layer.name == "syscall layer" {
			// The syscall-shaped layer returns the bare errno.
			require.Equal(t, want, err, "%s: errno", layer.name)
		} else if want == nil {
			require.NoError(t, err, layer.name)
		} else {
			require.Truef(t, errors.Is(err, want), "%s: got %v, want %v", layer.name, err, want)
		}

		if want == nil && op.removes {
			_, err := e.ns.Msgctl(e.id, IPC_STAT, new(MsqidDS))
			assert.Equal(t, syscall.EINVAL, err, "%s: the id is gone", layer.name)
			_, err = e.ns.Msgget(permKey, 0)
			assert.Equal(t, syscall.ENOENT, err, "%s: the key is gone", layer.name)
			continue
		}
		after := e.before
		if want == nil && op.done != nil {
			op.done(&after, c, e.now)
		}
		assert.Equal(t, after, stat(t, e.ns, e.id), "%s: the queue afterwards", layer.name)
	}
}

// TestPermMatrix runs every operation, as every caller, on a queue in every
// mode, and checks the errno and the effect against the rules above.
func TestPermMatrix(t *testing.T) {
	for _, who := range permWhos {
		require.Equal(t, who.class, linuxClass(permMatrixLayout(0).perm(), who.cred),
			"%s is in the class its name says", who.name)
	}
	cells := 0
	for _, op := range permOps {
		t.Run(op.name, func(t *testing.T) {
			for _, who := range permWhos {
				t.Run(who.name, func(t *testing.T) {
					for _, mode := range permModes {
						t.Run(fmt.Sprintf("mode=0o%03o", mode), func(t *testing.T) {
							l := permMatrixLayout(mode)
							permRun(t, l, who.cred, op, op.rule(l, who.cred))
						})
						cells++
					}
				})
			}
		})
	}
	assert.Equal(t, len(permOps)*len(permWhos)*len(permModes), cells)
}

// TestPermMatrixSpotChecks pins a few cells of the rules by hand, so that
// the rules above cannot drift into agreeing with a wrong package.
func TestPermMatrixSpotChecks(t *testing.T) {
	ipcOwner := permWithCaps(stranger, 21, CapIPCOwner)
	sysAdmin := permWithCaps(stranger, 22, CapSysAdmin)
	tests := []struct {
		op   permOp
		who  Cred
		mode uint16
		want error
	}{
		{permMsgsnd, owner, 0o200, nil},
		{permMsgsnd, owner, 0o400, syscall.EACCES},
		{permMsgsnd, creator, 0o600, nil},
		{permMsgsnd, member, 0o020, nil},
		{permMsgsnd, member, 0o602, syscall.EACCES},
		{permMsgsnd, stranger, 0o602, nil},
		{permMsgsnd, stranger, 0o660, syscall.EACCES},
		{permMsgrcv, suppl, 0o040, nil},
		{permMsgrcv, rootNoCaps, 0o640, syscall.EACCES},
		{permMsgrcv, ipcOwner, 0, nil},
		{permMsgrcv, sysAdmin, 0, syscall.EACCES},
		{permMsgStatAny, stranger, 0, nil},
		{permRmid, ipcOwner, 0o777, syscall.EPERM},
		{permRmid, sysAdmin, 0, nil},
		{permSetMode, owner, 0, nil},
		{permSetQbytesUp, owner, 0o777, syscall.EPERM},
		{permSetQbytesUp, permWithCaps(stranger, 24, AllCaps), 0, nil},
	}
	for _, tt := range tests {
		l := permMatrixLayout(tt.mode)
		assert.Equal(t, tt.want, tt.op.rule(l, tt.who), "%s by uid %d caps %b at mode 0o%03o", tt.op.name, tt.who.UID, tt.who.Caps, tt.mode)
	}
}

// TestPermRules are the subtle rules, one named row each, written out by
// hand: each row's expectation is checked against the rules above, then
// against the package.
func TestPermRules(t *testing.T) {
	const otherGID = 3000 // stranger's gid
	suppCGID := Cred{UID: 2003, GID: 3001, Groups: []uint32{7, creator.GID}, PID: 31}
	ownerRes := Cred{UID: owner.UID, GID: owner.GID, PID: 32, Caps: CapSysResource}
	tests := []struct {
		name   string
		layout permLayout
		as     Cred
		op     permOp
		want   error
	}{
		{"owner triplet wins even if the group triplet would grant more: msgsnd",
			permMatrixLayout(0o070), owner, permMsgsnd, syscall.EACCES},
		{"owner triplet wins even if the group triplet would grant more: IPC_STAT",
			permMatrixLayout(0o070), owner, permIPCStat, syscall.EACCES},
		{"owner triplet wins even if the other triplet would grant more",
			permMatrixLayout(0o007), owner, permMsgrcv, syscall.EACCES},
		{"creator triplet is the owner triplet, even once the queue is given away",
			permMatrixLayout(0o470), creator, permMsgsnd, syscall.EACCES},
		{"group triplet wins even if the other triplet would grant more",
			permMatrixLayout(0o707), member, permMsgrcv, syscall.EACCES},
		{"group match via cgid after IPC_SET changed gid",
			permLayout{creator: owner, uid: owner.UID, gid: otherGID, mode: 0o060}, member, permMsgsnd, nil},
		{"group match via cgid after IPC_SET changed gid: the other bits do not apply",
			permLayout{creator: owner, uid: owner.UID, gid: otherGID, mode: 0o606}, member, permMsgsnd, syscall.EACCES},
		{"group match via the gid IPC_SET gave",
			permLayout{creator: owner, uid: owner.UID, gid: otherGID, mode: 0o040}, stranger, permIPCStat, nil},
		{"group match via a supplementary group equal to cgid",
			permMatrixLayout(0o040), suppCGID, permMsgrcv, nil},
		{"group match via a supplementary group equal to cgid: the other bits do not apply",
			permMatrixLayout(0o604), suppCGID, permMsgrcv, syscall.EACCES},
		{"the uid IPC_SET gave gets the owner triplet",
			permLayout{creator: owner, uid: stranger.UID, gid: owner.GID, mode: 0o600}, stranger, permMsgsnd, nil},
		{"the uid IPC_SET gave may IPC_RMID",
			permLayout{creator: owner, uid: stranger.UID, gid: owner.GID, mode: 0}, stranger, permRmid, nil},
		{"uid 0 without caps is other: no read at 0o660",
			permMatrixLayout(0o660), rootNoCaps, permIPCStat, syscall.EACCES},
		{"uid 0 without caps is other: read at 0o004",
			permMatrixLayout(0o004), rootNoCaps, permIPCStat, nil},
		{"uid 0 without caps is other: no IPC_RMID",
			permMatrixLayout(0o777), rootNoCaps, permRmid, syscall.EPERM},
		{"uid 0 without caps is other: no IPC_SET",
			permMatrixLayout(0o777), rootNoCaps, permSetMode, syscall.EPERM},
		{"uid 0 without caps owns the queue it created",
			permLayout{creator: rootNoCaps, uid: 0, gid: 0, mode: 0o600}, rootNoCaps, permMsgrcv, nil},
		{"msgget request bits count in any triplet: read asked as 0o004",
			permMatrixLayout(0o400), owner, permMsgget("msgget-0o004", 0o004), nil},
		{"msgget request bits count in any triplet: read asked as 0o040 is checked against the owner triplet",
			permMatrixLayout(0o060), owner, permMsgget("msgget-0o040", 0o040), syscall.EACCES},
		{"msgget asking execute is refused when the mode lacks it",
			permMatrixLayout(0o600), owner, permMsgget("msgget-0o700", 0o700), syscall.EACCES},
		{"msgget asking execute is granted when the mode has it",
			permMatrixLayout(0o700), owner, permMsgget("msgget-0o700", 0o700), nil},
		{"msgget asking nothing always succeeds",
			permMatrixLayout(0), stranger, permMsgget("msgget-0", 0), nil},
		{"msgget with IPC_CREAT on an existing key checks the mode all the same",
			permMatrixLayout(0o600), stranger, permMsgget("msgget-IPC_CREAT|0o600", IPC_CREAT|0o600), syscall.EACCES},
		{"msgget with IPC_CREAT on an existing key succeeds when the mode grants",
			permMatrixLayout(0o606), stranger, permMsgget("msgget-IPC_CREAT|0o606", IPC_CREAT|0o606), nil},
		{"CAP_IPC_OWNER grants read and write at mode 0",
			permMatrixLayout(0), permWithCaps(stranger, 33, CapIPCOwner), permMsgsnd, nil},
		{"CAP_IPC_OWNER does not grant IPC_SET",
			permMatrixLayout(0o777), permWithCaps(stranger, 33, CapIPCOwner), permSetMode, syscall.EPERM},
		{"CAP_SYS_ADMIN does not grant read",
			permMatrixLayout(0), permWithCaps(stranger, 34, CapSysAdmin), permMsgrcvCopy, syscall.EACCES},
		{"a group member may not IPC_SET, whatever the mode",
			permMatrixLayout(0o777), member, permSetMode, syscall.EPERM},
		{"the owner locked out by mode 0 may still IPC_SET",
			permMatrixLayout(0), owner, permSetMode, nil},
		{"the owner locked out by mode 0 may still IPC_RMID",
			permMatrixLayout(0), owner, permRmid, nil},
		{"MSG_STAT_ANY needs nothing, even at mode 0",
			permMatrixLayout(0), stranger, permMsgStatAny, nil},
		{"MSG_STAT needs read",
			permMatrixLayout(0o333), owner, permMsgStat, syscall.EACCES},
		{"the owner with CAP_SYS_RESOURCE may raise qbytes",
			permMatrixLayout(0o600), ownerRes, permSetQbytesUp, nil},
		{"lowering qbytes needs no capability",
			permMatrixLayout(0o600), owner, permSetQbytes("IPC_SET-qbytes-lower", permMsgMnb-1), nil},
		{"qbytes equal to MsgMnb is not raising",
			permLayout{creator: creator, uid: owner.UID, gid: owner.GID, mode: 0o600, qbytes: 100}, owner, permSetQbytes("IPC_SET-qbytes-mnb", permMsgMnb), nil},
		{"keeping qbytes already above MsgMnb needs CAP_SYS_RESOURCE: Linux compares with msgmnb, not the old qbytes",
			permLayout{creator: creator, uid: owner.UID, gid: owner.GID, mode: 0o600, qbytes: 20000}, owner, permSetQbytes("IPC_SET-qbytes-keep", 20000), syscall.EPERM},
		{"so does changing only the mode of such a queue with its stat buffer",
			permLayout{creator: creator, uid: owner.UID, gid: owner.GID, mode: 0o600, qbytes: 20000}, owner, permSetMode, syscall.EPERM},
		{"CAP_SYS_RESOURCE without ownership may not raise qbytes",
			permMatrixLayout(0o777), permWithCaps(stranger, 35, CapSysResource), permSetQbytesUp, syscall.EPERM},
		{"CAP_SYS_ADMIN without CAP_SYS_RESOURCE may not raise qbytes",
			permMatrixLayout(0o777), permWithCaps(stranger, 36, CapSysAdmin), permSetQbytesUp, syscall.EPERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.op.rule(tt.layout, tt.as), "the rules above agree with this row")
			permRun(t, tt.layout, tt.as, tt.op, tt.want)
		})
	}
}
