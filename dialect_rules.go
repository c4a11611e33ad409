package msgq

import (
	"syscall"
	"time"
)

// A dialect is data: one rules value per system, each field one behaviour
// of that system with its source tag from the dialects specification
// (../shared/dialects.md, whose §0 table names the files: LX Linux
// ipc/msg.c and ipc/util.c, OB/OBp OpenBSD sysv_msg.c and sysv_ipc.c, FB/FBp
// FreeBSD sysv_msg.c and sysv_ipc.c, IL/ILc illumos msg.c and ipc.c, S4/S4c
// SVR4 msg.c and ipc.c, SUN SunOS 4 msgctl(2), AIXk/AIXm AIX's kmsgctl and
// subroutine pages; [S] read in source, [D] documented, [I] inferred). The
// namespace holds a pointer to its dialect's rules (nsCore.rules) and the
// code consults them where it decides: msgget's mode test, the id scheme,
// msgsnd's checks and fullness, msgrcv's selection and flags, the msgctl
// commands, IPC_SET, IPC_STAT, permissions, privilege and the wake-ups.

// sendCheck is one of msgsnd's argument checks.
type sendCheck uint8

const (
	ckType   sendCheck = iota // mtype < 1: EINVAL
	ckMax                     // msgsz > MsgMax: EINVAL (skipped where MsgMax is 0)
	ckQbytes                  // msgsz > qbytes: EINVAL
	ckWrite                   // no write permission: EACCES
)

// fullCheck is one reason a message does not fit, tested in table order.
type fullCheck uint8

const (
	fullBytesAdd fullCheck = iota + 1 // cbytes + msgsz > qbytes
	fullBytesSub                      // qbytes − cbytes < msgsz, unsigned: passes when IPC_SET put qbytes below cbytes
	fullMnm                           // qnum ≥ MsgMnm
	fullTql                           // messages in the namespace ≥ MsgTql
	fullSeg                           // fewer free segments of the namespace pool than ⌈msgsz/MsgSsz⌉
	fullLocked                        // FreeBSD: another sender holds the queue's MSG_LOCKED
)

// getCheck is msgget's mode test on an existing key (§1).
type getCheck uint8

const (
	getFold    getCheck = iota // Linux: (f>>6|f>>3|f)&7 against the caller's class, CapIPCOwner overrides
	getOpenBSD                 // msgflg&0700 through the two-check model; UID 0 passes r and w, x needs an x bit
	getFreeBSD                 // msgflg&0700 against the class; UID 0 passes r and w; 0100 is never granted
	getSubset                  // (msgflg&0777) &^ mode must be 0: no class, no privilege
)

// negSearch is how msgrcv's msgtyp < 0 selects (§4).
type negSearch uint8

const (
	negLowest  negSearch = iota // the lowest type ≤ |t|, first of equals
	negFirstGE                  // OpenBSD: the first in FIFO order with type ≥ |t|
	negFirstLE                  // FreeBSD: the first in FIFO order with type ≤ |t|
)

// setCheck is one of IPC_SET's checks (§6), made in table order.
type setCheck uint8

const (
	setOwner    setCheck = iota // owner, creator or privileged; else rules.notOwner
	setAboveMnb                 // Linux: qbytes above MsgMnb needs CapSysResource (EPERM)
	setRaise                    // any raise of qbytes needs privilege (EPERM)
	setClamp                    // qbytes above MsgMnb is silently lowered to MsgMnb
	setZero                     // qbytes 0: EINVAL
	setIDs                      // uid or gid above rules.uidMax: EINVAL
)

// statBits are the upper mode bits IPC_STAT shows (§8).
type statBits uint8

const (
	statPlain  statBits = iota // the permission bits only
	statLive                   // illumos: IPC_ALLOC, MSG_RWAIT/MSG_WWAIT while waiters sleep
	statSticky                 // SVR4: IPC_ALLOC, MSG_RWAIT/MSG_WWAIT as the sticky flags say
	statLocked                 // FreeBSD: MSG_LOCKED while a sender holds the lock
)

// poolWake is who a freed message wakes across queues (§12).
type poolWake uint8

const (
	poolWakeNone  poolWake = iota // nobody in other queues (FreeBSD's senders poll instead)
	poolWakeTql                   // OpenBSD: if a sender met MsgTql, the writers of every queue
	poolWakeShort                 // SVR4: every sender sleeping for a header or segments
)

// idKind names an id scheme (§2; dialect_ids.go).
type idKind uint8

const (
	idsLinux   idKind = iota // seq<<15|index, cyclic (idtable.go)
	idsOpenBSD               // seq<<16|ix, ix ≥ 1, one counter, low 16 bits resolve
	idsFreeBSD               // seq<<16|ix, per-slot seq bumped at allocation
	idsIllumos               // seq<<24|index, 7-bit seq bumped at removal, next fit
	idsSVR4                  // seq*MsgMni+slot, seq bumped at removal, reset past 32767
	idsAIX                   // SVR4's formula, wrapping past 2^31−1
)

// Upper mode bits as the systems store them (§8).
const (
	modeIPCAlloc  = 0o100000 // IPC_ALLOC: illumos sys/ipc_impl.h, SVR4 sys/ipc.h
	modeMsgRWait  = 0o1000   // MSG_RWAIT: a receiver sleeps (illumos, SVR4)
	modeMsgWWait  = 0o2000   // MSG_WWAIT: a sender sleeps (illumos, SVR4)
	modeMsgLocked = 0o1000   // MSG_LOCKED: FreeBSD sys/msg.h
)

// rules is one system's behaviour. Every field is read-only once built.
type rules struct {
	dialect Dialect
	limits  Limits // §10 defaults; a zero field is a limit the system does not have
	mniMax  int    // the most queues the id layout can name
	uid0    bool   // §0: the super-user is UID 0 and Caps are never consulted; else privilege is Caps

	// native: the package's Linux code (queue.send, queue.receive and the
	// argument checks in msgq.go) implements the send and receive rules
	// below by hand, for speed; the generic path (dialect_send.go) walks
	// them for every other system.
	native bool

	get getCheck // §1 mode test on an existing key
	ids idKind   // §2

	sendPre  []sendCheck // §3 checks before the lookup, in order
	sendPost []sendCheck // §3 checks after the lookup, before the wait loop
	sendLoop []sendCheck // §3 checks repeated every time the sender is (re)considered
	full     []fullCheck // §3 the reasons to wait, in order
	typeLast bool        // §3 mtype < 1 is checked only once the message fits
	mtype32  bool        // §3 the stored mtype is its low 32 bits, sign-extended
	lockQ    bool        // §3 FreeBSD's MSG_LOCKED queue lock
	poll     time.Duration
	poolWake poolWake // §12 wake-ups across queues when a message is freed

	recvFlags int32     // §4 the msgrcv flags the system knows; others are ignored
	neg       negSearch // §4 msgtyp < 0
	typ32     bool      // §4 msgtyp is cut to a 32-bit int before matching
	truncate  bool      // §4 a long message is always truncated (MSG_NOERROR ignored)

	cmds       uint32        // §5 bit c set: msgctl command c exists
	info       bool          // §5 IPC_INFO and MSG_INFO exist (MsgctlInfo)
	setOrder   []setCheck    // §6 IPC_SET's checks in order
	notOwner   syscall.Errno // §6, §7 the errno of a non-owner's IPC_SET and IPC_RMID
	uidMax     uint32        // §6 the largest uid or gid IPC_SET accepts
	qbytesCInt bool          // §6 msg_qbytes is passed on as a C int: its low 32 bits, sign-widened
	setWakes   bool          // §6, §12 IPC_SET wakes sleepers to recheck
	stat       statBits      // §8 upper mode bits IPC_STAT shows
	seqZero    bool          // §8 IPC_STAT reports seq 0
	either     bool          // §9 OpenBSD: access if either (uid,gid) or (cuid,cgid) grants it
	extras     bool          // §11 illumos's msgids(2) and msgsnap(2) exist (else ENOSYS)
	sszPow2    bool          // §10 MsgSsz is a power of two in [8, 1024] and MsgSeg at most 32767
	lateCopyin bool          // §6 IPC_SET reads its buffer only after the lookup and the owner check (EFAULT last)
}

const (
	cmdsLinux = 1<<IPC_RMID | 1<<IPC_SET | 1<<IPC_STAT | 1<<IPC_INFO | 1<<MSG_STAT | 1<<MSG_INFO | 1<<MSG_STAT_ANY
	cmdsBasic = 1<<IPC_RMID | 1<<IPC_SET | 1<<IPC_STAT
)

var linuxRules = rules{
	dialect:    Linux,
	limits:     DefaultLimits,                                    // LX uapi msg.h MSGMAX, MSGMNB, MSGMNI [S]
	mniMax:     maxMsgMni,                                        // LX ipcmni_extend [S]
	native:     true,                                             // queue.go and msgq.go are LX do_msgsnd, do_msgrcv [S]
	get:        getFold,                                          // LX util.c ipcperms [S]
	ids:        idsLinux,                                         // LX util.c ipc_idr_alloc [S]
	sendPre:    []sendCheck{ckMax, ckType},                       // LX do_msgsnd [S] (and a negative id: EINVAL)
	sendPost:   []sendCheck{ckWrite},                             // LX do_msgsnd [S]
	recvFlags:  IPC_NOWAIT | MSG_NOERROR | MSG_EXCEPT | MSG_COPY, // LX do_msgrcv [S]
	cmds:       cmdsLinux,                                        // LX ksys_msgctl [S]
	info:       true,                                             // LX msgctl_info [S]
	setOrder:   []setCheck{setOwner, setAboveMnb, setIDs},        // LX msgctl_down, ipcperms_set [S]
	notOwner:   syscall.EPERM,                                    // LX ipcctl_obtain_check [S]
	uidMax:     1<<32 - 2,                                        // LX: (uid_t)-1 does not map [S]
	qbytesCInt: true,                                             // LX msgctl_down: int msg_qbytes [S]
	setWakes:   true,                                             // LX msgctl_down: ss_wakeup, expunge_all [S]
}

var openBSDRules = rules{
	dialect:    OpenBSD,
	limits:     Limits{MsgMax: 16384, MsgMnb: 2048, MsgMni: 40, MsgTql: 40}, // OBp msg.h [S]
	mniMax:     0xffff,                                                      // OBp ipc.h: ix is 16 bits [S]
	uid0:       true,                                                        // OBp ipcperm, vaccess [S]
	get:        getOpenBSD,                                                  // OB sys_msgget: ipcperm(msgflg & 0700) [S]
	ids:        idsOpenBSD,                                                  // OB que_create, que_lookup [S]
	sendPost:   []sendCheck{ckQbytes, ckMax, ckWrite},                       // OB sys_msgsnd [S]
	full:       []fullCheck{fullBytesSub, fullTql},                          // OB sys_msgsnd MSGQ_SPACE, num_msgs [S]
	typeLast:   true,                                                        // OB msg_copyin [S]
	poolWake:   poolWakeTql,                                                 // OB sys_msgrcv maxmsgs, que_wakewriters [S]
	recvFlags:  IPC_NOWAIT,                                                  // OB sys_msgrcv [S]
	neg:        negFirstGE,                                                  // OB msg_lookup: -msgtyp <= msg_type [S]
	typ32:      true,                                                        // OB msg_lookup(struct que *, int) [S]
	truncate:   true,                                                        // OB msg_copyout: silently truncate [S]
	cmds:       cmdsBasic,                                                   // OB sys_msgctl default case [S]
	setOrder:   []setCheck{setOwner, setRaise, setClamp, setZero},           // OB sys_msgctl IPC_SET [S]
	lateCopyin: true,                                                        // OB sys_msgctl: ipcperm(IPC_M), then copyin [S]
	notOwner:   syscall.EPERM,                                               // OBp ipcperm IPC_M [S]
	uidMax:     1<<32 - 1,                                                   // OB: no range check [S]
	either:     true,                                                        // OBp ipcperm: two vaccess calls [S]
}

var freeBSDRules = rules{
	dialect:   FreeBSD,
	limits:    Limits{MsgMnb: 2048, MsgMni: 40, MsgTql: 40, MsgSsz: 8, MsgSeg: 2048}, // FB MSGMNB…MSGSEG [S]
	mniMax:    1 << 15,                                                               // FB: ix in the low 16 bits, msginit caps [I]
	uid0:      true,                                                                  // FBp priv_check_cred [S]
	get:       getFreeBSD,                                                            // FB sys_msgget, FBp ipcperm [S]
	ids:       idsFreeBSD,                                                            // FB sys_msgget, kern_msgctl [S]
	sendPost:  []sendCheck{ckWrite},                                                  // FB kern_msgsnd [S]
	sendLoop:  []sendCheck{ckQbytes},                                                 // FB kern_msgsnd: in the loop [S]
	full:      []fullCheck{fullLocked, fullBytesAdd, fullSeg, fullTql},               // FB kern_msgsnd need_more_resources [S]
	typeLast:  true,                                                                  // FB kern_msgsnd: mtype after copyin [S]
	lockQ:     true,                                                                  // FB kern_msgsnd MSG_LOCKED [S]
	poll:      time.Second,                                                           // FB kern_msgsnd msleep(…, hz) [S]
	recvFlags: IPC_NOWAIT | MSG_NOERROR,                                              // FB kern_msgrcv [S]
	neg:       negFirstLE,                                                            // FB kern_msgrcv [S]
	cmds:      cmdsBasic,                                                             // FB kern_msgctl [S]
	setOrder:  []setCheck{setOwner, setRaise, setClamp, setZero},                     // FB kern_msgctl IPC_SET [S]
	notOwner:  syscall.EACCES,                                                        // FBp ipcperm: return (EACCES) [S]
	uidMax:    1<<32 - 1,                                                             // FB: no range check [S]
	sszPow2:   true,                                                                  // FB msginit [S]
	stat:      statLocked,                                                            // FB kern_msgctl IPC_STAT [S]
}

var illumosRules = rules{
	dialect:   Illumos,
	limits:    Limits{MsgMnb: 65536, MsgMni: 128, MsgMnm: 8192}, // ILc rctl_proc.c, project.c [S]
	mniMax:    1 << 24,                                          // ILc ipc.c: index in the low 24 bits [S]
	get:       getSubset,                                        // ILc ipc_keylookup [S]
	ids:       idsIllumos,                                       // ILc ipc_commit_end, id_space.c [S]
	sendPre:   []sendCheck{ckType},                              // IL msgsnd [S]
	sendPost:  []sendCheck{ckQbytes, ckWrite},                   // IL msgsnd [S]
	full:      []fullCheck{fullBytesSub, fullMnm},               // IL msgsnd [S]
	recvFlags: IPC_NOWAIT | MSG_NOERROR,                         // IL msgrcv [S]
	neg:       negLowest,                                        // IL msgrcv_lookup [S]
	cmds:      cmdsBasic,                                        // IL msgctl [S]
	setOrder:  []setCheck{setRaise, setOwner, setIDs},           // IL msgctl IPC_SET, ILc ipcperm_set [S]
	notOwner:  syscall.EPERM,                                    // ILc ipcperm_set [S]
	uidMax:    2147483647,                                       // ILc VALID_UID, MAXUID [S]
	stat:      statLive,                                         // IL msgctl IPC_STAT, ILc ipcperm_stat [S]
	seqZero:   true,                                             // ILc ipcperm_stat [S]
	extras:    true,                                             // ILc ipc_ids, IL msgids, msgsnap [S]
}

var svr4Rules = rules{
	dialect:    SVR4,
	limits:     Limits{MsgMax: 2048, MsgMnb: 4096, MsgMni: 50, MsgTql: 40, MsgSsz: 8, MsgSeg: 1024}, // S4c Mtune [S]
	mniMax:     32767,                                                                               // S4 msgconv: ids up to 32767 [S]
	uid0:       true,                                                                                // S4c ipcaccess [S]
	get:        getSubset,                                                                           // S4c ipcget [S]
	ids:        idsSVR4,                                                                             // S4 msgget, msgconv [S]
	sendPost:   []sendCheck{ckWrite, ckMax, ckType},                                                 // S4 msgsnd [S]
	full:       []fullCheck{fullBytesAdd, fullTql, fullSeg},                                         // S4 msgsnd [S]
	poolWake:   poolWakeShort,                                                                       // S4 msgfree: header and segment waiters [S]
	recvFlags:  IPC_NOWAIT | MSG_NOERROR,                                                            // S4 msgrcv [S]
	neg:        negLowest,                                                                           // S4 msgrcv [S]
	cmds:       cmdsBasic,                                                                           // S4 msgctl [S]
	setOrder:   []setCheck{setOwner, setRaise, setIDs},                                              // S4 msgctl IPC_SET [S]
	lateCopyin: true,                                                                                // S4 msgctl: the owner check, then copyin [S]
	notOwner:   syscall.EPERM,                                                                       // S4 msgctl [S]
	uidMax:     60002,                                                                               // S4c param.h MAXUID [S]
	stat:       statSticky,                                                                          // S4c ipcget, S4 msgctl IPC_STAT [S]
}

var aixRules = rules{
	dialect:    AIX,
	limits:     Limits{MsgMax: 4194304, MsgMnb: 4194304, MsgMni: 1048576, MsgMnm: 524288}, // AIXm msgctl 7.3, msgsnd 7.1 [D]
	mniMax:     1 << 24,                                                                   // [I]
	uid0:       true,                                                                      // AIXk, AIXm: root user authority [D]
	get:        getSubset,                                                                 // [I] SVR4's; AIXm msgget [D]
	ids:        idsAIX,                                                                    // [I] SVR4's formula
	sendPost:   []sendCheck{ckWrite, ckMax, ckType},                                       // [I] SVR4's order; AIXm msgsnd [D]
	full:       []fullCheck{fullBytesAdd, fullMnm},                                        // AIXm msgsnd [D]
	mtype32:    true,                                                                      // AIXm msgsnd, msgrcv [D]
	recvFlags:  IPC_NOWAIT | MSG_NOERROR,                                                  // AIXm msgrcv [D]; others [I] ignored
	neg:        negLowest,                                                                 // AIXm msgrcv [D]
	cmds:       cmdsBasic,                                                                 // AIXk: three valid commands [D]
	setOrder:   []setCheck{setOwner, setRaise, setIDs},                                    // AIXk [D], [I] SVR4's order
	lateCopyin: true,                                                                      // [I] SVR4's
	notOwner:   syscall.EPERM,                                                             // AIXk [D]
	uidMax:     1<<32 - 1,                                                                 // [I] none
}

var dialectRules = [...]*rules{
	Linux:   &linuxRules,
	OpenBSD: &openBSDRules,
	FreeBSD: &freeBSDRules,
	Illumos: &illumosRules,
	SVR4:    &svr4Rules,
	AIX:     &aixRules,
}

// rulesOf returns d's rules; an unknown dialect is Linux.
func rulesOf(d Dialect) *rules {
	if int(d) < len(dialectRules) {
		return dialectRules[d]
	}
	return &linuxRules
}

// WithDialect makes the namespace follow system d's rules (see the
// dialects specification): check order and errnos, ids, limits (its
// defaults are DialectLimits(d)), which flags and commands exist, IPC_SET,
// IPC_STAT, permissions and who is privileged: UID 0 under OpenBSD,
// FreeBSD, SVR4 and AIX, Caps under Linux and Illumos. The default is
// Linux. An unknown dialect is Linux.
func WithDialect(d Dialect) Option {
	return func(o *options) {
		if int(d) >= len(dialectRules) {
			d = Linux
		}
		o.dialect = d
	}
}

// Dialect returns the system whose rules the namespace follows.
func (ns *Namespace) Dialect() Dialect { return ns.core.rules.dialect }

// DialectLimits returns system d's default limits. A field is 0 where the
// system has no such limit (Linux: MsgTql, MsgMnm, MsgSsz and MsgSeg;
// illumos: MsgMax …); a namespace of that dialect enforces only its
// non-zero fields. An unknown dialect gives Linux's.
func DialectLimits(d Dialect) Limits { return rulesOf(d).limits }

// fill returns l with the dialect's defaults in its zero (or negative)
// fields, the fields the system does not have cleared, and every value
// brought into the range the system accepts.
func (r *rules) fill(l Limits) Limits {
	fix := func(v, def, most int) int {
		if def == 0 {
			return 0 // the system has no such limit: WithLimits is ignored
		}
		if v <= 0 {
			return def
		}
		return min(v, most)
	}
	d := r.limits
	out := Limits{
		MsgMax: fix(l.MsgMax, d.MsgMax, 1<<31-1),
		MsgMnb: fix(l.MsgMnb, d.MsgMnb, 1<<31-1),
		MsgMni: fix(l.MsgMni, d.MsgMni, r.mniMax),
		MsgTql: fix(l.MsgTql, d.MsgTql, 1<<31-1),
		MsgMnm: fix(l.MsgMnm, d.MsgMnm, 1<<31-1),
		MsgSsz: fix(l.MsgSsz, d.MsgSsz, 1<<20),
		MsgSeg: fix(l.MsgSeg, d.MsgSeg, 1<<31-1),
	}
	if r.sszPow2 && out.MsgSsz > 0 {
		// FB msginit accepts a power of two in [8, 1024] and at most 32767
		// segments: round into that range rather than refuse.
		s := 8
		for s < out.MsgSsz && s < 1024 {
			s *= 2
		}
		out.MsgSsz = s
		out.MsgSeg = min(out.MsgSeg, 32767)
	}
	return out
}

// priv reports whether c is privileged for what capability cap grants on
// Linux: UID 0 where the system's super-user is UID 0, else cap in c.Caps.
func (r *rules) priv(c *Cred, cap Caps) bool {
	if r.uid0 {
		return c.UID == 0
	}
	return c.Has(cap)
}

// permits is the read or write check (§9): want is accessRead or
// accessWrite.
func (r *rules) permits(p *ipcPerm, c *Cred, want int32) bool {
	if r.either {
		return c.UID == 0 || vaccess(p.mode, p.uid, p.gid, c, want) || vaccess(p.mode, p.cuid, p.cgid, c, want)
	}
	return p.classGrants(c, want) || r.priv(c, CapIPCOwner)
}

// classGrants is the class check every system but OpenBSD makes: owner
// bits if the caller is uid or cuid, group bits if its groups hold gid or
// cgid, else the other bits; want is in the "other" position.
func (p *ipcPerm) classGrants(c *Cred, want int32) bool {
	granted := int32(p.mode)
	switch {
	case c.UID == p.cuid || c.UID == p.uid:
		granted >>= 6
	case c.inGroup(p.cgid) || c.inGroup(p.gid):
		granted >>= 3
	}
	return want&^granted&0o7 == 0
}

// vaccess is OpenBSD's vaccess for a non-root caller against one
// (uid, gid) pair: the owner bits if the caller is uid, the group bits if
// gid is one of its groups, else the other bits.
func vaccess(mode uint16, uid, gid uint32, c *Cred, want int32) bool {
	granted := int32(mode)
	switch {
	case c.UID == uid:
		granted >>= 6
	case c.inGroup(gid):
		granted >>= 3
	}
	return want&^granted&0o7 == 0
}

// getPermits is msgget's mode test on an existing key (§1).
func (r *rules) getPermits(p *ipcPerm, c *Cred, msgflg int32) bool {
	switch r.get {
	case getOpenBSD:
		want := msgflg & 0o700 >> 6
		if c.UID == 0 { // OBp vaccess: root passes r and w; x needs an x bit
			return want&0o1 == 0 || p.mode&0o111 != 0
		}
		return vaccess(p.mode, p.uid, p.gid, c, want) || vaccess(p.mode, p.cuid, p.cgid, c, want)
	case getFreeBSD:
		want := msgflg & 0o700 >> 6
		if want&0o1 != 0 {
			return false // FBp ipcperm never grants the x bit
		}
		return p.classGrants(c, want) || c.UID == 0
	case getSubset:
		return msgflg&0o777&^int32(p.mode) == 0
	}
	return p.permits(c, msgflg)
}

// mayControl is who may IPC_SET and IPC_RMID (§6, §7): the owner or the
// creator, or the privileged.
func (r *rules) mayControl(p *ipcPerm, c *Cred) bool {
	return c.UID == p.cuid || c.UID == p.uid || r.priv(c, CapSysAdmin)
}

// hasCmd reports whether msgctl command c exists.
func (r *rules) hasCmd(c int32) bool {
	return c >= 0 && c < 32 && r.cmds&(1<<c) != 0
}
