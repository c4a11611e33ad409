//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"testing"

	"github.com/sysvmsg/msgq"
)

// The scripted scenarios of the blocking differential, and the table of
// its race rules.

// blockScenarios read as the rules they pin. Each holds on Linux whatever
// order its threads run in (the harness checks that with racy).
var blockScenarios = []struct{ name, script string }{
	{"a send goes to the receiver that has waited longest", `
		callers root u1000 u1000
		c1 rcv 0 16
		c2 rcv 0 16
		c0 snd 1 5 NOWAIT   # to c1
		c0 snd 1 6 NOWAIT   # to c2`},
	{"a receiver waiting for another type is passed over", `
		callers root u1000 u1001
		c1 rcv 7 16
		c2 rcv 0 16
		c0 snd 1 3 NOWAIT   # to c2
		c0 snd 7 3 NOWAIT   # to c1`},
	{"receivers of every selector are served in arrival order", `
		callers root u1000 u1001 u3000 u2000g1000
		c1 rcv -3 16
		c2 rcv 2 16 EXCEPT
		c3 rcv 2 16
		c4 rcv 0 16
		c0 snd 2 1 NOWAIT   # c1 (2 <= 3) is the oldest it suits
		c0 snd 2 2 NOWAIT   # c3: c2 excepts type 2
		c0 snd 9 3 NOWAIT   # c2
		c0 snd 2 4 NOWAIT   # c4
		c0 snd 1 5 NOWAIT   # queued: nobody waits`},
	{"msgtyp MinInt64 takes any type up to MaxInt64, before a later MaxInt64 receiver", `
		callers root u1000 u1001
		c1 rcv -9223372036854775808 16
		c2 rcv 9223372036854775807 16
		c0 snd 9223372036854775807 3 NOWAIT   # c1, the older
		c0 snd 9223372036854775807 4 NOWAIT   # c2
		c0 stat`},
	{"E2BIG to a sleeper whose buffer is too small, and the message passed on", `
		callers root u1000 u1001
		c1 rcv 0 2
		c2 rcv 0 16
		c0 snd 1 10 NOWAIT   # c1 E2BIG, c2 gets it`},
	{"E2BIG to every sleeper too small for it, then the message is queued", `
		callers root u1000 u1001
		c1 rcv 0 2
		c2 rcv 1 3
		c0 snd 1 10 NOWAIT
		c0 stat`},
	{"MSG_NOERROR truncates the message handed to a sleeper", `
		callers root u1000
		c1 rcv 0 4 NOERROR
		c0 snd 1 10 NOWAIT
		c0 stat`},
	{"a sender blocked by bytes is let through when a receive makes room", `
		callers root u1000
		c0 set mode=0666 qbytes=20
		c0 snd 1 15 NOWAIT
		c1 snd 2 10          # waits: 15+10 > 20
		c0 snd 3 6 NOWAIT    # EAGAIN beside it
		c0 rcv 0 48 NOWAIT   # takes 15 bytes: c1 fits
		c0 stat`},
	{"a sender blocked by the message count is let through when a receive makes room", `
		callers root u1000
		c0 set mode=0666 qbytes=2
		c0 snd 1 0 NOWAIT
		c0 snd 1 0 NOWAIT
		c1 snd 3 0           # waits: a third message is over qbytes, bytes or not
		c0 rcv 0 0 NOWAIT
		c0 stat`},
	{"a small sender passes a large one that still does not fit", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=20
		c0 snd 1 10 NOWAIT
		c0 snd 2 8 NOWAIT
		c1 snd 3 15          # waits
		c2 snd 4 5           # waits
		c0 rcv 2 48 NOWAIT   # 10 free: c2 fits, c1 not
		c0 rcv 1 48 NOWAIT   # 15 free: c1 fits
		c0 stat`},
	{"a sender let through hands its message to a waiting receiver", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 2 5
		c2 rcv 2 16
		c0 rcv 1 16 NOWAIT   # c1 through, straight to c2
		c0 stat`},
	{"IPC_SET raising qbytes lets a sender through", `
		callers root u1000
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 1 5
		c0 set mode=0666 qbytes=15
		c0 stat`},
	{"IPC_SET lowering qbytes keeps a sender waiting, and raising it past MsgMnb is EPERM", `
		callers root u1000
		c0 set mode=0666 qbytes=10
		c0 snd 1 6 NOWAIT
		c1 snd 1 5
		c0 set mode=0666 qbytes=8
		c0 set mode=0666 qbytes=129
		c0 rcv 0 16 NOWAIT   # 8 free: c1 fits
		c0 stat`},
	{"IPC_SET mode: a receiver that loses read permission fails with EACCES, one that keeps it waits on", `
		callers u1000 u1001 u2000g1000
		c1 rcv 0 16
		c2 rcv 5 16
		c0 set mode=0660     # c1 is other now
		c0 snd 5 3 NOWAIT    # to c2
		c0 stat`},
	{"IPC_SET owner: a receiver made owner keeps reading, the old owner loses writing", `
		callers u1000 u1001 root
		queue 0604
		c1 rcv 0 16
		c0 set mode=0600 uid=1001
		c0 snd 1 3 NOWAIT    # EACCES: u1000 is other now
		c2 snd 1 3 NOWAIT    # root: to c1
		c0 stat              # EACCES
		c2 stat`},
	{"IPC_SET by a non-owner is EPERM and wakes nobody", `
		callers u1000 u1001 u3000
		c1 rcv 0 16
		c2 set mode=0600
		c0 snd 1 3 NOWAIT
		c0 stat`},
	{"a blocked sender that lost write permission fails with EACCES once it fits", `
		callers u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 2 4
		c0 set mode=0644 qbytes=10   # nothing fits yet: c1 sleeps on
		c0 rcv 0 16 NOWAIT           # c1 fits and fails
		c0 stat`},
	{"IPC_RMID fails every waiting sender and receiver with EIDRM", `
		callers root u1000 u1001 u3000 u2001suppl1000
		c0 set mode=0666 qbytes=4
		c0 snd 1 4 NOWAIT
		c1 snd 1 1
		c2 snd 2 0
		c3 rcv 2 16
		c4 rcv -1 0 NOERROR|EXCEPT
		c3 rmid   # EACCES? no: EPERM, u3000 is not the owner
		c0 rmid
		c1 snd 1 1 NOWAIT    # EINVAL: the id is gone`},
	{"MSG_COPY and IPC_NOWAIT calls beside sleepers change nothing", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 6 NOWAIT
		c0 snd 1 4 NOWAIT
		c1 rcv 2 16
		c2 snd 3 1
		c0 rcv 1 16 COPY|NOWAIT
		c0 rcv 0 3 COPY|NOWAIT     # E2BIG
		c0 rcv 0 3 COPY|NOERROR|NOWAIT  # EINVAL: MSG_COPY does not truncate
		c0 rcv 2 16 COPY|NOWAIT    # ENOMSG
		c0 rcv 0 16 COPY           # EINVAL: MSG_COPY needs IPC_NOWAIT
		c0 rcv 2 16 NOWAIT         # ENOMSG
		c0 snd 1 1 NOWAIT          # EAGAIN
		c0 rcv 1 3 NOWAIT          # E2BIG: nothing taken, nobody woken
		c0 rcv 1 3 NOERROR|NOWAIT  # truncated; c2 fits now, its type 3 is not c1's
		c0 stat`},
	{"msg_lrpid is the receiving thread after a hand-over, the process after a direct receive", `
		callers root u1000
		c1 rcv 0 16
		c0 snd 1 3 NOWAIT
		c0 stat
		c0 snd 1 3 NOWAIT
		c1 rcv 0 16 NOWAIT
		c0 stat`},
	{"receivers re-queued by IPC_SET are served whatever their order when one type suits each", `
		callers root u1000 u1001
		c1 rcv 1 16
		c2 rcv 2 16
		c0 set mode=0666
		c0 snd 2 3 NOWAIT
		c0 snd 1 3 NOWAIT`},
	{"a caller blocked in the kernel holds nobody else up; bad arguments fail at once", `
		callers root u1000
		c1 rcv 0 16
		c0 snd 0 3 NOWAIT          # EINVAL: mtype 0
		c0 snd 1 49 NOWAIT         # EINVAL: over MsgMax
		c0 rcv 0 16 EXCEPT|COPY|NOWAIT  # EINVAL
		c0 snd 1 48 NOWAIT`},
}

func TestBlockScenarios(t *testing.T) {
	s := blockSides(t)
	for _, tc := range blockScenarios {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := parseScript(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			d, inv, err := s.compareScript(sc)
			switch {
			case err != nil:
				t.Fatal(err)
			case inv != "":
				t.Fatalf("the scenario is not one Linux fixes: %s", inv)
			case d != "":
				t.Errorf("divergence %s\nscript:\n%s", d, sc)
			}
		})
	}
}

// TestBlockRaceRules pins the race rules (racy) on msgq alone: each row is
// a script whose last step Linux leaves open, or one it fixes.
func TestBlockRaceRules(t *testing.T) {
	tests := []struct {
		name   string
		script string
		racy   bool // the last step is racy; no step before it is
	}{
		{"a receive that lets two senders through at once is racy", `
			callers root u1000 u1001
			c0 set mode=0666 qbytes=10
			c0 snd 1 10 NOWAIT
			c1 snd 1 4
			c2 snd 1 4
			c0 rcv 0 16 NOWAIT`, true},
		{"a receive that lets one sender through is not, though another waits", `
			callers root u1000 u1001
			c0 set mode=0666 qbytes=12
			c0 snd 1 6 NOWAIT
			c0 snd 1 6 NOWAIT
			c1 snd 1 5
			c2 snd 1 8
			c0 rcv 0 16 NOWAIT   # 6 free: c1 fits, c2 does not`, false},
		{"two senders that fit once IPC_SET raises qbytes are racy", `
			callers root u1000 u1001
			c0 set mode=0666 qbytes=10
			c0 snd 1 10 NOWAIT
			c1 snd 1 4
			c2 snd 1 4
			c0 set mode=0666 qbytes=20`, true},
		{"IPC_SET letting a sender through while a receiver its message suits re-queues is racy", `
			callers root u1000 u1001
			c0 set mode=0666 qbytes=10
			c0 snd 1 10 NOWAIT
			c1 snd 2 4
			c2 rcv 2 16
			c0 set mode=0666 qbytes=20`, true},
		{"IPC_SET letting a sender through beside a receiver of another type is not", `
			callers root u1000 u1001
			c0 set mode=0666 qbytes=10
			c0 snd 1 10 NOWAIT
			c1 snd 2 4
			c2 rcv 3 16
			c0 set mode=0666 qbytes=20`, false},
		{"after IPC_SET, a message two re-queued receivers would take is racy", `
			callers root u1000 u1001
			c1 rcv 0 16
			c2 rcv -5 16
			c0 set mode=0666
			c0 snd 3 1 NOWAIT`, true},
		{"after IPC_SET, a message that suits one re-queued receiver is not", `
			callers root u1000 u1001
			c1 rcv 1 16
			c2 rcv 2 16
			c0 set mode=0666
			c0 snd 2 1 NOWAIT`, false},
		{"after IPC_SET, a message too long for every re-queued receiver it suits is not", `
			callers root u1000 u1001
			c1 rcv 0 2
			c2 rcv 0 3
			c0 set mode=0666
			c0 snd 3 10 NOWAIT`, false},
		{"a receiver that waits after the IPC_SET is ordered again", `
			callers root u1000 u1001
			c1 rcv 0 16
			c0 set mode=0666
			c2 rcv 0 16
			c0 snd 3 1 NOWAIT
			c0 snd 3 2 NOWAIT`, false},
		{"a step by a caller that is still waiting cannot run", `
			callers root u1000
			c1 rcv 0 16
			c1 snd 1 1 NOWAIT`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := parseScript(tt.script)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := runScript(newNexec(msgq.AllCaps), sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			last := len(sc.steps) - 1
			switch {
			case tt.racy && (tr.invalid == "" || len(tr.steps) != last):
				t.Errorf("want step %d racy, ran %d steps (%q)", last, len(tr.steps), tr.invalid)
			case !tt.racy && tr.invalid != "":
				t.Errorf("want no racy step, got %s", tr.invalid)
			}
		})
	}
}
