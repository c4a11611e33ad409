//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel

import (
	"bytes"
	"fmt"
	"runtime"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// Checkpoint reads every queue of the calling process's IPC namespace
// into a snapshot, as CRIU dumps them: IPC_INFO for the limits, MSG_INFO
// for the highest index in use, a MSG_STAT_ANY scan over the indices up to
// it (MSG_STAT where the kernel predates MSG_STAT_ANY, Linux 4.17), then
// for each queue its msqid_ds and a MSG_COPY of each message in order.
// Nothing is consumed and no time or pid is stamped. Times are the
// kernel's whole seconds, in UTC.
//
// Each queue's part is a state the queue was in: Checkpoint stats it,
// copies its messages and stats it again, and starts over (a few times)
// if another process changed it meanwhile. Queues are read one after
// another, so as with CRIU a consistent cut of the whole namespace needs
// the processes that use it stopped while it runs.
//
// The kernel does not show its id allocator (the cyclic cursor and the
// sequence number of ipc_ids), so the snapshot's Allocator is
// reconstructed: the queue with the greatest sequence number, then index,
// is taken to be the one created last. That is exact when the queue
// created last is still alive, and msgq.Restore of the snapshot then hands
// out the ids this kernel would.
//
// Errors: those of the calls, wrapped with what was being read; ENOSYS
// from MSG_COPY means the kernel was built without CONFIG_CHECKPOINT_RESTORE
// and cannot copy messages without taking them; Linux before 3.8 has no
// MSG_COPY at all (it would take the messages), so Checkpoint refuses to
// run there. EACCES comes from a kernel without MSG_STAT_ANY when the
// caller may not read a queue.
func Checkpoint() (*msgq.Snapshot, error) {
	if err := msgCopyKernel(); err != nil {
		return nil, err
	}
	runtime.LockOSThread() // one thread, so one IPC namespace, throughout
	defer runtime.UnlockOSThread()
	return checkpoint(Kernel{})
}

// checkpoint is Checkpoint over any msgq.IPC, so that tests can read a
// namespace the way Checkpoint reads the kernel.
func checkpoint(ipc msgq.IPC) (*msgq.Snapshot, error) {
	var info msgq.MsgInfo
	if _, err := ipc.MsgctlInfo(msgq.IPC_INFO, &info); err != nil {
		return nil, fmt.Errorf("kernel: checkpoint: msgctl(IPC_INFO): %w", err)
	}
	maxIdx, err := ipc.MsgctlInfo(msgq.MSG_INFO, &msgq.MsgInfo{})
	if err != nil {
		return nil, fmt.Errorf("kernel: checkpoint: msgctl(MSG_INFO): %w", err)
	}
	s := &msgq.Snapshot{
		Format:    msgq.SnapshotFormat,
		Dialect:   msgq.Linux,
		Limits:    msgq.Limits{MsgMax: int(info.Msgmax), MsgMnb: int(info.Msgmnb), MsgMni: int(info.Msgmni)},
		Allocator: msgq.IDAllocator{LastIndex: -1},
		Queues:    []msgq.QueueSnapshot{},
	}
	shift := 15
	if info.Msgmni > 1<<15 {
		shift = 24 // ipcmni_extend
	}
	lastSeq := -1
	for idx := 0; idx <= maxIdx; idx++ {
		q, ok, err := readQueue(ipc, idx, int(info.Msgmax))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		s.Queues = append(s.Queues, q)
		if seq := q.ID >> shift; seq >= lastSeq {
			lastSeq = seq
			s.Allocator = msgq.IDAllocator{LastIndex: idx, Seq: seq}
		}
	}
	return s, nil
}

// statIndex is MSG_STAT_ANY of a table index, or MSG_STAT on a kernel
// without it; ok is false for an empty index.
func statIndex(ipc msgq.IPC, idx int) (id int, ds msgq.MsqidDS, ok bool, err error) {
	id, err = ipc.Msgctl(idx, msgq.MSG_STAT_ANY, &ds)
	if err == syscall.EINVAL {
		// An empty index, or a kernel before 4.17 without MSG_STAT_ANY.
		id, err = ipc.Msgctl(idx, msgq.MSG_STAT, &ds)
	}
	switch {
	case err == syscall.EINVAL:
		return 0, ds, false, nil
	case err == syscall.EACCES:
		return 0, ds, false, fmt.Errorf("kernel: checkpoint: queue at index %d: no read permission, and this kernel has no MSG_STAT_ANY (Linux 4.17): run as its owner or with CAP_IPC_OWNER: %w", idx, err)
	case err != nil:
		return 0, ds, false, fmt.Errorf("kernel: checkpoint: msgctl(%d, MSG_STAT_ANY): %w", idx, err)
	}
	return id, ds, true, nil
}

// readQueue reads the queue at idx: its msqid_ds and its messages,
// retried while another process changes it under us.
func readQueue(ipc msgq.IPC, idx, msgmax int) (msgq.QueueSnapshot, bool, error) {
	const attempts = 8
	buf := make([]byte, msgmax)
	for range attempts {
		id, before, ok, err := statIndex(ipc, idx)
		if !ok || err != nil {
			return msgq.QueueSnapshot{}, false, err
		}
		msgs := make([]msgq.Message, 0, min(before.Qnum, 1<<16))
		var copyErr error
		k := 0
		for ; ; k++ {
			n, mtype, err := ipc.Msgrcv(id, buf, int64(k), msgq.MSG_COPY|msgq.IPC_NOWAIT)
			if err == syscall.ENOMSG {
				break
			}
			if err != nil {
				copyErr = err
				break
			}
			msgs = append(msgs, msgq.Message{Type: mtype, Text: bytes.Clone(buf[:n])})
		}
		id2, after, ok, err := statIndex(ipc, idx)
		if err != nil {
			return msgq.QueueSnapshot{}, false, err
		}
		if !ok {
			return msgq.QueueSnapshot{}, false, nil // removed while we read it
		}
		if copyErr != nil {
			if id2 != id { // removed and its index reused: read it again
				continue
			}
			return msgq.QueueSnapshot{}, false, copyError(id, k, msgmax, copyErr)
		}
		if id2 == id && after == before && uint64(len(msgs)) == after.Qnum {
			var cbytes uint64
			for _, m := range msgs {
				cbytes += uint64(len(m.Text))
			}
			if cbytes == after.Cbytes {
				return msgq.QueueSnapshot{ID: id, Stat: utcStat(after), Messages: msgs}, true, nil
			}
		}
	}
	return msgq.QueueSnapshot{}, false, fmt.Errorf("kernel: checkpoint: queue at index %d changed on each of %d reads: stop the processes using it: %w", idx, attempts, syscall.EAGAIN)
}

// copyError explains an error from msgrcv(MSG_COPY).
func copyError(id, k, msgmax int, err error) error {
	switch err {
	case syscall.ENOSYS:
		return fmt.Errorf("kernel: checkpoint: queue %d: msgrcv(MSG_COPY) is not supported: this kernel was built without CONFIG_CHECKPOINT_RESTORE, and its messages cannot be read without taking them: %w", id, err)
	case syscall.E2BIG:
		return fmt.Errorf("kernel: checkpoint: queue %d: message %d is longer than kernel.msgmax (%d), which was lowered after it was sent: MSG_COPY copies at most msgmax bytes; raise kernel.msgmax to read it: %w", id, k, msgmax, err)
	case syscall.EACCES:
		return fmt.Errorf("kernel: checkpoint: queue %d: no read permission for MSG_COPY: run as its owner or with CAP_IPC_OWNER: %w", id, err)
	case syscall.EINVAL:
		return fmt.Errorf("kernel: checkpoint: queue %d: msgrcv(MSG_COPY) gave EINVAL: the kernel refuses MSG_COPY (before Linux 3.8 it did not exist): %w", id, err)
	}
	return fmt.Errorf("kernel: checkpoint: queue %d: msgrcv(MSG_COPY, %d): %w", id, k, err)
}

// msgCopyKernel refuses kernels before 3.8, which ignore MSG_COPY and would
// take the message that Checkpoint means to copy.
func msgCopyKernel() error {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return nil // assume a modern kernel
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(b), "%d.%d", &major, &minor); err != nil {
		return nil
	}
	if major < 3 || major == 3 && minor < 8 {
		return fmt.Errorf("kernel: checkpoint: Linux %s has no MSG_COPY (3.8 added it): reading messages would take them: %w", b, syscall.ENOSYS)
	}
	return nil
}

func utcStat(ds msgq.MsqidDS) msgq.MsqidDS {
	if !ds.Stime.IsZero() {
		ds.Stime = ds.Stime.UTC()
	}
	if !ds.Rtime.IsZero() {
		ds.Rtime = ds.Rtime.UTC()
	}
	if !ds.Ctime.IsZero() {
		ds.Ctime = ds.Ctime.UTC()
	}
	return ds
}
