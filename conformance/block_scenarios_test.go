//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"strings"
	"testing"

	"github.com/sysvmsg/msgq"
)

// The scripted scenarios of the blocking differential, and the table of
// its race rules.

// blockScenarios read as the rules they pin: each "#=>" is what the step
// must come to (its result, then each caller it woke, as the test prints
// them), checked on msgq, and the whole script is compared with the kernel
// where the kernel side can run. Each holds on Linux whatever order its
// threads run in (racy checks that too). Root is taken to hold
// CAP_IPC_OWNER and CAP_SYS_ADMIN; no scenario depends on CAP_SYS_RESOURCE.
var blockScenarios = []struct{ name, script string }{
	{"a send goes to the receiver that has waited longest", `
		callers root u1000 u1000
		c1 rcv 0 16         #=> waits
		c2 rcv 0 16         #=> waits
		c0 snd 1 5 NOWAIT   #=> ok; woke c1: ok n=5 type=1
		c0 snd 1 6 NOWAIT   #=> ok; woke c2: ok n=6 type=1`},
	{"a receiver waiting for another type is passed over", `
		callers root u1000 u1001
		c1 rcv 7 16
		c2 rcv 0 16
		c0 snd 1 3 NOWAIT   #=> ok; woke c2: ok n=3 type=1
		c0 snd 7 3 NOWAIT   #=> ok; woke c1: ok n=3 type=7`},
	{"receivers of every selector are served in arrival order", `
		callers root u1000 u1001 u3000 u2000g1000
		c1 rcv -3 16
		c2 rcv 2 16 EXCEPT
		c3 rcv 2 16
		c4 rcv 0 16
		c0 snd 2 1 NOWAIT   #=> ok; woke c1: ok n=1 type=2
		c0 snd 2 2 NOWAIT   #=> ok; woke c3: ok n=2 type=2
		c0 snd 9 3 NOWAIT   #=> ok; woke c2: ok n=3 type=9
		c0 snd 2 4 NOWAIT   #=> ok; woke c4: ok n=4 type=2
		c0 snd 1 5 NOWAIT   #=> ok
		c0 stat             #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=5 qnum=1`},
	{"msgtyp MinInt64 takes any type up to MaxInt64, before a later MaxInt64 receiver", `
		callers root u1000 u1001
		c1 rcv -9223372036854775808 16
		c2 rcv 9223372036854775807 16
		c0 snd 9223372036854775807 3 NOWAIT   #=> ok; woke c1: ok n=3 type=9223372036854775807
		c0 snd 9223372036854775807 4 NOWAIT   #=> ok; woke c2: ok n=4 type=9223372036854775807`},
	{"E2BIG to a sleeper whose buffer is too small, and the message passed on", `
		callers root u1000 u1001
		c1 rcv 0 2
		c2 rcv 0 16
		c0 snd 1 10 NOWAIT   #=> ok; woke c1: E2BIG; woke c2: ok n=10 type=1`},
	{"E2BIG to every sleeper too small for it, then the message is queued", `
		callers root u1000 u1001
		c1 rcv 0 2
		c2 rcv 1 3
		c0 snd 1 10 NOWAIT   #=> ok; woke c1: E2BIG; woke c2: E2BIG
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=10 qnum=1 qbytes=128 lspid=pid lrpid=0 stime=set rtime=never`},
	{"MSG_NOERROR truncates the message handed to a sleeper", `
		callers root u1000
		c1 rcv 0 4 NOERROR
		c0 snd 1 10 NOWAIT   #=> ok; woke c1: ok n=4 type=1
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=0 qnum=0`},
	{"a sender blocked by bytes is let through when a receive makes room", `
		callers root u1000
		c0 set mode=0666 qbytes=20
		c0 snd 1 15 NOWAIT
		c1 snd 2 10          #=> waits
		c0 snd 3 6 NOWAIT    #=> EAGAIN
		c0 rcv 0 48 NOWAIT   #=> ok n=15 type=1 text=0815222f3c495663707d8a97a4b1be; woke c1: ok
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=10 qnum=1 qbytes=20`},
	{"a sender blocked by the message count is let through when a receive makes room", `
		callers root u1000
		c0 set mode=0666 qbytes=2
		c0 snd 1 0 NOWAIT
		c0 snd 1 0 NOWAIT
		c1 snd 3 0           #=> waits
		c0 rcv 0 0 NOWAIT    #=> ok n=0 type=1 text=; woke c1: ok
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=0 qnum=2 qbytes=2`},
	{"a small sender passes a large one that still does not fit", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=20
		c0 snd 1 10 NOWAIT
		c0 snd 2 8 NOWAIT
		c1 snd 3 15          #=> waits
		c2 snd 4 5           #=> waits
		c0 rcv 2 48 NOWAIT   #=> ok n=8 type=2 text=0f1c293643505d6a; woke c2: ok
		c0 rcv 1 48 NOWAIT   #=> ok n=10 type=1 text=0815222f3c495663707d; woke c1: ok
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=20 qnum=2`},
	{"a sender let through hands its message to a waiting receiver", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 2 5
		c2 rcv 2 16
		c0 rcv 1 16 NOWAIT   #=> ok n=10 type=1 text=0815222f3c495663707d; woke c1: ok; woke c2: ok n=5 type=2
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=0 qnum=0 qbytes=10 lspid=pid lrpid=tid(c2)`},
	{"IPC_SET raising qbytes lets a sender through", `
		callers root u1000
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 1 5                 #=> waits
		c0 set mode=0666 qbytes=15 #=> ok; woke c1: ok
		c0 stat                    #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=15 qnum=2 qbytes=15`},
	{"IPC_SET lowering qbytes keeps a sender waiting, and an owner raising it past MsgMnb gets EPERM", `
		callers u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 6 NOWAIT
		c1 snd 1 5                  #=> waits
		c0 set mode=0666 qbytes=8   #=> ok
		c0 set mode=0666 qbytes=129 #=> EPERM
		c0 rcv 0 16 NOWAIT          #=> ok n=6 type=1 text=0815222f3c49; woke c1: ok
		c0 stat                     #=> ok {uid=1000 gid=1000 cuid=1000 cgid=1000 mode=0666 cbytes=5 qnum=1 qbytes=8`},
	{"IPC_SET mode: a receiver that loses read permission fails with EACCES, one that keeps it waits on", `
		callers u1000 u1001 u2000g1000
		c1 rcv 0 16
		c2 rcv 5 16
		c0 set mode=0660     #=> ok; woke c1: EACCES
		c0 snd 5 3 NOWAIT    #=> ok; woke c2: ok n=3 type=5`},
	{"IPC_SET owner: a receiver made owner keeps reading, one that is other now does not; the creator keeps owning", `
		callers u1000 u1001 u3000
		queue 0606
		c1 rcv 0 16                        #=> waits
		c2 rcv 5 16                        #=> waits
		c0 set mode=0600 uid=1001          #=> ok; woke c2: EACCES
		c0 snd 1 3 NOWAIT                  #=> ok; woke c1: ok n=3 type=1
		c2 snd 1 3 NOWAIT                  #=> EACCES
		c1 stat                            #=> ok {uid=1001 gid=1000 cuid=1000 cgid=1000 mode=0600`},
	{"IPC_SET by a non-owner is EPERM and wakes nobody", `
		callers u1000 u1001 u3000
		c1 rcv 0 16
		c2 set mode=0600     #=> EPERM
		c0 snd 1 3 NOWAIT    #=> ok; woke c1: ok n=3 type=1`},
	{"a blocked sender that lost write permission fails with EACCES once it fits", `
		callers u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 10 NOWAIT
		c1 snd 2 4                   #=> waits
		c0 set mode=0644 qbytes=10   #=> ok
		c0 rcv 0 16 NOWAIT           #=> ok n=10 type=1 text=0815222f3c495663707d; woke c1: EACCES`},
	{"IPC_RMID fails every waiting sender and receiver with EIDRM", `
		callers root u1000 u1001 u3000 u2001suppl1000 u3000
		c0 set mode=0666 qbytes=1
		c0 snd 5 0 NOWAIT
		c1 snd 1 1                   #=> waits
		c2 snd 2 0                   #=> waits
		c3 rcv 2 16                  #=> waits
		c4 rcv -1 0 NOERROR          #=> waits
		c5 rmid                      #=> EPERM
		c0 rmid                      #=> ok; woke c1: EIDRM; woke c2: EIDRM; woke c3: EIDRM; woke c4: EIDRM
		c1 snd 1 1 NOWAIT            #=> EINVAL`},
	{"MSG_COPY and IPC_NOWAIT calls beside sleepers change nothing", `
		callers root u1000 u1001
		c0 set mode=0666 qbytes=10
		c0 snd 1 6 NOWAIT
		c0 snd 1 4 NOWAIT
		c1 rcv 2 16                     #=> waits
		c2 snd 3 1                      #=> waits
		c0 rcv 1 16 COPY|NOWAIT         #=> ok n=4 type=1
		c0 rcv 0 3 COPY|NOWAIT          #=> E2BIG
		c0 rcv 0 3 COPY|NOERROR|NOWAIT  #=> EINVAL
		c0 rcv 2 16 COPY|NOWAIT         #=> ENOMSG
		c0 rcv 0 16 COPY                #=> EINVAL
		c0 rcv 2 16 NOWAIT              #=> ENOMSG
		c0 snd 1 1 NOWAIT               #=> EAGAIN
		c0 rcv 1 3 NOWAIT               #=> E2BIG
		c0 rcv 1 3 NOERROR|NOWAIT       #=> ok n=3 type=1 text=081522; woke c2: ok
		c0 stat                         #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=5 qnum=2`},
	{"msg_lrpid is the receiving thread after a hand-over, the process after a direct receive", `
		callers root u1000
		c1 rcv 0 16
		c0 snd 1 3 NOWAIT    #=> ok; woke c1: ok
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=0 qnum=0 qbytes=128 lspid=pid lrpid=tid(c1)
		c0 snd 1 3 NOWAIT
		c1 rcv 0 16 NOWAIT   #=> ok n=3
		c0 stat              #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=0 qnum=0 qbytes=128 lspid=pid lrpid=pid`},
	{"receivers re-queued by IPC_SET are served whatever their order when one type suits each", `
		callers root u1000 u1001
		c1 rcv 1 16
		c2 rcv 2 16
		c0 set mode=0666     #=> ok
		c0 snd 2 3 NOWAIT    #=> ok; woke c2: ok n=3 type=2
		c0 snd 1 3 NOWAIT    #=> ok; woke c1: ok n=3 type=1`},
	{"bad arguments fail at once beside a sleeper, and a message too long for it is E2BIG to it", `
		callers root u1000
		c1 rcv 0 16                       #=> waits
		c0 snd 0 3 NOWAIT                 #=> EINVAL
		c0 snd 1 49 NOWAIT                #=> EINVAL
		c0 rcv 0 16 EXCEPT|COPY|NOWAIT    #=> EINVAL
		c0 snd 1 48 NOWAIT                #=> ok; woke c1: E2BIG
		c0 stat                           #=> ok {uid=0 gid=0 cuid=0 cgid=0 mode=0666 cbytes=48 qnum=1`},
}

// TestBlockScenarios checks each scenario's expectations on msgq, and
// compares it with the kernel where the kernel side can run.
func TestBlockScenarios(t *testing.T) {
	var s *bsides
	caps := msgq.CapIPCOwner | msgq.CapSysAdmin
	if skipReason() == "" {
		b := blockSides(t)
		s, caps = &b, b.ns.processCaps
	}
	for _, tc := range blockScenarios {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := parseScript(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := runScript(newNexec(caps), sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tr.invalid != "" {
				t.Fatalf("the scenario is not one Linux fixes: %s", tr.invalid)
			}
			for i, st := range sc.steps {
				if got := tr.steps[i].String(); !strings.HasPrefix(got, st.want) {
					t.Errorf("step %d (%s): got %s", i, st, got)
				}
			}
			if s == nil {
				return
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
