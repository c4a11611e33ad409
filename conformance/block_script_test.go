//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// The blocking differential's scripts. A script names its callers (each an
// identity from idents, on its own OS thread on the kernel side and its
// own goroutine in msgq), the mode of the one queue caller 0 creates, and
// steps, each a call by one caller that is not blocked at that point:
//
//	callers root u1000 u3000
//	queue 0666
//	c1 rcv 0 64                 # msgrcv(msgtyp 0, msgsz 64), waits
//	c2 rcv -3 8 NOERROR|EXCEPT  # flags by name; NOWAIT for IPC_NOWAIT
//	c0 snd 5 10 NOWAIT          # msgsnd(mtype 5, 10 bytes of text)
//	c0 rcv 2 64 COPY|NOWAIT     # MSG_COPY of message 2
//	c0 set mode=0600 qbytes=40 uid=1000 gid=1000
//	c0 stat                     # IPC_STAT
//	c0 rmid                     # IPC_RMID
//	c1 rcv 0 4 NOWAIT           #=> E2BIG
//
// A comment starting "=>" is what the step must come to (a prefix of its
// outcome as the test prints it: its result, then each caller it woke); the
// scenarios use it so that they read, and are checked, as a specification.
//
// A step runs until it completes or its caller is asleep in the call, and
// until every caller it woke has completed or is asleep again; only then
// does the next step start. That makes a script deterministic wherever
// Linux is: see racy for where it is not, and the scripts that avoid it.
// String prints a script in this language and parseScript reads it, so a
// failing script printed by the test can be replayed as it is
// (MSGQ_BLOCK_SCRIPT=file).

// blockLimits are the limits scripts run with: small, so that a few
// messages fill a queue by bytes and a few empty ones by count.
var blockLimits = msgq.Limits{MsgMax: 48, MsgMnb: 128, MsgMni: 4}

type bkind uint8

const (
	bSnd  bkind = iota // msgsnd
	bRcv               // msgrcv, MSG_COPY included
	bSet               // msgctl IPC_SET, its buffer read by root with IPC_STAT first
	bRmid              // msgctl IPC_RMID
	bStat              // msgctl IPC_STAT
)

var bkindNames = [...]string{"snd", "rcv", "set", "rmid", "stat"}

// bstep is one step of a script.
type bstep struct {
	who   int   // the caller
	kind  bkind //
	typ   int64 // msgsnd's mtype, msgrcv's msgtyp (MSG_COPY: the index)
	size  int   // msgsnd's text length, msgrcv's msgsz
	flags int
	// IPC_SET: the mode and qbytes set, and the owner if setUID/setGID.
	mode   uint16
	qbytes uint64
	setUID bool
	uid    uint32
	setGID bool
	gid    uint32
	// What a scenario says the step comes to: a prefix of its outcome as
	// bstepOut.String prints it, written "#=> ..." after the step.
	want string
}

// bscript is a script: its callers' identities (indices into idents),
// the queue's mode and the steps.
type bscript struct {
	callers []int
	mode    uint16
	steps   []bstep
}

func (st bstep) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "c%d %s", st.who, bkindNames[st.kind])
	switch st.kind {
	case bSnd, bRcv:
		fmt.Fprintf(&b, " %d %d", st.typ, st.size)
		if st.flags != 0 {
			b.WriteString(" " + bflagNames(st.flags))
		}
	case bSet:
		fmt.Fprintf(&b, " mode=%#o qbytes=%d", st.mode, st.qbytes)
		if st.setUID {
			fmt.Fprintf(&b, " uid=%d", st.uid)
		}
		if st.setGID {
			fmt.Fprintf(&b, " gid=%d", st.gid)
		}
	}
	if st.want != "" {
		b.WriteString("  #=> " + st.want)
	}
	return b.String()
}

func (sc *bscript) String() string {
	var b strings.Builder
	b.WriteString("callers")
	for _, c := range sc.callers {
		b.WriteString(" " + idents[c].name)
	}
	fmt.Fprintf(&b, "\nqueue %#o\n", sc.mode)
	for _, st := range sc.steps {
		b.WriteString(st.String() + "\n")
	}
	return b.String()
}

var bflags = []struct {
	bit  int
	name string
}{{msgq.IPC_NOWAIT, "NOWAIT"}, {msgq.MSG_NOERROR, "NOERROR"}, {msgq.MSG_EXCEPT, "EXCEPT"}, {msgq.MSG_COPY, "COPY"}}

func bflagNames(f int) string {
	var names []string
	for _, n := range bflags {
		if f&n.bit != 0 {
			names = append(names, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#o", f))
	}
	return strings.Join(names, "|")
}

// parseScript reads a script in the language String prints. Text after #
// on a line is a comment.
func parseScript(text string) (*bscript, error) {
	sc := &bscript{mode: 0o666}
	byName := map[string]int{}
	for i, id := range idents {
		byName[id.name] = i
	}
	for ln, line := range strings.Split(text, "\n") {
		var want string
		if i := strings.IndexByte(line, '#'); i >= 0 {
			if w, ok := strings.CutPrefix(strings.TrimSpace(line[i+1:]), "=>"); ok {
				want = strings.TrimSpace(w)
			}
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", ln+1, line, fmt.Sprintf(format, a...))
		}
		switch {
		case f[0] == "callers":
			for _, name := range f[1:] {
				c, ok := byName[name]
				if !ok {
					return nil, bad("no identity %q", name)
				}
				sc.callers = append(sc.callers, c)
			}
		case f[0] == "queue" && len(f) == 2:
			m, err := strconv.ParseUint(f[1], 0, 16)
			if err != nil {
				return nil, bad("%v", err)
			}
			sc.mode = uint16(m)
		case strings.HasPrefix(f[0], "c") && len(f) >= 2:
			st, err := parseStep(f)
			if err != nil {
				return nil, bad("%v", err)
			}
			if st.who >= len(sc.callers) {
				return nil, bad("no caller c%d", st.who)
			}
			st.want = want
			sc.steps = append(sc.steps, st)
		default:
			return nil, bad("not a step")
		}
	}
	if len(sc.callers) == 0 {
		return nil, fmt.Errorf("script names no callers")
	}
	return sc, nil
}

func parseStep(f []string) (bstep, error) {
	var st bstep
	who, err := strconv.Atoi(f[0][1:])
	if err != nil || who < 0 {
		return st, fmt.Errorf("bad caller %q", f[0])
	}
	st.who = who
	kind := -1
	for k, name := range bkindNames {
		if name == f[1] {
			kind = k
		}
	}
	if kind < 0 {
		return st, fmt.Errorf("no call %q", f[1])
	}
	st.kind = bkind(kind)
	args := f[2:]
	switch st.kind {
	case bSnd, bRcv:
		if len(args) < 2 || len(args) > 3 {
			return st, fmt.Errorf("want type, size and optional flags")
		}
		if st.typ, err = strconv.ParseInt(args[0], 0, 64); err != nil {
			return st, err
		}
		if st.size, err = strconv.Atoi(args[1]); err != nil || st.size < 0 {
			return st, fmt.Errorf("bad size %q", args[1])
		}
		if len(args) == 3 {
			for _, name := range strings.Split(args[2], "|") {
				found := false
				for _, fl := range bflags {
					if fl.name == name {
						st.flags |= fl.bit
						found = true
					}
				}
				if !found {
					v, err := strconv.ParseInt(name, 0, 32)
					if err != nil {
						return st, fmt.Errorf("no flag %q", name)
					}
					st.flags |= int(v)
				}
			}
		}
	case bSet:
		st.mode, st.qbytes = 0o666, uint64(blockLimits.MsgMnb)
		for _, a := range args {
			k, v, ok := strings.Cut(a, "=")
			n, err := strconv.ParseUint(v, 0, 64)
			if !ok || err != nil {
				return st, fmt.Errorf("bad setting %q", a)
			}
			switch k {
			case "mode":
				st.mode = uint16(n)
			case "qbytes":
				st.qbytes = n
			case "uid":
				st.setUID, st.uid = true, uint32(n)
			case "gid":
				st.setGID, st.gid = true, uint32(n)
			default:
				return st, fmt.Errorf("bad setting %q", a)
			}
		}
	default:
		if len(args) != 0 {
			return st, fmt.Errorf("%s takes no arguments", f[1])
		}
	}
	return st, nil
}

// bres is what one call of a script came to, in a form that compares
// equal between the sides when they agree.
type bres struct {
	errno syscall.Errno
	n     int
	mtype int64
	text  string
	ds    *msgq.MsqidDS // IPC_STAT's, normalized (see normDS)
}

func (r bres) String() string {
	if r.errno != 0 {
		return errnoName(r.errno)
	}
	var b strings.Builder
	b.WriteString("ok")
	if r.n != 0 || r.mtype != 0 {
		fmt.Fprintf(&b, " n=%d type=%d text=%x", r.n, r.mtype, r.text)
	}
	if r.ds != nil {
		b.WriteString(" " + dsString(*r.ds))
	}
	return b.String()
}

func (r bres) equal(o bres) bool {
	if r.errno != o.errno || r.n != o.n || r.mtype != o.mtype || r.text != o.text || (r.ds == nil) != (o.ds == nil) {
		return false
	}
	return r.ds == nil || *r.ds == *o.ds
}

// Tokens normDS puts in msg_lspid and msg_lrpid, which the sides record
// differently: Linux records the process id for a sender and for a receiver
// that took its message itself, and the receiving thread's id for a message
// handed to it while it slept (pipelined_send); msgq records the caller's
// Cred.PID in every case, and each script caller has a PID of its own.
const (
	pidProcess = -1   // the process id (Linux), any caller's Cred.PID (msgq lspid)
	pidThread  = -100 // pidThread - c: caller c's thread id after a hand-over
)

func dsString(ds msgq.MsqidDS) string {
	pid := func(p int32) string {
		switch {
		case p == pidProcess:
			return "pid"
		case p <= pidThread:
			return fmt.Sprintf("tid(c%d)", pidThread-p)
		}
		return strconv.Itoa(int(p))
	}
	set := func(t bool) string {
		if t {
			return "set"
		}
		return "never"
	}
	return fmt.Sprintf("{uid=%d gid=%d cuid=%d cgid=%d mode=%#o cbytes=%d qnum=%d qbytes=%d lspid=%s lrpid=%s stime=%s rtime=%s ctime=%s}",
		ds.Perm.UID, ds.Perm.GID, ds.Perm.CUID, ds.Perm.CGID, ds.Perm.Mode, ds.Cbytes, ds.Qnum, ds.Qbytes,
		pid(ds.Lspid), pid(ds.Lrpid), set(!ds.Stime.IsZero()), set(!ds.Rtime.IsZero()), set(!ds.Ctime.IsZero()))
}

// selectorMatches reports whether a message of type mtype suits a receiver
// waiting with msgtyp and flags (Linux's convert_mode and testmsg).
func selectorMatches(mtype, msgtyp int64, flags int) bool {
	switch {
	case msgtyp == 0:
		return true
	case msgtyp < 0:
		bound := int64(math.MaxInt64)
		if msgtyp != math.MinInt64 {
			bound = -msgtyp
		}
		return mtype <= bound
	case flags&msgq.MSG_EXCEPT != 0:
		return mtype != msgtyp
	}
	return mtype == msgtyp
}

// qmsg is a queued message as MSG_COPY reads it.
type qmsg struct {
	mtype int64
	text  string
}

// selectMessage returns the index of the message a receive with msgtyp
// and flags takes from msgs (oldest first), or -1: the oldest it matches,
// or for msgtyp < 0 the oldest of the least type that matches.
func selectMessage(msgs []qmsg, msgtyp int64, flags int) int {
	best := -1
	for i, m := range msgs {
		if !selectorMatches(m.mtype, msgtyp, flags) {
			continue
		}
		if msgtyp >= 0 {
			return i
		}
		if best < 0 || m.mtype < msgs[best].mtype {
			best = i
		}
	}
	return best
}
