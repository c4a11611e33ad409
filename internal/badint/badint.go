// Package badint is the table of Go ints that C's int cannot hold, passed
// as msqid, msgflg or cmd to every entry point of an msgq.IPC, and a check
// that each such call fails with EINVAL and changes nothing. The msgq
// package's tests run it on a Namespace; the conformance tests run it on
// the kernel backend in a private IPC namespace.
package badint

import (
	"bytes"
	"fmt"
	"math"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// Values are the out-of-range shapes of an argument whose valid value is v:
// both ends of int64, one past each end of int32, and v with bit 32 set,
// whose low 32 bits are v itself (what a truncating implementation sees).
func Values(v int) []int {
	return []int{math.MinInt64, math.MinInt32 - 1, math.MaxInt32 + 1, 1<<32 + v, math.MaxInt64}
}

// Case is one call with one argument out of range.
type Case struct {
	Name string
	Call func(ipc msgq.IPC) error
}

// Setup prepares ipc for Cases: two queues, 0 and 1 (a fresh namespace
// numbers them so), each holding two messages, so that a call truncated
// to its low 32 bits would find something to act on. It returns their ids.
func Setup(ipc msgq.IPC) ([]int, error) {
	var ids []int
	for key := range 2 {
		id, err := ipc.Msgget(msgq.Key(0x5eed+key), msgq.IPC_CREAT|0o600)
		if err != nil {
			return nil, fmt.Errorf("msgget: %w", err)
		}
		for mtype := range int64(2) {
			if err := ipc.Msgsnd(id, mtype+1, []byte(fmt.Sprintf("q%d m%d", id, mtype)), msgq.IPC_NOWAIT); err != nil {
				return nil, fmt.Errorf("msgsnd: %w", err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Cases are every entry point of msgq.IPC with each of its C int arguments
// (msqid, msgflg, cmd) given each of Values, the others valid: ids name
// the live queues, flags are IPC_NOWAIT (so that nothing could block) and
// commands are each one the entry point takes.
func Cases(ids []int) []Case {
	var cs []Case
	add := func(name string, call func(ipc msgq.IPC) error) {
		cs = append(cs, Case{Name: name, Call: call})
	}
	ctlCmds := []struct {
		name string
		cmd  int
	}{
		{"IPC_STAT", msgq.IPC_STAT}, {"IPC_SET", msgq.IPC_SET}, {"IPC_RMID", msgq.IPC_RMID},
		{"MSG_STAT", msgq.MSG_STAT}, {"MSG_STAT_ANY", msgq.MSG_STAT_ANY},
		{"IPC_INFO", msgq.IPC_INFO}, {"MSG_INFO", msgq.MSG_INFO},
	}
	for _, flg := range Values(msgq.IPC_CREAT | 0o600) {
		add(fmt.Sprintf("msgget(key, msgflg %d)", flg), func(ipc msgq.IPC) error {
			_, err := ipc.Msgget(0x5eed, flg)
			return err
		})
		add(fmt.Sprintf("msgget(IPC_PRIVATE, msgflg %d)", flg), func(ipc msgq.IPC) error {
			_, err := ipc.Msgget(msgq.IPC_PRIVATE, flg)
			return err
		})
	}
	for _, live := range ids {
		for _, id := range Values(live) {
			add(fmt.Sprintf("msgsnd(msqid %d)", id), func(ipc msgq.IPC) error {
				return ipc.Msgsnd(id, 1, []byte("x"), msgq.IPC_NOWAIT)
			})
			add(fmt.Sprintf("msgrcv(msqid %d)", id), func(ipc msgq.IPC) error {
				_, _, err := ipc.Msgrcv(id, make([]byte, 64), 0, msgq.IPC_NOWAIT)
				return err
			})
			add(fmt.Sprintf("msgrcv(msqid %d, MSG_COPY)", id), func(ipc msgq.IPC) error {
				_, _, err := ipc.Msgrcv(id, make([]byte, 64), 0, msgq.IPC_NOWAIT|msgq.MSG_COPY)
				return err
			})
			for _, c := range ctlCmds {
				add(fmt.Sprintf("msgctl(msqid %d, %s)", id, c.name), func(ipc msgq.IPC) error {
					var ds msgq.MsqidDS
					if c.cmd == msgq.IPC_SET {
						if _, err := ipc.Msgctl(live, msgq.IPC_STAT, &ds); err != nil {
							return fmt.Errorf("IPC_STAT of the live queue: %w", err)
						}
						ds.Perm.Mode = 0o666
					}
					_, err := ipc.Msgctl(id, c.cmd, &ds)
					return err
				})
			}
		}
		for _, flg := range Values(msgq.IPC_NOWAIT) {
			add(fmt.Sprintf("msgsnd(%d, msgflg %d)", live, flg), func(ipc msgq.IPC) error {
				return ipc.Msgsnd(live, 1, []byte("x"), flg)
			})
			add(fmt.Sprintf("msgrcv(%d, msgflg %d)", live, flg), func(ipc msgq.IPC) error {
				_, _, err := ipc.Msgrcv(live, make([]byte, 64), 0, flg)
				return err
			})
		}
		for _, c := range ctlCmds {
			for _, cmd := range Values(c.cmd) {
				add(fmt.Sprintf("msgctl(%d, cmd %d (%s in the low bits))", live, cmd, c.name), func(ipc msgq.IPC) error {
					var ds msgq.MsqidDS
					_, err := ipc.Msgctl(live, cmd, &ds)
					return err
				})
			}
		}
	}
	for _, cmd := range append(Values(msgq.IPC_INFO), Values(msgq.MSG_INFO)...) {
		add(fmt.Sprintf("MsgctlInfo(cmd %d)", cmd), func(ipc msgq.IPC) error {
			var info msgq.MsgInfo
			_, err := ipc.MsgctlInfo(cmd, &info)
			return err
		})
	}
	return cs
}

// State is what the out-of-range calls must leave alone: every live
// queue's IPC_STAT and messages (read with MSG_COPY, which consumes
// nothing), and the namespace's MSG_INFO figures.
func State(ipc msgq.IPC, ids []int) (string, error) {
	var b bytes.Buffer
	var info msgq.MsgInfo
	if _, err := ipc.MsgctlInfo(msgq.MSG_INFO, &info); err != nil {
		return "", fmt.Errorf("MSG_INFO: %w", err)
	}
	fmt.Fprintf(&b, "queues %d, messages %d, bytes %d\n", info.Msgpool, info.Msgmap, info.Msgtql)
	for _, id := range ids {
		var ds msgq.MsqidDS
		if _, err := ipc.Msgctl(id, msgq.IPC_STAT, &ds); err != nil {
			return "", fmt.Errorf("IPC_STAT %d: %w", id, err)
		}
		fmt.Fprintf(&b, "%d: %+v\n", id, ds)
		buf := make([]byte, 64)
		for k := 0; ; k++ {
			n, mtype, err := ipc.Msgrcv(id, buf, int64(k), msgq.IPC_NOWAIT|msgq.MSG_COPY)
			if err == syscall.ENOMSG {
				break
			}
			if err != nil {
				return "", fmt.Errorf("MSG_COPY %d of queue %d: %w", k, id, err)
			}
			fmt.Fprintf(&b, "  %d %q\n", mtype, buf[:n])
		}
	}
	return b.String(), nil
}

// Check runs every case on ipc, prepared by Setup, and reports each call
// that did not fail with a bare EINVAL or that changed State.
func Check(ipc msgq.IPC, ids []int) []string {
	before, err := State(ipc, ids)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for _, c := range Cases(ids) {
		if err := c.Call(ipc); err != syscall.EINVAL {
			bad = append(bad, fmt.Sprintf("%s = %v, want EINVAL", c.Name, err))
		}
		after, err := State(ipc, ids)
		if err != nil {
			return append(bad, fmt.Sprintf("after %s: %v", c.Name, err))
		}
		if after != before {
			bad = append(bad, fmt.Sprintf("%s changed the namespace:\nbefore %s\nafter  %s", c.Name, before, after))
			before = after
		}
	}
	return bad
}
