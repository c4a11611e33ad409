//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sysvmsg/msgq"
)

// nextIDPath is the sysctl that makes the next msgget of this IPC
// namespace use a given id (CONFIG_CHECKPOINT_RESTORE; writing it needs
// CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over the namespace's user
// namespace). The kernel resets it to -1 once a msgget used it.
const nextIDPath = "/proc/sys/kernel/msg_next_id"

// Report says what a restore made and what of the snapshot it could not
// carry into the kernel.
type Report struct {
	Created []int  // the ids of the queues created, in snapshot order
	Lost    []Loss // the fields that differ from the snapshot, queue by queue
}

// Loss is one field of a snapshot that a restore could not carry.
type Loss struct {
	Field  string // its path, as in msgq.SnapshotError: "queues[2].stat.cuid", "allocator"
	Want   string // the snapshot's value
	Got    string // the kernel's, after the restore
	Always bool   // the kernel never lets a restore set it (see Restore); false: this restore could not
	Reason string
}

// String reads "FIELD: snapshot WANT, kernel GOT: REASON".
func (l Loss) String() string {
	return fmt.Sprintf("%s: snapshot %s, kernel %s: %s", l.Field, l.Want, l.Got, l.Reason)
}

// IncompleteError is Restore's error when the restore created every queue
// with its messages but could not carry some field it would have on
// another system or with more privilege (Loss.Always false).
type IncompleteError struct{ Report *Report }

// Error lists the losses that are not Always.
func (e *IncompleteError) Error() string {
	var b strings.Builder
	b.WriteString("kernel: restore incomplete:")
	for _, l := range e.Report.Lost {
		if !l.Always {
			b.WriteString(" ")
			b.WriteString(l.String())
			b.WriteString(";")
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns EPERM: what was not carried needed a privilege.
func (e *IncompleteError) Unwrap() error { return syscall.EPERM }

// Restore recreates the snapshot's queues in the calling process's IPC
// namespace: see RestoreReport, whose report it leaves out. It returns nil
// when every queue was created with its id, key, owner, mode, qbytes and
// messages; the fields the kernel never lets a restore set (creator,
// times, pids, the allocator: see RestoreReport) are not counted. When
// something else could not be carried (qbytes above kernel.msgmnb without
// CAP_SYS_RESOURCE) the queues stay and the error is an *IncompleteError
// saying what.
func Restore(s *msgq.Snapshot) error {
	r, err := RestoreReport(s)
	if err != nil {
		return err
	}
	for _, l := range r.Lost {
		if !l.Always {
			return &IncompleteError{Report: r}
		}
	}
	return nil
}

// RestoreReport recreates the snapshot's queues in the calling process's
// IPC namespace, as CRIU restores them: for each queue it writes the id to
// kernel.msg_next_id and calls msgget with the key (IPC_PRIVATE for a
// private queue) and IPC_CREAT|IPC_EXCL, checks that the kernel gave that
// id, sets qbytes to make room if the messages need it, sends the
// messages in order, and sets the owner's uid and gid, the mode and qbytes
// with IPC_SET. It then reads every queue back and reports each field that
// differs from the snapshot.
//
// The kernel cannot restore some fields, and they are reported (Always)
// whenever they differ: the creator (cuid, cgid: the restoring process's
// ids); the times (msg_ctime and msg_stime are when the restore created
// the queue and sent, msg_rtime stays 0); lspid (the restoring process)
// and lrpid (0); and the id allocator (the kernel's cyclic cursor and
// sequence number are not settable, so the next msgget may give another id
// than after the checkpoint). The namespace's limits (kernel.msgmax,
// msgmnb, msgmni) are not changed either: a difference is reported. A
// qbytes above kernel.msgmnb needs CAP_SYS_RESOURCE; without it the queue
// keeps kernel.msgmnb, reported with Always false.
//
// Everything is checked first: the snapshot as msgq.Restore checks it;
// that msg_next_id is writable; that no key or index of the snapshot is in
// use; that every text fits kernel.msgmax and every queue's messages fit
// the qbytes this process may set. If a later step fails (another process
// took an id, a call failed) the queues created so far are removed and the
// error says what happened; nothing is left half-restored.
func RestoreReport(s *msgq.Snapshot) (*Report, error) {
	if _, err := msgq.Restore(s); err != nil {
		return nil, err
	}
	runtime.LockOSThread() // msg_next_id and msgget must act in one namespace
	defer runtime.UnlockOSThread()
	k := Kernel{}
	var info msgq.MsgInfo
	if _, err := k.MsgctlInfo(msgq.IPC_INFO, &info); err != nil {
		return nil, fmt.Errorf("kernel: restore: msgctl(IPC_INFO): %w", err)
	}
	cred := msgq.CurrentCred()
	canRaise := cred.Has(msgq.CapSysResource)
	if err := precheck(k, s, &info, canRaise); err != nil {
		return nil, err
	}
	r := &Report{}
	for i := range s.Queues {
		if err := restoreQueue(k, &s.Queues[i], &info); err != nil {
			for _, id := range r.Created {
				k.Msgctl(id, msgq.IPC_RMID, nil)
			}
			return nil, fmt.Errorf("kernel: restore: queues[%d] (id %d): %w; the %d queues created before it were removed", i, s.Queues[i].ID, err, len(r.Created))
		}
		r.Created = append(r.Created, s.Queues[i].ID)
	}
	r.Lost = compare(k, s, &info)
	return r, nil
}

// precheck makes every check that can fail before anything is created.
func precheck(k Kernel, s *msgq.Snapshot, info *msgq.MsgInfo, canRaise bool) error {
	if len(s.Queues) == 0 {
		return nil
	}
	f, err := os.OpenFile(nextIDPath, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("kernel: restore: %s does not exist: this kernel was built without CONFIG_CHECKPOINT_RESTORE and cannot create a queue with a given id: %w", nextIDPath, syscall.ENOSYS)
		}
		return fmt.Errorf("kernel: restore: cannot write %s (it needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN in the IPC namespace's user namespace: run as root, or in a namespace of your own with unshare -Ur -i): %w", nextIDPath, err)
	}
	f.Close()
	var maxIdx int
	if maxIdx, err = k.MsgctlInfo(msgq.MSG_INFO, &msgq.MsgInfo{}); err != nil {
		return fmt.Errorf("kernel: restore: msgctl(MSG_INFO): %w", err)
	}
	var inUse msgq.MsgInfo
	k.MsgctlInfo(msgq.MSG_INFO, &inUse)
	if n := int(inUse.Msgpool) + len(s.Queues); n > int(info.Msgmni) {
		return fmt.Errorf("kernel: restore: %d queues exist and the snapshot has %d, more than kernel.msgmni (%d): %w", inUse.Msgpool, len(s.Queues), info.Msgmni, syscall.ENOSPC)
	}
	idxMask := 1<<15 - 1
	if info.Msgmni > 1<<15 {
		idxMask = 1<<24 - 1
	}
	for i := range s.Queues {
		q := &s.Queues[i]
		at := fmt.Sprintf("queues[%d] (id %d)", i, q.ID)
		if idx := q.ID & idxMask; idx <= maxIdx {
			var ds msgq.MsqidDS
			if id, err := k.Msgctl(idx, msgq.MSG_STAT_ANY, &ds); err == nil {
				return fmt.Errorf("kernel: restore: %s: index %d already holds queue %d (key %#x): restore into an empty IPC namespace: %w", at, idx, id, uint32(ds.Perm.Key), syscall.EEXIST)
			}
		}
		if key := q.Stat.Perm.Key; key != msgq.IPC_PRIVATE {
			if id, err := k.Msgget(key, 0); err == nil || err == syscall.EACCES {
				return fmt.Errorf("kernel: restore: %s: key %#x already names queue %d: %w", at, uint32(key), id, syscall.EEXIST)
			}
		}
		need := max(q.Stat.Cbytes, q.Stat.Qnum)
		for j, m := range q.Messages {
			if len(m.Text) > int(info.Msgmax) {
				return fmt.Errorf("kernel: restore: %s: message %d holds %d bytes, more than kernel.msgmax (%d): raise kernel.msgmax: %w", at, j, len(m.Text), info.Msgmax, syscall.EINVAL)
			}
		}
		if need > uint64(info.Msgmnb) && !canRaise {
			return fmt.Errorf("kernel: restore: %s: its messages need qbytes %d, above kernel.msgmnb (%d), and this process lacks CAP_SYS_RESOURCE to raise it: raise kernel.msgmnb or run with CAP_SYS_RESOURCE: %w", at, need, info.Msgmnb, syscall.EPERM)
		}
	}
	return nil
}

// restoreQueue creates one queue with its id and messages and sets its
// owner, mode and qbytes. On failure it removes the queue it created.
func restoreQueue(k Kernel, q *msgq.QueueSnapshot, info *msgq.MsgInfo) (err error) {
	if err := os.WriteFile(nextIDPath, []byte(strconv.Itoa(q.ID)), 0); err != nil {
		return fmt.Errorf("write %s: %w", nextIDPath, err)
	}
	id, err := k.Msgget(q.Stat.Perm.Key, msgq.IPC_CREAT|msgq.IPC_EXCL|0o600)
	if err != nil {
		os.WriteFile(nextIDPath, []byte("-1"), 0)
		return fmt.Errorf("msgget(%#x) after writing %s: %w", uint32(q.Stat.Perm.Key), nextIDPath, err)
	}
	defer func() {
		if err != nil {
			k.Msgctl(id, msgq.IPC_RMID, nil)
		}
	}()
	if id != q.ID {
		return fmt.Errorf("the kernel gave id %d instead (another process created a queue meanwhile, or the index was taken): %w", id, syscall.EEXIST)
	}
	var ds msgq.MsqidDS
	if _, err := k.Msgctl(id, msgq.IPC_STAT, &ds); err != nil {
		return fmt.Errorf("IPC_STAT: %w", err)
	}
	if need := max(q.Stat.Cbytes, q.Stat.Qnum); need > ds.Qbytes {
		ds.Qbytes = need
		if _, err := k.Msgctl(id, msgq.IPC_SET, &ds); err != nil {
			return fmt.Errorf("IPC_SET qbytes %d to make room for the messages: %w", need, err)
		}
	}
	for i, m := range q.Messages {
		if err := k.Msgsnd(id, m.Type, m.Text, msgq.IPC_NOWAIT); err != nil {
			return fmt.Errorf("msgsnd of message %d: %w", i, err)
		}
	}
	ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode = q.Stat.Perm.UID, q.Stat.Perm.GID, q.Stat.Perm.Mode
	ds.Qbytes = q.Stat.Qbytes
	if _, err := k.Msgctl(id, msgq.IPC_SET, &ds); err == syscall.EPERM && q.Stat.Qbytes > uint64(info.Msgmnb) {
		// qbytes above msgmnb needs CAP_SYS_RESOURCE: keep what the
		// kernel allows; compare reports it.
		ds.Qbytes = max(uint64(info.Msgmnb), q.Stat.Cbytes, q.Stat.Qnum)
		if _, err := k.Msgctl(id, msgq.IPC_SET, &ds); err != nil {
			return fmt.Errorf("IPC_SET uid %d, gid %d, mode %#o: %w", ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode, err)
		}
	} else if err != nil {
		return fmt.Errorf("IPC_SET uid %d, gid %d, mode %#o, qbytes %d: %w", ds.Perm.UID, ds.Perm.GID, ds.Perm.Mode, ds.Qbytes, err)
	}
	return nil
}

// compare reads the restored queues back and lists what differs from the
// snapshot.
func compare(k Kernel, s *msgq.Snapshot, info *msgq.MsgInfo) []Loss {
	var lost []Loss
	l := s.Limits
	for _, f := range []struct {
		name      string
		want, got int
	}{
		{"limits.msgmax", l.MsgMax, int(info.Msgmax)},
		{"limits.msgmnb", l.MsgMnb, int(info.Msgmnb)},
		{"limits.msgmni", l.MsgMni, int(info.Msgmni)},
	} {
		if f.want != f.got && f.want != 0 {
			lost = append(lost, Loss{Field: f.name, Want: strconv.Itoa(f.want), Got: strconv.Itoa(f.got), Always: true,
				Reason: "restore does not change the namespace's sysctls"})
		}
	}
	if len(s.Queues) > 0 || s.Allocator.LastIndex >= 0 {
		lost = append(lost, Loss{Field: "allocator",
			Want:   fmt.Sprintf("last index %d, seq %d", s.Allocator.LastIndex, s.Allocator.Seq),
			Got:    "unknown",
			Always: true,
			Reason: "the kernel's id cursor and sequence cannot be set: the next msgget may give another id"})
	}
	for i := range s.Queues {
		q := &s.Queues[i]
		at := fmt.Sprintf("queues[%d].stat.", i)
		var got msgq.MsqidDS
		if _, err := k.Msgctl(q.ID, msgq.IPC_STAT, &got); err != nil {
			lost = append(lost, Loss{Field: fmt.Sprintf("queues[%d]", i), Want: strconv.Itoa(q.ID), Got: err.Error(), Reason: "the restored queue cannot be read back"})
			continue
		}
		w := &q.Stat
		add := func(field string, want, got any, always bool, reason string) {
			if fmt.Sprint(want) != fmt.Sprint(got) {
				lost = append(lost, Loss{Field: at + field, Want: fmt.Sprint(want), Got: fmt.Sprint(got), Always: always, Reason: reason})
			}
		}
		add("perm.uid", w.Perm.UID, got.Perm.UID, false, "IPC_SET did not take it")
		add("perm.gid", w.Perm.GID, got.Perm.GID, false, "IPC_SET did not take it")
		add("perm.mode", fmt.Sprintf("%#o", w.Perm.Mode), fmt.Sprintf("%#o", got.Perm.Mode), false, "IPC_SET did not take it")
		add("qbytes", w.Qbytes, got.Qbytes, false, "above kernel.msgmnb, which needs CAP_SYS_RESOURCE")
		add("qnum", w.Qnum, got.Qnum, false, "messages not restored")
		add("cbytes", w.Cbytes, got.Cbytes, false, "messages not restored")
		add("perm.cuid", w.Perm.CUID, got.Perm.CUID, true, "the creator is whoever calls msgget")
		add("perm.cgid", w.Perm.CGID, got.Perm.CGID, true, "the creator is whoever calls msgget")
		add("stime", secs(w.Stime), secs(got.Stime), true, "msgsnd stamps the time of the restore")
		add("rtime", secs(w.Rtime), secs(got.Rtime), true, "only a msgrcv sets it, and a restore receives nothing")
		add("ctime", secs(w.Ctime), secs(got.Ctime), true, "msgget and IPC_SET stamp the time of the restore")
		add("lspid", w.Lspid, got.Lspid, true, "msgsnd records the restoring process")
		add("lrpid", w.Lrpid, got.Lrpid, true, "only a msgrcv sets it")
	}
	return lost
}

// secs shows a time as the kernel keeps it: whole seconds, "never" for 0.
func secs(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
