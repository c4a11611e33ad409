//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel

import (
	"math"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/sysvmsg/msgq"
)

// Kernel makes the host kernel's message-queue system calls. Its zero value
// is ready to use; it holds no state, so one value serves any number of
// goroutines. Results and errors are the kernel's own: errors are bare
// syscall.Errno values. A call interrupted by a signal (EINTR; Go's
// runtime preempts threads with signals) is retried. A blocked msgsnd or
// msgrcv that is retried enters the kernel again at the tail of the
// waiters: it loses its place to callers that started waiting after it.
type Kernel struct{}

// New returns the host kernel as an msgq.IPC.
func New() msgq.IPC { return Kernel{} }

var _ msgq.IPC = Kernel{}

// Available reports whether this process can use the kernel's SysV message
// queues, by creating and removing a private queue: nil if it can, or the
// errno it got (ENOSYS where the kernel lacks them, EPERM or EACCES where a
// sandbox forbids them).
func Available() error {
	id, err := Kernel{}.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		return err
	}
	_, err = Kernel{}.Msgctl(id, msgq.IPC_RMID, nil)
	return err
}

// msqid64DS is the kernel's struct msqid64_ds on 64-bit asm-generic
// architectures (include/uapi/asm-generic/msgbuf.h, ipcbuf.h).
type msqid64DS struct {
	key                  int32
	uid, gid, cuid, cgid uint32
	mode                 uint32
	seq                  uint16
	_                    uint16
	_, _                 uint64
	stime, rtime, ctime  int64
	cbytes, qnum, qbytes uint64
	lspid, lrpid         int32
	_, _                 uint64
}

// msginfo is the kernel's struct msginfo (include/uapi/linux/msg.h).
type msginfo struct {
	msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql int32
	msgseg                                                  uint16
}

// The system calls, each retried while it fails with EINTR. A pointer
// argument is converted to uintptr in the call expression itself, as
// unsafe.Pointer's rules require.

func msgget(key, msgflg uintptr) (uintptr, error) {
	for {
		r, _, errno := syscall.Syscall(syscall.SYS_MSGGET, key, msgflg, 0)
		if errno != syscall.EINTR {
			return r, errnoErr(errno)
		}
	}
}

func msgsnd(msqid uintptr, msgp unsafe.Pointer, msgsz, msgflg uintptr) error {
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_MSGSND, msqid, uintptr(msgp), msgsz, msgflg, 0, 0)
		if errno != syscall.EINTR {
			return errnoErr(errno)
		}
	}
}

func msgrcv(msqid uintptr, msgp unsafe.Pointer, msgsz, msgtyp, msgflg uintptr) (uintptr, error) {
	for {
		r, _, errno := syscall.Syscall6(syscall.SYS_MSGRCV, msqid, uintptr(msgp), msgsz, msgtyp, msgflg, 0)
		if errno != syscall.EINTR {
			return r, errnoErr(errno)
		}
	}
}

func msgctl(msqid, cmd uintptr, buf unsafe.Pointer) (uintptr, error) {
	for {
		r, _, errno := syscall.Syscall(syscall.SYS_MSGCTL, msqid, cmd, uintptr(buf))
		if errno != syscall.EINTR {
			return r, errnoErr(errno)
		}
	}
}

// cInts reports whether every v fits C's int, as msqid, msgflg and cmd
// must: a Go int outside the int32 range is EINVAL here, as in
// msgq.Namespace, before the system call, which would otherwise see only
// its low 32 bits and could name another queue.
func cInts(v ...int) bool {
	for _, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return false
		}
	}
	return true
}

// errnoErr returns nil for errno 0, else the bare syscall.Errno.
func errnoErr(errno syscall.Errno) error {
	if errno == 0 {
		return nil
	}
	return errno
}

// Msgget is msgget(2). A msgflg outside the int32 range is EINVAL.
func (Kernel) Msgget(key msgq.Key, msgflg int) (int, error) {
	if !cInts(msgflg) {
		return -1, syscall.EINVAL
	}
	r, err := msgget(uintptr(key), uintptr(msgflg))
	if err != nil {
		return -1, err
	}
	return int(int32(r)), nil
}

// msgbufs recycles the buffers that hold a message's type and text
// together, as struct msgbuf does.
var msgbufs sync.Pool

func getMsgbuf(size int) *[]byte {
	if p, ok := msgbufs.Get().(*[]byte); ok && cap(*p) >= size {
		*p = (*p)[:size]
		return p
	}
	b := make([]byte, size)
	return &b
}

// Msgsnd is msgsnd(2). A msqid or msgflg outside the int32 range is EINVAL.
func (Kernel) Msgsnd(msqid int, mtype int64, mtext []byte, msgflg int) error {
	if !cInts(msqid, msgflg) {
		return syscall.EINVAL
	}
	p := getMsgbuf(8 + len(mtext))
	defer msgbufs.Put(p)
	buf := *p
	*(*int64)(unsafe.Pointer(&buf[0])) = mtype
	copy(buf[8:], mtext)
	err := msgsnd(uintptr(msqid), unsafe.Pointer(&buf[0]), uintptr(len(mtext)), uintptr(msgflg))
	return err
}

// Msgrcv is msgrcv(2), with len(mtext) as msgsz. A msqid or msgflg outside
// the int32 range is EINVAL.
func (Kernel) Msgrcv(msqid int, mtext []byte, msgtyp int64, msgflg int) (int, int64, error) {
	if !cInts(msqid, msgflg) {
		return -1, 0, syscall.EINVAL
	}
	p := getMsgbuf(8 + len(mtext))
	defer msgbufs.Put(p)
	buf := *p
	r, err := msgrcv(uintptr(msqid), unsafe.Pointer(&buf[0]), uintptr(len(mtext)), uintptr(msgtyp), uintptr(msgflg))
	if err != nil {
		return -1, 0, err
	}
	n := int(r)
	copy(mtext, buf[8:8+n])
	return n, *(*int64)(unsafe.Pointer(&buf[0])), nil
}

// Msgctl is msgctl(2) for the commands that name a queue. As with
// msgq.Namespace, IPC_INFO and MSG_INFO return the highest index in use and
// leave buf as it is; use MsgctlInfo for their figures. A msqid or cmd
// outside the int32 range is EINVAL.
func (Kernel) Msgctl(msqid int, cmd int, buf *msgq.MsqidDS) (int, error) {
	if !cInts(msqid, cmd) {
		return -1, syscall.EINVAL
	}
	var ptr unsafe.Pointer
	var ds msqid64DS
	var info msginfo
	switch int32(cmd) {
	case msgq.IPC_INFO, msgq.MSG_INFO:
		if buf != nil {
			ptr = unsafe.Pointer(&info)
		}
	default:
		if buf != nil {
			ds = toKernel(buf)
			ptr = unsafe.Pointer(&ds)
		}
	}
	r, err := msgctl(uintptr(msqid), uintptr(cmd), ptr)
	if err != nil {
		return -1, err
	}
	switch int32(cmd) {
	case msgq.IPC_STAT, msgq.MSG_STAT, msgq.MSG_STAT_ANY:
		*buf = fromKernel(&ds)
	}
	return int(int32(r)), nil
}

// MsgctlInfo is msgctl(2) with IPC_INFO or MSG_INFO. Like
// msgq.Namespace.MsgctlInfo it refuses other commands with EINVAL: they
// would write a msqid64_ds into buf (as is a cmd outside the int32 range).
func (Kernel) MsgctlInfo(cmd int, buf *msgq.MsgInfo) (int, error) {
	if !cInts(cmd) || cmd != msgq.IPC_INFO && cmd != msgq.MSG_INFO {
		return -1, syscall.EINVAL
	}
	var info msginfo
	var ptr unsafe.Pointer
	if buf != nil {
		ptr = unsafe.Pointer(&info)
	}
	r, err := msgctl(0, uintptr(cmd), ptr)
	if err != nil {
		return -1, err
	}
	*buf = msgq.MsgInfo{
		Msgpool: info.msgpool, Msgmap: info.msgmap, Msgmax: info.msgmax, Msgmnb: info.msgmnb,
		Msgmni: info.msgmni, Msgssz: info.msgssz, Msgtql: info.msgtql, Msgseg: info.msgseg,
	}
	return int(int32(r)), nil
}

// unixTime is the kernel's seconds as a time.Time, zero for never.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// seconds is the inverse of unixTime.
func seconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromKernel(ds *msqid64DS) msgq.MsqidDS {
	return msgq.MsqidDS{
		Perm: msgq.IPCPerm{
			Key: msgq.Key(ds.key), UID: ds.uid, GID: ds.gid, CUID: ds.cuid, CGID: ds.cgid,
			Mode: uint16(ds.mode), Seq: ds.seq,
		},
		Stime: unixTime(ds.stime), Rtime: unixTime(ds.rtime), Ctime: unixTime(ds.ctime),
		Cbytes: ds.cbytes, Qnum: ds.qnum, Qbytes: ds.qbytes,
		Lspid: ds.lspid, Lrpid: ds.lrpid,
	}
}

func toKernel(m *msgq.MsqidDS) msqid64DS {
	return msqid64DS{
		key: int32(m.Perm.Key), uid: m.Perm.UID, gid: m.Perm.GID, cuid: m.Perm.CUID, cgid: m.Perm.CGID,
		mode: uint32(m.Perm.Mode), seq: m.Perm.Seq,
		stime: seconds(m.Stime), rtime: seconds(m.Rtime), ctime: seconds(m.Ctime),
		cbytes: m.Cbytes, qnum: m.Qnum, qbytes: m.Qbytes,
		lspid: m.Lspid, lrpid: m.Lrpid,
	}
}
