package msgq

// A reference model of one Linux SysV message queue namespace, and a
// randomized differential test of the real Namespace against it.
//
// The model is deliberately naive and follows Linux's ipc/msg.c (and the
// parts of ipc/util.c it uses) statement by statement: each queue keeps its
// messages in one slice, oldest first, and every msgrcv walks it linearly
// (find_msg, testmsg, convert_mode); msgsnd checks its arguments, looks the
// id up, checks write permission and then msg_fits_inqueue, in do_msgsnd's
// order; msgctl follows msgctl_stat and msgctl_down. Only calls that cannot
// block are modelled: there are never waiting senders or receivers, so
// pipelined_send, ss_wakeup and expunge_all have nothing to do.
//
// The model names its queues by creation order (refNS.queues). It does not
// model Linux's id numbers: each model queue records the id the real
// namespace returned when the same msgget created it, and a call that names
// an id acts on the live model queue with that id, if any. That is enough to
// check that ids of removed queues, stale ids and ids that never existed all
// fail as Linux fails them.

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// The model.

// refMsg is Linux's struct msg_msg: a type and a text of m_ts bytes.
type refMsg struct {
	mtype int64
	text  []byte
}

// refQueue is Linux's struct msg_queue with its kern_ipc_perm, less the
// times and the lists of waiters.
type refQueue struct {
	id      int  // the id the real namespace gave this queue
	removed bool // IPC_RMID'd: no longer reachable by id or key

	key                  Key
	uid, gid, cuid, cgid uint32
	mode                 uint16 // S_IRWXUGO only, as newque and ipc_update_perm keep it
	qbytes               uint64 // q_qbytes
	cbytes               uint64 // q_cbytes
	qnum                 uint64 // q_qnum
	lspid, lrpid         int32
	messages             []refMsg // q_messages, oldest first
}

// refStat is the part of msqid64_ds the differential test compares: all but
// the times and the sequence number.
type refStat struct {
	Key                  Key
	UID, GID, CUID, CGID uint32
	Mode                 uint16
	Cbytes, Qnum, Qbytes uint64
	Lspid, Lrpid         int32
}

func (s refStat) String() string {
	return fmt.Sprintf("{key %d uid %d gid %d cuid %d cgid %d mode %#o cbytes %d qnum %d qbytes %d lspid %d lrpid %d}",
		s.Key, s.UID, s.GID, s.CUID, s.CGID, s.Mode, s.Cbytes, s.Qnum, s.Qbytes, s.Lspid, s.Lrpid)
}

func refStatOf(ds *MsqidDS) refStat {
	return refStat{
		Key: ds.Perm.Key, UID: ds.Perm.UID, GID: ds.Perm.GID, CUID: ds.Perm.CUID, CGID: ds.Perm.CGID,
		Mode: ds.Perm.Mode, Cbytes: ds.Cbytes, Qnum: ds.Qnum, Qbytes: ds.Qbytes, Lspid: ds.Lspid, Lrpid: ds.Lrpid,
	}
}

// stat is what msgctl_stat copies out.
func (q *refQueue) stat() refStat {
	return refStat{
		Key: q.key, UID: q.uid, GID: q.gid, CUID: q.cuid, CGID: q.cgid, Mode: q.mode,
		Cbytes: q.cbytes, Qnum: q.qnum, Qbytes: q.qbytes, Lspid: q.lspid, Lrpid: q.lrpid,
	}
}

// refNS is one IPC namespace's message queues (struct ipc_ids msg_ids plus
// the msg_ctl* sysctls).
type refNS struct {
	limits Limits      // every field set
	queues []*refQueue // every queue ever created, in creation order
}

// inUse is ids->in_use.
func (ns *refNS) inUse() int {
	n := 0
	for _, q := range ns.queues {
		if !q.removed {
			n++
		}
	}
	return n
}

// findKey is ipc_findkey.
func (ns *refNS) findKey(key Key) *refQueue {
	for _, q := range ns.queues {
		if !q.removed && q.key == key {
			return q
		}
	}
	return nil
}

// obtain is ipc_obtain_object_check: the live queue with that id, or nil
// (which every caller turns into EINVAL).
func (ns *refNS) obtain(id int32) *refQueue {
	for _, q := range ns.queues {
		if !q.removed && int(q.id) == int(id) {
			return q
		}
	}
	return nil
}

// refInGroupP is in_group_p: gid is the caller's group or a supplementary one.
func refInGroupP(c *Cred, gid uint32) bool {
	return c.GID == gid || slices.Contains(c.Groups, gid)
}

// refIpcperms is ipcperms: 0 if the caller may, -1 if not. flag is a C
// short, as in the kernel.
func refIpcperms(q *refQueue, c *Cred, flag int16) int {
	f := int32(flag)
	requested := f>>6 | f>>3 | f
	granted := int32(q.mode)
	if c.UID == q.cuid || c.UID == q.uid {
		granted >>= 6
	} else if refInGroupP(c, q.cgid) || refInGroupP(c, q.gid) {
		granted >>= 3
	}
	if requested&^granted&0o7 != 0 && c.Caps&CapIPCOwner == 0 {
		return -1
	}
	return 0
}

const (
	refSIRUGO = 0o444
	refSIWUGO = 0o222
)

// msgget is ksys_msgget: ipcget_new for IPC_PRIVATE, else ipcget_public.
// created reports whether newque made the queue; its id is then unknown
// (-1) until the caller records the real one.
func (ns *refNS) msgget(c *Cred, key Key, msgflg int32) (q *refQueue, created bool, err error) {
	if key == IPC_PRIVATE {
		q, err = ns.newque(c, key, msgflg)
		return q, err == nil, err
	}
	q = ns.findKey(key)
	if q == nil {
		if msgflg&IPC_CREAT == 0 {
			return nil, false, syscall.ENOENT
		}
		q, err = ns.newque(c, key, msgflg)
		return q, err == nil, err
	}
	if msgflg&IPC_CREAT != 0 && msgflg&IPC_EXCL != 0 {
		return nil, false, syscall.EEXIST
	}
	// ipc_check_perms (msg has no more_checks).
	if refIpcperms(q, c, int16(msgflg)) != 0 {
		return nil, false, syscall.EACCES
	}
	return q, false, nil
}

// newque, with ipc_addid's limit check.
func (ns *refNS) newque(c *Cred, key Key, msgflg int32) (*refQueue, error) {
	if ns.inUse() >= ns.limits.MsgMni {
		return nil, syscall.ENOSPC
	}
	q := &refQueue{
		id:     -1,
		key:    key,
		mode:   uint16(msgflg & 0o777),
		uid:    c.UID,
		gid:    c.GID,
		cuid:   c.UID,
		cgid:   c.GID,
		qbytes: uint64(ns.limits.MsgMnb),
	}
	ns.queues = append(ns.queues, q)
	return q, nil
}

// msgFitsInqueue is msg_fits_inqueue.
func refMsgFitsInqueue(msq *refQueue, msgsz int) bool {
	return uint64(msgsz)+msq.cbytes <= msq.qbytes && 1+msq.qnum <= msq.qbytes
}

// msgsnd is do_msgsnd for the calls that cannot block.
func (ns *refNS) msgsnd(c *Cred, msqid int32, mtype int64, mtext []byte, msgflg int32) error {
	msgsz := len(mtext)
	if msgsz > ns.limits.MsgMax || msgsz < 0 || msqid < 0 {
		return syscall.EINVAL
	}
	if mtype < 1 {
		return syscall.EINVAL
	}
	msg := refMsg{mtype: mtype, text: bytes.Clone(mtext)} // load_msg
	msq := ns.obtain(msqid)
	if msq == nil {
		return syscall.EINVAL
	}
	if refIpcperms(msq, c, refSIWUGO) != 0 {
		return syscall.EACCES
	}
	if !refMsgFitsInqueue(msq, msgsz) {
		if msgflg&IPC_NOWAIT != 0 {
			return syscall.EAGAIN
		}
		panic("reference model: a msgsnd that would block is not modelled")
	}
	msq.lspid = c.PID
	// pipelined_send finds no receiver: none ever waits in the model.
	msq.messages = append(msq.messages, msg)
	msq.cbytes += uint64(msgsz)
	msq.qnum++
	return nil
}

// Search modes (SEARCH_ANY ... SEARCH_NUMBER).
const (
	refSearchAny = iota + 1
	refSearchEqual
	refSearchNotEqual
	refSearchLessEqual
	refSearchNumber
)

// refConvertMode is convert_mode.
func refConvertMode(msgtyp *int64, msgflg int32) int {
	if msgflg&MSG_COPY != 0 {
		return refSearchNumber
	}
	// msgtyp = 0 => get first; > 0 => first of that type; < 0 => the least
	// type not above abs(msgtyp).
	if *msgtyp == 0 {
		return refSearchAny
	}
	if *msgtyp < 0 {
		if *msgtyp == math.MinInt64 { // -LONG_MIN is undefined
			*msgtyp = math.MaxInt64
		} else {
			*msgtyp = -*msgtyp
		}
		return refSearchLessEqual
	}
	if msgflg&MSG_EXCEPT != 0 {
		return refSearchNotEqual
	}
	return refSearchEqual
}

// refTestmsg is testmsg.
func refTestmsg(msg *refMsg, typ int64, mode int) bool {
	switch mode {
	case refSearchAny, refSearchNumber:
		return true
	case refSearchLessEqual:
		return msg.mtype <= typ
	case refSearchEqual:
		return msg.mtype == typ
	case refSearchNotEqual:
		return msg.mtype != typ
	}
	return false
}

// refFindMsg is find_msg: the index of the message msgrcv takes, or -1.
func refFindMsg(msq *refQueue, msgtyp *int64, mode int) int {
	found := -1
	var count int64
	for i := range msq.messages {
		msg := &msq.messages[i]
		if refTestmsg(msg, *msgtyp, mode) {
			if mode == refSearchLessEqual && msg.mtype != 1 {
				*msgtyp = msg.mtype - 1
				found = i
			} else if mode == refSearchNumber {
				if *msgtyp == count {
					return i
				}
			} else {
				return i
			}
			count++
		}
	}
	return found
}

// msgrcv is do_msgrcv with do_msg_fill, for the calls that cannot block.
// It returns what do_msg_fill copies out: the type and min(bufsz, m_ts)
// bytes of text.
func (ns *refNS) msgrcv(c *Cred, msqid int32, bufsz int, msgtyp int64, msgflg int32) (n int, mtype int64, text []byte, err error) {
	if msqid < 0 || bufsz < 0 {
		return -1, 0, nil, syscall.EINVAL
	}
	copyTS := -1 // prepare_copy's m_ts, with MSG_COPY
	if msgflg&MSG_COPY != 0 {
		if msgflg&MSG_EXCEPT != 0 || msgflg&IPC_NOWAIT == 0 {
			return -1, 0, nil, syscall.EINVAL
		}
		copyTS = min(bufsz, ns.limits.MsgMax)
	}
	mode := refConvertMode(&msgtyp, msgflg)

	msq := ns.obtain(msqid)
	if msq == nil {
		return -1, 0, nil, syscall.EINVAL
	}
	if refIpcperms(msq, c, refSIRUGO) != 0 {
		return -1, 0, nil, syscall.EACCES
	}
	i := refFindMsg(msq, &msgtyp, mode)
	if i < 0 {
		if msgflg&IPC_NOWAIT != 0 {
			return -1, 0, nil, syscall.ENOMSG
		}
		panic("reference model: a msgrcv that would block is not modelled")
	}
	msg := msq.messages[i]
	if bufsz < len(msg.text) && msgflg&MSG_NOERROR == 0 {
		return -1, 0, nil, syscall.E2BIG
	}
	if msgflg&MSG_COPY != 0 {
		// copy_msg: the copy has room for min(bufsz, msgmax) bytes.
		if len(msg.text) > copyTS {
			return -1, 0, nil, syscall.EINVAL
		}
	} else {
		msq.messages = slices.Delete(msq.messages, i, i+1)
		msq.qnum--
		msq.lrpid = c.PID
		msq.cbytes -= uint64(len(msg.text))
		// ss_wakeup finds no sender: none ever waits in the model.
	}
	n = min(bufsz, len(msg.text))
	return n, msg.mtype, bytes.Clone(msg.text[:n]), nil
}

// msgctlStat is msgctl_stat for IPC_STAT.
func (ns *refNS) msgctlStat(c *Cred, msqid int32) (refStat, error) {
	if msqid < 0 {
		return refStat{}, syscall.EINVAL
	}
	msq := ns.obtain(msqid)
	if msq == nil {
		return refStat{}, syscall.EINVAL
	}
	if refIpcperms(msq, c, refSIRUGO) != 0 {
		return refStat{}, syscall.EACCES
	}
	return msq.stat(), nil
}

// msgctlDown is msgctl_down for IPC_RMID and IPC_SET, with
// ipcctl_obtain_check, ipc_update_perm and freeque. ds is nil for IPC_RMID.
func (ns *refNS) msgctlDown(c *Cred, msqid int32, cmd int, ds *MsqidDS) error {
	if msqid < 0 {
		return syscall.EINVAL
	}
	msq := ns.obtain(msqid)
	if msq == nil {
		return syscall.EINVAL
	}
	if !(c.UID == msq.cuid || c.UID == msq.uid || c.Caps&CapSysAdmin != 0) {
		return syscall.EPERM
	}
	switch cmd {
	case IPC_RMID: // freeque
		msq.removed = true
		msq.messages = nil
		msq.qnum, msq.cbytes = 0, 0
		return nil
	case IPC_SET:
		msgQbytes := int32(uint32(ds.Qbytes)) // msgctl_down takes an int
		if uint32(msgQbytes) > uint32(ns.limits.MsgMnb) && c.Caps&CapSysResource == 0 {
			return syscall.EPERM
		}
		if ds.Perm.UID == math.MaxUint32 || ds.Perm.GID == math.MaxUint32 { // !uid_valid || !gid_valid
			return syscall.EINVAL
		}
		msq.uid, msq.gid = ds.Perm.UID, ds.Perm.GID
		msq.mode = msq.mode&^0o777 | ds.Perm.Mode&0o777
		msq.qbytes = uint64(int64(msgQbytes))
		// expunge_all and ss_wakeup find nobody waiting.
		return nil
	}
	panic("reference model: unmodelled msgctl command")
}

// ---------------------------------------------------------------------------
// The harness: one operation applied to the model and to a real namespace.

// refCaller is one identity the differential test acts as.
type refCaller struct {
	name string
	cred Cred
}

var refCallers = []refCaller{
	{"owner", Cred{UID: 1000, GID: 1000, PID: 11}},
	{"member", Cred{UID: 2000, GID: 1000, PID: 13}},
	{"suppl", Cred{UID: 2001, GID: 3000, Groups: []uint32{1000}, PID: 14}},
	{"stranger", Cred{UID: 3000, GID: 3000, PID: 15}},
	{"uid0nocaps", Cred{UID: 0, GID: 0, PID: 16}},
	{"ipcowner", Cred{UID: 4000, GID: 4000, PID: 17, Caps: CapIPCOwner}},
	{"admin", Cred{UID: 0, GID: 0, PID: 99, Caps: AllCaps}},
}

const refOwner = 0 // index of the namespace's default caller in refCallers

type refOpKind uint8

const (
	refGet refOpKind = iota
	refSnd
	refRcv
	refStatOp
	refSetOp
	refRmid
)

// refOp is one system call.
type refOp struct {
	kind   refOpKind
	caller int     // index in refCallers
	key    Key     // msgget
	flg    int     // msgget, msgsnd, msgrcv
	id     int     // everything but msgget
	mtype  int64   // msgsnd: the type; msgrcv: msgtyp
	text   []byte  // msgsnd
	bufsz  int     // msgrcv
	set    MsqidDS // IPC_SET: Perm.UID, Perm.GID, Perm.Mode and Qbytes
}

// refResult is what a call returned.
type refResult struct {
	err   error
	ret   int // msgget: the id; msgrcv: the byte count; msgctl: the result
	mtype int64
	text  []byte
	stat  refStat
}

func (a refResult) equal(b refResult) bool {
	return a.err == b.err && a.ret == b.ret && a.mtype == b.mtype && bytes.Equal(a.text, b.text) && a.stat == b.stat
}

type refHarness struct {
	t       testing.TB
	label   string
	model   *refNS
	ns      *Namespace
	views   []*Namespace // one per refCallers entry
	inspect *Namespace   // Root, for checking state
	everIDs map[int]bool // every id the namespace handed out
	profile refProfile   // the mix of random operations
	log     []refLogEntry
}

// refLogEntry is one operation made, formatted only if the test fails.
type refLogEntry struct {
	op      refOp
	target  refName // the queue op.id named before the call
	got     refResult
	created refName // the queue a msgget's result names after the call
}

// refName is which model queue an id named at some point.
type refName struct {
	q       int // index in refNS.queues, or -1
	removed bool
}

// refWideFlag has only bits above C's int: or-ed into valid flags it keeps
// their low 32 bits (the ones a truncating implementation would see).
const refWideFlag = 1 << 32

// refCInt reports whether v fits C's int.
func refCInt(v int) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

func (h *refHarness) nameOf(id int) refName {
	for i, q := range h.model.queues {
		if q.id >= 0 && q.id == id {
			return refName{q: i, removed: q.removed}
		}
	}
	return refName{q: -1}
}

// format describes an id for the log, with the model queue it named.
func (n refName) format(id int) string {
	s := fmt.Sprint(id)
	switch {
	case n.q < 0:
		return s
	case n.removed:
		return fmt.Sprintf("%s=q%d(removed)", s, n.q)
	}
	return fmt.Sprintf("%s=q%d", s, n.q)
}

func (e refLogEntry) String() string {
	return fmt.Sprintf("as %-10s %s = %s", refCallers[e.op.caller].name, refDescribe(e.op, e.target),
		refDescribeResult(e.op, e.got, e.created))
}

// refLimits are small, so that queues fill up and the namespace runs out of
// queues.
var refLimits = Limits{MsgMax: 16, MsgMnb: 64, MsgMni: 6}

func newRefHarness(t testing.TB, label string) *refHarness {
	h := &refHarness{
		t:       t,
		label:   label,
		model:   &refNS{limits: refLimits},
		ns:      NewNamespace(WithCred(refCallers[refOwner].cred), WithLimits(refLimits)),
		everIDs: make(map[int]bool),
	}
	for _, c := range refCallers {
		h.views = append(h.views, h.ns.As(c.cred))
	}
	h.inspect = h.ns.As(Root)
	return h
}

func (h *refHarness) fail(format string, args ...any) {
	h.t.Helper()
	var log strings.Builder
	for i, e := range h.log {
		fmt.Fprintf(&log, "%4d %v\n", i, e)
	}
	h.t.Fatalf("%s: %s\noperations so far (results are the namespace's):\n%s",
		h.label, fmt.Sprintf(format, args...), log.String())
}

func refFlagString(flg int) string {
	var parts []string
	for _, f := range []struct {
		bit  int
		name string
	}{
		{IPC_CREAT, "IPC_CREAT"}, {IPC_EXCL, "IPC_EXCL"}, {IPC_NOWAIT, "IPC_NOWAIT"},
		{MSG_NOERROR, "MSG_NOERROR"}, {MSG_EXCEPT, "MSG_EXCEPT"}, {MSG_COPY, "MSG_COPY"},
	} {
		if flg&f.bit != 0 {
			parts = append(parts, f.name)
			flg &^= f.bit
		}
	}
	if flg != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#o", flg))
	}
	return strings.Join(parts, "|")
}

func refDescribe(op refOp, target refName) string {
	switch op.kind {
	case refGet:
		return fmt.Sprintf("msgget(key %d, %s)", op.key, refFlagString(op.flg))
	case refSnd:
		return fmt.Sprintf("msgsnd(%s, mtype %d, %q, %s)", target.format(op.id), op.mtype, op.text, refFlagString(op.flg))
	case refRcv:
		return fmt.Sprintf("msgrcv(%s, bufsz %d, msgtyp %d, %s)", target.format(op.id), op.bufsz, op.mtype, refFlagString(op.flg))
	case refStatOp:
		return fmt.Sprintf("msgctl(%s, IPC_STAT)", target.format(op.id))
	case refSetOp:
		return fmt.Sprintf("msgctl(%s, IPC_SET, uid %d gid %d mode %#o qbytes %d)", target.format(op.id),
			op.set.Perm.UID, op.set.Perm.GID, op.set.Perm.Mode, op.set.Qbytes)
	case refRmid:
		return fmt.Sprintf("msgctl(%s, IPC_RMID)", target.format(op.id))
	}
	return "?"
}

func refDescribeResult(op refOp, r refResult, created refName) string {
	if op.kind == refSnd {
		if r.err != nil {
			return fmt.Sprintf("%v (%s)", r.err, refErrnoName(r.err))
		}
		return "ok"
	}
	if r.err != nil {
		return fmt.Sprintf("%d, %v (%s)", r.ret, r.err, refErrnoName(r.err))
	}
	switch op.kind {
	case refGet:
		return created.format(r.ret)
	case refRcv:
		return fmt.Sprintf("n %d, mtype %d, %q", r.ret, r.mtype, r.text)
	case refStatOp:
		return fmt.Sprintf("%d, %v", r.ret, r.stat)
	}
	return fmt.Sprint(r.ret)
}

func refErrnoName(err error) string {
	for _, e := range []struct {
		errno syscall.Errno
		name  string
	}{
		{syscall.EINVAL, "EINVAL"}, {syscall.EACCES, "EACCES"}, {syscall.EPERM, "EPERM"},
		{syscall.EEXIST, "EEXIST"}, {syscall.ENOENT, "ENOENT"}, {syscall.ENOSPC, "ENOSPC"},
		{syscall.EAGAIN, "EAGAIN"}, {syscall.ENOMSG, "ENOMSG"}, {syscall.E2BIG, "E2BIG"},
		{syscall.EIDRM, "EIDRM"}, {syscall.EFAULT, "EFAULT"},
	} {
		if err == e.errno {
			return e.name
		}
	}
	return "?"
}

const refSentinel = 0xA5 // fills receive buffers, to see what was written

// apply makes the call on the namespace and in the model, fails the test if
// they differ, and returns the namespace's result.
func (h *refHarness) apply(op refOp) refResult {
	h.t.Helper()
	c := refCallers[op.caller].cred
	view := h.views[op.caller]
	entry := refLogEntry{op: op, target: h.nameOf(op.id)}
	entry.op.text = bytes.Clone(op.text)
	desc := func() string {
		return fmt.Sprintf("as %s %s", refCallers[op.caller].name, refDescribe(entry.op, entry.target))
	}
	before := h.snapshot(op)
	var got, want refResult
	// msqid, msgflg and cmd are C ints: a Go int outside the int32 range
	// is EINVAL before anything else (the model takes int32s).
	cInts := refCInt(op.flg) && (op.kind == refGet || refCInt(op.id))
	switch op.kind {
	case refGet:
		got.ret, got.err = view.Msgget(op.key, op.flg)
		var q *refQueue
		var created bool
		err := error(syscall.EINVAL)
		if cInts {
			q, created, err = h.model.msgget(&c, op.key, int32(op.flg))
		}
		want.ret, want.err = -1, err
		if err == nil {
			if created && got.err == nil {
				if got.ret < 0 || got.ret > math.MaxInt32 || h.everIDs[got.ret] {
					h.fail("%s created a queue with id %d, which is not a fresh id", desc(), got.ret)
				}
				q.id = got.ret
				h.everIDs[got.ret] = true
			}
			want.ret = q.id
		}
	case refSnd:
		got.err = view.Msgsnd(op.id, op.mtype, op.text, op.flg)
		want.err = syscall.EINVAL
		if cInts {
			want.err = h.model.msgsnd(&c, int32(op.id), op.mtype, op.text, int32(op.flg))
		}
	case refRcv:
		buf := bytes.Repeat([]byte{refSentinel}, op.bufsz)
		got.ret, got.mtype, got.err = view.Msgrcv(op.id, buf, op.mtype, op.flg)
		if got.ret >= 0 && got.ret <= len(buf) {
			if got.err == nil {
				got.text = bytes.Clone(buf[:got.ret])
			}
			if i := slices.IndexFunc(buf[got.ret:], func(b byte) bool { return b != refSentinel }); i >= 0 {
				h.fail("%s wrote byte %d of the buffer, past the %d it returned", desc(), got.ret+i, got.ret)
			}
		} else if got.ret == -1 && !bytes.Equal(buf, bytes.Repeat([]byte{refSentinel}, op.bufsz)) {
			h.fail("%s failed but wrote into the buffer", desc())
		}
		want.ret, want.err = -1, syscall.EINVAL
		if cInts {
			want.ret, want.mtype, want.text, want.err = h.model.msgrcv(&c, int32(op.id), op.bufsz, op.mtype, int32(op.flg))
		}
	case refStatOp:
		var ds MsqidDS
		got.ret, got.err = view.Msgctl(op.id, IPC_STAT, &ds)
		if got.err == nil {
			got.stat = refStatOf(&ds)
		}
		want.err = syscall.EINVAL
		if cInts {
			want.stat, want.err = h.model.msgctlStat(&c, int32(op.id))
		}
		want.ret = refCtlRet(want.err)
	case refSetOp:
		ds := op.set
		got.ret, got.err = view.Msgctl(op.id, IPC_SET, &ds)
		arg := op.set
		if cInts {
			want.err = h.model.msgctlDown(&c, int32(op.id), IPC_SET, &arg)
		} else {
			want.err = syscall.EINVAL
		}
		want.ret = refCtlRet(want.err)
	case refRmid:
		got.ret, got.err = view.Msgctl(op.id, IPC_RMID, nil)
		if cInts {
			want.err = h.model.msgctlDown(&c, int32(op.id), IPC_RMID, nil)
		} else {
			want.err = syscall.EINVAL
		}
		want.ret = refCtlRet(want.err)
	}
	entry.got = got
	if op.kind == refGet && got.err == nil {
		entry.created = h.nameOf(got.ret)
	}
	h.log = append(h.log, entry)
	if !got.equal(want) {
		h.fail("mismatch at operation %d: %s\n  namespace: %s\n  model:     %s\n  the queue before, in the model: %s",
			len(h.log)-1, desc(), refDescribeResult(op, got, entry.created),
			refDescribeResult(op, want, h.nameOf(want.ret)), refDumpQueue(before))
	}
	// The namespace must have copied the text: scribbling on the caller's
	// buffer must change nothing.
	for i := range op.text {
		op.text[i] = '#'
	}
	return got
}

// snapshot copies the model queue op names, if any, for refDumpQueue.
func (h *refHarness) snapshot(op refOp) *refQueue {
	var q *refQueue
	if op.kind == refGet {
		if op.key != IPC_PRIVATE {
			q = h.model.findKey(op.key)
		}
	} else {
		q = h.model.obtain(int32(op.id))
	}
	if q == nil {
		return nil
	}
	c := *q
	c.messages = slices.Clone(q.messages)
	return &c
}

// refDumpQueue describes a model queue: its state and its messages.
func refDumpQueue(q *refQueue) string {
	if q == nil {
		return "none"
	}
	var msgs []string
	for _, m := range q.messages {
		msgs = append(msgs, fmt.Sprintf("%d:%q", m.mtype, m.text))
	}
	return fmt.Sprintf("%v [%s]", q.stat(), strings.Join(msgs, " "))
}

func refCtlRet(err error) int {
	if err != nil {
		return -1
	}
	return 0
}

// checkState compares every live queue's IPC_STAT fields, and MSG_INFO's
// usage figures, with the model.
func (h *refHarness) checkState() {
	h.t.Helper()
	var live, msgs, nbytes uint64
	for i, q := range h.model.queues {
		if q.removed {
			continue
		}
		live++
		msgs += q.qnum
		nbytes += q.cbytes
		var ds MsqidDS
		if _, err := h.inspect.Msgctl(q.id, IPC_STAT, &ds); err != nil {
			h.fail("IPC_STAT of live queue q%d (id %d): %v", i, q.id, err)
		}
		if got, want := refStatOf(&ds), q.stat(); got != want {
			h.fail("state of q%d (id %d) differs:\n  namespace: %v\n  model:     %v", i, q.id, got, want)
		}
	}
	var info MsgInfo
	if _, err := h.inspect.MsgctlInfo(MSG_INFO, &info); err != nil {
		h.fail("MSG_INFO: %v", err)
	}
	if uint64(info.Msgpool) != live || uint64(info.Msgmap) != msgs || uint64(info.Msgtql) != nbytes {
		h.fail("MSG_INFO says %d queues, %d messages, %d bytes; the model has %d, %d, %d",
			info.Msgpool, info.Msgmap, info.Msgtql, live, msgs, nbytes)
	}
}

// checkContents compares every live queue's messages with the model's,
// reading them with MSG_COPY.
func (h *refHarness) checkContents() {
	h.t.Helper()
	buf := make([]byte, h.model.limits.MsgMax)
	for i, q := range h.model.queues {
		if q.removed {
			continue
		}
		for k, m := range q.messages {
			n, mtype, err := h.inspect.Msgrcv(q.id, buf, int64(k), MSG_COPY|IPC_NOWAIT)
			if err != nil || mtype != m.mtype || !bytes.Equal(buf[:n], m.text) {
				h.fail("message %d of q%d (id %d): namespace has (%d, %q, %v), model has (%d, %q)",
					k, i, q.id, mtype, buf[:max(n, 0)], err, m.mtype, m.text)
			}
		}
		if _, _, err := h.inspect.Msgrcv(q.id, buf, int64(len(q.messages)), MSG_COPY|IPC_NOWAIT); err != syscall.ENOMSG {
			h.fail("q%d (id %d) has more than the model's %d messages: MSG_COPY past them gave %v",
				i, q.id, len(q.messages), err)
		}
	}
}

// ---------------------------------------------------------------------------
// Random operations.

func (h *refHarness) live() []*refQueue {
	var qs []*refQueue
	for _, q := range h.model.queues {
		if !q.removed {
			qs = append(qs, q)
		}
	}
	return qs
}

var (
	refOpenModes   = []int{0o600, 0o600, 0o666, 0o666, 0o660, 0o644, 0o777}
	refStrictModes = []int{0o640, 0o604, 0o622, 0o400, 0o200, 0}
	refMsgtyps     = []int64{0, 0, 1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6, math.MinInt64, math.MaxInt64, -math.MaxInt64}
	refQbytes      = []uint64{0, 1, 2, 3, 4, 8, 16, 24, 32, 40, 48, 63, 64, 64, 64, 65, 100}
)

func refPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// refProfile is the mix of operations one seed makes, drawn per seed so
// that some seeds fill their queues, some drain them, some mostly fail on
// permissions and some mostly churn queues.
type refProfile struct {
	sendPct, recvPct int // shares of msgsnd and msgrcv, in percent
	getPct, setPct   int // shares of msgget and IPC_SET; the rest is IPC_STAT and IPC_RMID
	rmidPct          int
	ownerPct         int // share of calls made as the owner
	strictPct        int // share of modes that deny someone something
	smallPct         int // share of msgsnd texts of 0 to 3 bytes
	badIDPct         int // share of calls naming a removed or invalid id
}

func refRandomProfile(r *rand.Rand) refProfile {
	p := refProfile{
		sendPct:   25 + r.IntN(36),
		recvPct:   20 + r.IntN(26),
		ownerPct:  50 + r.IntN(46),
		strictPct: 5 + r.IntN(36),
		smallPct:  10 + r.IntN(71),
		badIDPct:  3 + r.IntN(20),
	}
	rest := 100 - p.sendPct - p.recvPct
	p.getPct = rest * (25 + r.IntN(20)) / 100
	p.setPct = rest * (20 + r.IntN(20)) / 100
	p.rmidPct = 1 + r.IntN(max(1, (rest-p.getPct-p.setPct)/2))
	return p
}

func (h *refHarness) randomMode(r *rand.Rand) int {
	if r.IntN(100) < h.profile.strictPct {
		return refPick(r, refStrictModes)
	}
	return refPick(r, refOpenModes)
}

func (h *refHarness) randomCaller(r *rand.Rand) int {
	if r.IntN(100) < h.profile.ownerPct {
		return refOwner
	}
	return r.IntN(len(refCallers))
}

// randomID is mostly a live queue's id, sometimes a removed queue's, and
// sometimes one that is wrong in another way: negative, never used, stale,
// or a live id with junk in the bits above the C int.
func (h *refHarness) randomID(r *rand.Rand) int {
	live := h.live()
	x := r.IntN(100)
	if x >= h.profile.badIDPct && len(live) > 0 {
		return refPick(r, live).id
	}
	if x < h.profile.badIDPct/2 {
		var removed []int
		for _, q := range h.model.queues {
			if q.removed {
				removed = append(removed, q.id)
			}
		}
		if len(removed) > 0 {
			return refPick(r, removed)
		}
	}
	junk := []int{-1, 0, 1, 12345, math.MaxInt32, 1 << 31, -1 << 32, math.MinInt32 - 1, math.MinInt64, math.MaxInt64}
	if len(live) > 0 {
		id := refPick(r, live).id
		junk = append(junk, id+1<<15, id+1, id+1<<32, id-1<<32, id+1<<24)
	}
	return refPick(r, junk)
}

func (h *refHarness) randomOp(r *rand.Rand) refOp {
	op := refOp{caller: h.randomCaller(r)}
	maxSize := h.model.limits.MsgMax
	p := h.profile
	x := r.IntN(100)
	if len(h.live()) == 0 && r.IntN(2) == 0 {
		x = 0
	}
	switch {
	case x < p.getPct:
		op.kind = refGet
		op.key = IPC_PRIVATE
		if r.IntN(5) > 0 {
			op.key = Key(1 + r.IntN(3))
		}
		op.flg = h.randomMode(r) | refPick(r, []int{0, IPC_CREAT, IPC_CREAT, IPC_CREAT | IPC_EXCL, IPC_EXCL})
		if r.IntN(10) == 0 {
			op.flg |= refPick(r, []int{IPC_NOWAIT, MSG_NOERROR, 0o7000, refWideFlag})
		}
	case x < p.getPct+p.sendPct:
		op.kind = refSnd
		op.id = h.randomID(r)
		op.flg = IPC_NOWAIT
		if r.IntN(40) == 0 {
			op.flg |= refWideFlag
		}
		op.mtype = int64(1 + r.IntN(6))
		if r.IntN(8) == 0 {
			op.mtype = refPick(r, []int64{0, -1, math.MinInt64, math.MaxInt64, math.MaxInt64})
		}
		size := r.IntN(4)
		if r.IntN(100) >= p.smallPct {
			switch y := r.IntN(10); {
			case y < 5:
				size = r.IntN(maxSize + 1)
			case y < 6:
				size = 0
			case y < 7:
				size = maxSize
			case y < 8:
				size = maxSize + 1
			default:
				size = maxSize - r.IntN(3)
			}
		}
		op.text = make([]byte, size)
		for i := range op.text {
			op.text[i] = byte('a' + r.IntN(26))
		}
	case x < p.getPct+p.sendPct+p.recvPct:
		op.kind = refRcv
		op.id = h.randomID(r)
		q := h.model.obtain(int32(op.id))
		op.flg = IPC_NOWAIT
		if r.IntN(40) == 0 {
			op.flg |= refWideFlag
		}
		if r.IntN(2) == 0 {
			op.flg |= MSG_NOERROR
		}
		if r.IntN(3) == 0 {
			op.flg |= MSG_EXCEPT
		}
		if r.IntN(4) == 0 {
			op.flg |= MSG_COPY
			if r.IntN(10) == 0 {
				op.flg &^= IPC_NOWAIT // EINVAL before anything else: cannot block
			}
		}
		op.mtype = refPick(r, refMsgtyps)
		if op.flg&MSG_COPY != 0 && r.IntN(2) == 0 {
			n := 0
			if q != nil {
				n = len(q.messages)
			}
			op.mtype = int64(r.IntN(n+2)) - int64(r.IntN(2))
		}
		switch y := r.IntN(10); {
		case y < 3:
			op.bufsz = r.IntN(maxSize + 1)
		case y < 5:
			op.bufsz = r.IntN(4)
		case y < 7 && q != nil && len(q.messages) > 0:
			op.bufsz = max(0, len(refPick(r, q.messages).text)+r.IntN(3)-1)
		case y < 8:
			op.bufsz = maxSize
		case y < 9:
			op.bufsz = maxSize + 1
		default:
			op.bufsz = 3*maxSize + r.IntN(10)
		}
	case x >= 100-p.rmidPct:
		op.kind = refRmid
		op.id = h.randomID(r)
	case x < p.getPct+p.sendPct+p.recvPct+p.setPct:
		op.kind = refSetOp
		op.id = h.randomID(r)
		uid, gid := refCallers[refOwner].cred.UID, refCallers[refOwner].cred.GID
		if q := h.model.obtain(int32(op.id)); q != nil {
			uid, gid = q.uid, q.gid
		}
		if r.IntN(6) == 0 {
			uid = refPick(r, []uint32{1000, 2000, 3000, 0, math.MaxUint32})
		}
		if r.IntN(6) == 0 {
			gid = refPick(r, []uint32{1000, 3000, 4000, math.MaxUint32})
		}
		op.set.Perm.UID, op.set.Perm.GID = uid, gid
		op.set.Perm.Mode = uint16(h.randomMode(r))
		if r.IntN(8) == 0 {
			op.set.Perm.Mode |= 0o7000
		}
		op.set.Qbytes = refPick(r, refQbytes)
		if r.IntN(30) == 0 {
			op.set.Qbytes = refPick(r, []uint64{1<<32 + 5, 1 << 31})
		}
		// Fields IPC_SET ignores.
		op.set.Perm.Key, op.set.Perm.CUID, op.set.Cbytes, op.set.Qnum, op.set.Lspid = 77, 77, 77, 77, 77
	default:
		op.kind = refStatOp
		op.id = h.randomID(r)
	}
	return op
}

// ---------------------------------------------------------------------------
// The tests.

func TestReferenceModel(t *testing.T) {
	seeds, ops := 200, 200
	if testing.Short() {
		seeds = 40
	}
	start := time.Now()
	for seed := range uint64(seeds) {
		h := newRefHarness(t, "")
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		h.profile = refRandomProfile(r)
		h.label = fmt.Sprintf("seed %d (profile %+v)", seed, h.profile)
		for i := range ops {
			h.apply(h.randomOp(r))
			h.checkState()
			if i%10 == 9 {
				h.checkContents()
			}
		}
		h.checkContents()
	}
	t.Logf("%d seeds x %d operations in %v", seeds, ops, time.Since(start))
}

// TestReferenceModelSelectionModes runs a hand-written sequence through
// the model and the namespace, checking that they agree and that both give
// the documented answer: one step for every msgrcv selection mode and
// error, and the queue-full rules of msgsnd.
func TestReferenceModelSelectionModes(t *testing.T) {
	h := newRefHarness(t, "hand-written sequence")
	as := func(caller string) int {
		i := slices.IndexFunc(refCallers, func(c refCaller) bool { return c.name == caller })
		if i < 0 {
			t.Fatalf("no caller %q", caller)
		}
		return i
	}
	type want struct {
		err   error
		mtype int64
		text  string
	}
	check := func(op refOp, w want) {
		t.Helper()
		got := h.apply(op)
		h.checkState()
		h.checkContents()
		if got.err != w.err || (w.err == nil && op.kind == refRcv && (got.mtype != w.mtype || string(got.text) != w.text)) {
			h.fail("%s: got (%v, %d, %q), documented (%v, %d, %q)",
				h.log[len(h.log)-1], got.err, got.mtype, got.text, w.err, w.mtype, w.text)
		}
	}
	ok := want{}

	get := func(caller string, key Key, flg int) refOp {
		return refOp{kind: refGet, caller: as(caller), key: key, flg: flg}
	}

	// msgget: IPC_CREAT creates, IPC_EXCL refuses an existing key, and
	// opening an existing queue checks the mode bits asked for.
	check(get("owner", 1, 0o640), want{err: syscall.ENOENT})
	check(get("owner", 1, IPC_EXCL|0o640), want{err: syscall.ENOENT})
	check(get("owner", 1, IPC_CREAT|IPC_EXCL|0o640), ok)
	check(get("stranger", 1, IPC_CREAT|IPC_EXCL|0o640), want{err: syscall.EEXIST})
	check(get("stranger", 1, 0), ok) // asking for nothing
	check(get("stranger", 1, 0o400), want{err: syscall.EACCES})
	check(get("member", 1, 0o400), ok)
	check(get("suppl", 1, 0o040), ok)                                   // a read bit in any triplet asks for read
	check(get("member", 1, IPC_CREAT|0o600), want{err: syscall.EACCES}) // the group has no write
	check(get("ipcowner", 1, 0o666), ok)

	id := h.apply(get("owner", IPC_PRIVATE, 0o640)).ret
	snd := func(mtype int64, text string) refOp {
		return refOp{kind: refSnd, caller: refOwner, id: id, mtype: mtype, text: []byte(text), flg: IPC_NOWAIT}
	}
	rcv := func(bufsz int, msgtyp int64, flg int) refOp {
		return refOp{kind: refRcv, caller: refOwner, id: id, bufsz: bufsz, mtype: msgtyp, flg: flg | IPC_NOWAIT}
	}

	// The queue, oldest first: c1 a1 b1 a2 e1-long b2 c2.
	for _, m := range mixed {
		check(snd(m.Type, m.Text), ok)
	}
	check(snd(0, "x"), want{err: syscall.EINVAL})                 // mtype < 1
	check(snd(1, "0123456789abcdefg"), want{err: syscall.EINVAL}) // longer than MsgMax
	check(refOp{kind: refSnd, caller: as("member"), id: id, mtype: 1, flg: IPC_NOWAIT}, want{err: syscall.EACCES})

	// MSG_COPY: msgtyp is a position; nothing is taken.
	check(rcv(16, 4, MSG_COPY), want{mtype: 5, text: "e1-long"})
	check(rcv(16, 0, MSG_COPY), want{mtype: 3, text: "c1"})
	check(rcv(16, 7, MSG_COPY), want{err: syscall.ENOMSG})            // past the end
	check(rcv(16, -1, MSG_COPY), want{err: syscall.ENOMSG})           // negative positions name nothing
	check(rcv(3, 4, MSG_COPY), want{err: syscall.E2BIG})              // short buffer
	check(rcv(3, 4, MSG_COPY|MSG_NOERROR), want{err: syscall.EINVAL}) // copy_msg refuses to truncate
	check(rcv(7, 4, MSG_COPY|MSG_NOERROR), want{mtype: 5, text: "e1-long"})
	check(rcv(16, 0, MSG_COPY|MSG_EXCEPT), want{err: syscall.EINVAL})                                         // MSG_EXCEPT excluded
	check(refOp{kind: refRcv, caller: refOwner, id: id, bufsz: 16, flg: MSG_COPY}, want{err: syscall.EINVAL}) // needs IPC_NOWAIT
	check(refOp{kind: refRcv, caller: refOwner, id: -1, bufsz: 16, flg: MSG_COPY}, want{err: syscall.EINVAL}) // before the lookup

	// A group member may read a 0640 queue; a stranger may not.
	check(refOp{kind: refRcv, caller: as("member"), id: id, bufsz: 16, mtype: 4, flg: IPC_NOWAIT}, want{err: syscall.ENOMSG})
	check(refOp{kind: refRcv, caller: as("stranger"), id: id, bufsz: 16, flg: IPC_NOWAIT}, want{err: syscall.EACCES})

	// msgtyp > 0: the oldest of that type. E2BIG leaves it queued;
	// MSG_NOERROR truncates and takes it.
	check(rcv(3, 5, 0), want{err: syscall.E2BIG})
	check(rcv(3, 5, MSG_NOERROR), want{mtype: 5, text: "e1-"})
	check(rcv(16, 5, 0), want{err: syscall.ENOMSG})
	// Queue: c1 a1 b1 a2 b2 c2.

	// msgtyp < 0: the oldest of the least type not above |msgtyp|, even if
	// a message of a larger allowed type (c1) is older.
	check(rcv(16, -3, 0), want{mtype: 1, text: "a1"})
	// Queue: c1 b1 a2 b2 c2.

	// MSG_EXCEPT: the oldest of any other type.
	check(rcv(16, 3, MSG_EXCEPT), want{mtype: 2, text: "b1"})
	// Queue: c1 a2 b2 c2. MSG_EXCEPT means nothing for msgtyp <= 0.
	check(rcv(16, -3, MSG_EXCEPT), want{mtype: 1, text: "a2"})
	// Queue: c1 b2 c2.
	check(rcv(16, 0, MSG_EXCEPT), want{mtype: 3, text: "c1"})
	// Queue: b2 c2.
	check(rcv(16, 4, 0), want{err: syscall.ENOMSG})

	// The bound of msgtyp < 0 is inclusive, and msgtyp MinInt64 is treated
	// as -MaxInt64: every type qualifies.
	check(snd(math.MaxInt64, "max"), ok)
	// Queue: b2 c2 max.
	check(rcv(16, -1, 0), want{err: syscall.ENOMSG}) // no type 1 left
	check(rcv(16, -2, 0), want{mtype: 2, text: "b2"})
	check(rcv(16, math.MinInt64, 0), want{mtype: 3, text: "c2"})
	check(rcv(16, math.MinInt64, 0), want{mtype: math.MaxInt64, text: "max"})
	check(rcv(16, 0, 0), want{err: syscall.ENOMSG})

	// MSG_EXCEPT when every message has that type.
	check(snd(6, "f"), ok)
	check(rcv(16, 6, MSG_EXCEPT), want{err: syscall.ENOMSG})
	check(rcv(16, 5, MSG_EXCEPT), want{mtype: 6, text: "f"})

	// msg_fits_inqueue bounds both the bytes and the number of messages by
	// qbytes.
	setOp := refOp{kind: refSetOp, caller: refOwner, id: id}
	setOp.set.Perm = IPCPerm{UID: 1000, GID: 1000, Mode: 0o600}
	setOp.set.Qbytes = 2
	check(setOp, ok)
	check(snd(1, ""), ok)
	check(snd(1, ""), ok)
	check(snd(1, ""), want{err: syscall.EAGAIN}) // 0 bytes fit, but 3 messages > qbytes 2
	check(rcv(0, 0, 0), want{mtype: 1, text: ""})
	check(snd(1, "abc"), want{err: syscall.EAGAIN}) // 3 bytes > qbytes 2
	check(snd(1, "ab"), ok)                         // 2+0 bytes <= 2 and 1+1 messages <= 2
	check(rcv(16, 0, 0), want{mtype: 1, text: ""})
	check(snd(2, ""), ok)                          // 0+2 bytes <= 2 and 1+1 messages <= 2
	check(snd(2, ""), want{err: syscall.EAGAIN})   // 0+2 bytes <= 2 but 1+2 messages > 2
	check(rcv(1, -2, 0), want{err: syscall.E2BIG}) // type 1 "ab" is the least type
	check(rcv(16, -2, 0), want{mtype: 1, text: "ab"})

	// IPC_RMID, then the id is gone.
	check(refOp{kind: refRmid, caller: as("stranger"), id: id}, want{err: syscall.EPERM})
	check(refOp{kind: refRmid, caller: refOwner, id: id}, ok)
	check(refOp{kind: refStatOp, caller: refOwner, id: id}, want{err: syscall.EINVAL})
	check(snd(1, "x"), want{err: syscall.EINVAL})
	check(rcv(16, 0, 0), want{err: syscall.EINVAL})
}
