//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"testing"

	"github.com/sysvmsg/msgq"
)

// who returns the index of the identity with the given name.
func who(name string) int {
	for i, id := range idents {
		if id.name == name {
			return i
		}
	}
	panic("no identity " + name)
}

// TestKernelPermissionMatrix runs every permission-checked operation as
// every kind of caller against a queue in each of a set of modes, on the
// kernel and on msgq, and compares the results and the queue's state
// afterwards. The queue is made by u1001 (its creator), given to
// u1000:1000 (its owner) with the mode under test, and holds one message.
func TestKernelPermissionMatrix(t *testing.T) {
	kern, ns := sides(t)
	callers := []string{
		"u1000",          // owner: uid matches
		"u1001",          // creator: cuid matches
		"u2000g1000",     // group: gid matches
		"u2002g1001",     // group: cgid matches
		"u2001suppl1000", // group through a supplementary group
		"u3000",          // other
		"root",           // CAP_IPC_OWNER and CAP_SYS_ADMIN (not CAP_SYS_RESOURCE, which this machine's root lacks)
		"root-nocaps",    // uid 0 without capabilities: other
		"root-noipcowner",
		"root-nosysadmin",
		"u3000+ipcowner",
		"u3000+sysadmin",
	}
	type operation struct {
		name string
		op   op
	}
	operations := []operation{
		{"msgget-r", op{kind: opGet, key: 1, flags: 0o400}},
		{"msgget-w", op{kind: opGet, key: 1, flags: 0o020}},
		{"msgget-rw", op{kind: opGet, key: 1, flags: 0o006}},
		{"msgget-none", op{kind: opGet, key: 1}},
		{"msgsnd", op{kind: opSnd, mtype: 2, size: 8, flags: msgq.IPC_NOWAIT}},
		{"msgrcv", op{kind: opRcv, size: 64, flags: msgq.IPC_NOWAIT}},
		{"msgrcv-copy", op{kind: opRcv, size: 64, flags: msgq.IPC_NOWAIT | msgq.MSG_COPY}},
		{"IPC_STAT", op{kind: opCtl, cmd: msgq.IPC_STAT}},
		{"MSG_STAT", op{kind: opCtl, cmd: msgq.MSG_STAT, index: true}},
		{"MSG_STAT_ANY", op{kind: opCtl, cmd: msgq.MSG_STAT_ANY, index: true}},
		{"IPC_SET-mode", op{kind: opSet, mode: 0o644, qbytes: 256}},
		{"IPC_SET-qbytes-up", op{kind: opSet, mode: 0o600, qbytes: 257}},
		{"IPC_SET-chown", op{kind: opSet, mode: 0o600, qbytes: 100, setUID: true, uid: 3000}},
		{"IPC_RMID", op{kind: opCtl, cmd: msgq.IPC_RMID}},
	}
	modes := []uint16{0, 0o400, 0o200, 0o600, 0o040, 0o020, 0o060, 0o004, 0o002, 0o006, 0o777, 0o640, 0o604, 0o064, 0o070}
	cells := 0
	for _, operation := range operations {
		for _, caller := range callers {
			for _, mode := range modes {
				seq := []op{
					{kind: opGet, who: who("u1001"), key: 1, flags: msgq.IPC_CREAT | 0o600},
					{kind: opSet, who: who("u1001"), mode: mode, qbytes: 256, setUID: true, uid: 1000, setGID: true, gid: 1000},
					{kind: opSnd, who: who("root"), mtype: 1, size: 5, flags: msgq.IPC_NOWAIT},
					withWho(operation.op, who(caller)),
					{kind: opCtl, who: who("root"), cmd: msgq.IPC_STAT},
					{kind: opInfo, who: who("root"), cmd: msgq.MSG_INFO},
				}
				name := fmt.Sprintf("%s/%s/mode=%#o", operation.name, caller, mode)
				if at, kr, nr, err := compare(kern, ns, seq); err != nil {
					t.Fatal(err)
				} else if at >= 0 {
					t.Errorf("%s: operation %d %s\n  kernel: %s\n  msgq:   %s", name, at, seq[at], kr, nr)
				}
				cells++
			}
		}
	}
	t.Logf("%d cells agree", cells)
}

func withWho(o op, w int) op {
	o.who = w
	return o
}

// TestKernelRegressions are sequences kept by name: cases the random
// sequences reach rarely, and every divergence ever found (none so far
// has reached the kernel comparison: the reference model and the
// permission tests caught them first).
func TestKernelRegressions(t *testing.T) {
	kern, ns := sides(t)
	root, u1000 := who("root"), who("u1000")
	churn := []op{}
	for i := range 150 { // the index cycle of 64 wraps twice: ids carry new sequence numbers
		churn = append(churn,
			op{kind: opGet, key: msgq.IPC_PRIVATE, flags: 0o600},
			op{kind: opSnd, q: i, mtype: 1, size: 3, flags: msgq.IPC_NOWAIT},
			op{kind: opCtl, q: i, cmd: msgq.MSG_STAT, index: true},
			op{kind: opCtl, q: i, cmd: msgq.IPC_RMID},
			op{kind: opSnd, q: i, mtype: 1, size: 3, flags: msgq.IPC_NOWAIT}, // the stale id
		)
	}
	tests := []struct {
		name string
		seq  []op
	}{
		{"ids cycle through 64 indices before one is reused", churn},
		{"MSG_COPY|MSG_NOERROR with a short buffer is EINVAL", []op{
			{kind: opGet, key: msgq.IPC_PRIVATE, flags: 0o600},
			{kind: opSnd, mtype: 3, size: 10, flags: msgq.IPC_NOWAIT},
			{kind: opRcv, size: 4, flags: msgq.IPC_NOWAIT | msgq.MSG_COPY | msgq.MSG_NOERROR},
			{kind: opRcv, size: 4, flags: msgq.IPC_NOWAIT | msgq.MSG_COPY},
			{kind: opRcv, size: 4, flags: msgq.MSG_COPY | msgq.MSG_NOERROR},
		}},
		{"the count bound: qbytes messages at most", []op{
			{kind: opGet, key: msgq.IPC_PRIVATE, flags: 0o600},
			{kind: opSet, mode: 0o600, qbytes: 2},
			{kind: opSnd, mtype: 1, flags: msgq.IPC_NOWAIT},
			{kind: opSnd, mtype: 1, flags: msgq.IPC_NOWAIT},
			{kind: opSnd, mtype: 1, flags: msgq.IPC_NOWAIT},
			{kind: opSet, mode: 0o600, qbytes: 0},
			{kind: opRcv, flags: msgq.IPC_NOWAIT},
			{kind: opSnd, mtype: 1, flags: msgq.IPC_NOWAIT},
		}},
		{"qbytes is a C int: the high 32 bits are dropped", []op{
			{kind: opGet, key: msgq.IPC_PRIVATE, flags: 0o600},
			{kind: opSet, who: u1000, mode: 0o600, qbytes: 1<<32 + 7},
			{kind: opSet, mode: 0o600, qbytes: 1<<32 + 7},
			{kind: opCtl, cmd: msgq.IPC_STAT},
			{kind: opSet, mode: 0o600, qbytes: 1 << 31},
			{kind: opCtl, cmd: msgq.IPC_STAT},
		}},
		{"msgtyp MinInt64 and MaxInt64, with and without MSG_EXCEPT", []op{
			{kind: opGet, key: msgq.IPC_PRIVATE, flags: 0o600},
			{kind: opSnd, mtype: 9, size: 1, flags: msgq.IPC_NOWAIT},
			{kind: opSnd, mtype: 3, size: 1, flags: msgq.IPC_NOWAIT},
			{kind: opRcv, msgtyp: 1<<63 - 1, size: 8, flags: msgq.IPC_NOWAIT},
			{kind: opRcv, msgtyp: 1<<63 - 1, size: 8, flags: msgq.IPC_NOWAIT | msgq.MSG_EXCEPT},
			{kind: opRcv, msgtyp: -1 << 63, size: 8, flags: msgq.IPC_NOWAIT | msgq.MSG_EXCEPT},
			{kind: opRcv, msgtyp: -1 << 63, size: 8, flags: msgq.IPC_NOWAIT},
		}},
		{"IPC_SET nil buffer is EFAULT before the id is looked up", []op{
			{kind: opSet, lit: true, id: 12345, nilBuf: true},
			{kind: opSet, lit: true, id: -1, nilBuf: true},
			{kind: opCtl, lit: true, id: 12345, cmd: msgq.IPC_STAT, nilBuf: true},
			{kind: opInfo, cmd: msgq.IPC_INFO, nilBuf: true},
		}},
		{"MSG_STAT ignores the sequence bits of its index", []op{
			{kind: opGet, who: root, key: 5, flags: msgq.IPC_CREAT | 0o600},
			{kind: opCtl, cmd: msgq.MSG_STAT, index: true, id: 1 << 15},
			{kind: opCtl, cmd: msgq.MSG_STAT_ANY, index: true, id: 7 << 15},
			{kind: opCtl, cmd: msgq.MSG_STAT, lit: true, id: 40000},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if at, kr, nr, err := compare(kern, ns, tt.seq); err != nil {
				t.Fatal(err)
			} else if at >= 0 {
				t.Errorf("operation %d %s\n  kernel: %s\n  msgq:   %s", at, tt.seq[at], kr, nr)
			}
		})
	}
}
