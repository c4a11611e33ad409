package msgq

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fuzz targets call each syscall-shaped entry point with hostile
// arguments on a small namespace of one of the dialects (the last input,
// modulo the number of dialects: 0 is Linux, as in the seeds written
// before dialects) and check that the call does not panic, returns an errno
// that system can return for that call, leaves the namespace's invariants
// intact, and queues or takes exactly what its result says. A call that
// would block is released by removing every queue after a short wait,
// which it must answer with EIDRM. The ids 0, 1 and 2 name the fuzz
// namespace's three queues in every dialect (they are the real ids on
// Linux).
//
//	go test -run '^$' -fuzz FuzzMsgrcv -fuzztime 5m

// The errno values each call may return (the man pages', less ENOMEM,
// EFAULT from bad user pointers, EINTR and ENOSYS, which cannot arise here).
var allowed = map[string][]syscall.Errno{
	"msgget":     {syscall.EACCES, syscall.EEXIST, syscall.EINVAL, syscall.ENOENT, syscall.ENOSPC}, // EINVAL: a msgflg C's int cannot hold
	"msgsnd":     {syscall.EACCES, syscall.EAGAIN, syscall.EIDRM, syscall.EINVAL},
	"msgrcv":     {syscall.E2BIG, syscall.EACCES, syscall.EIDRM, syscall.EINVAL, syscall.ENOMSG},
	"msgctl":     {syscall.EACCES, syscall.EFAULT, syscall.EINVAL, syscall.EPERM},
	"msgctlinfo": {syscall.EFAULT, syscall.EINVAL},
}

// fuzzNS is a namespace of dialect d (0 is Linux) with three queues and
// some messages: 0 (key 1, mode 0o600), 1 (private, 0o640) and 2 (key 3,
// 0o200, qbytes 64); under a dialect whose ids differ, ids maps 0, 1 and
// 2 to the queues' ids.
func fuzzNS(t *testing.T, d uint8) (ns *Namespace, ids func(int) int) {
	dialect := Dialect(int(d) % len(dialectRules))
	ns = NewNamespace(WithCred(owner), WithDialect(dialect), WithLimits(Limits{MsgMax: 128, MsgMnb: 512, MsgMni: 4, MsgTql: 8, MsgMnm: 8, MsgSeg: 64}))
	var real []int
	for _, q := range []struct {
		key  Key
		mode int
	}{{1, 0o600}, {IPC_PRIVATE, 0o640}, {3, 0o200}} {
		id, err := ns.Msgget(q.key, IPC_CREAT|q.mode)
		if err != nil {
			t.Fatal(err)
		}
		real = append(real, id)
	}
	for i, m := range []msg{{1, "one"}, {2, "two!"}, {1, ""}, {7, "seven......."}} {
		if err := ns.Msgsnd(real[i%2], m.Type, []byte(m.Text), IPC_NOWAIT); err != nil {
			t.Fatal(err)
		}
	}
	ds := stat(t, ns, real[2])
	ds.Qbytes = 64
	if _, err := ns.Msgctl(real[2], IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	return ns, func(id int) int {
		if id >= 0 && id < len(real) {
			return real[id]
		}
		return id
	}
}

// qnum is the number of messages in all of ns's queues.
func qnum(ns *Namespace) int {
	n := 0
	ns.core.mu.Lock()
	defer ns.core.mu.Unlock()
	ns.core.ids.each(func(q *queue) { n += int(q.msgs.count) })
	return n
}

// liveIDs lists the ids of ns's queues.
func liveIDs(ns *Namespace) []int {
	var ids []int
	ns.core.mu.Lock()
	defer ns.core.mu.Unlock()
	ns.core.ids.each(func(q *queue) { ids = append(ids, int(q.id)) })
	return ids
}

// bounded runs call and, once it is waiting in a queue, removes every
// queue so that it must return: it reports whether it did.
func bounded(t *testing.T, ns *Namespace, call func()) (removed bool) {
	done := make(chan struct{})
	go func() { defer close(done); call() }()
	deadline := time.Now().Add(bound)
	for !waitingAnywhere(ns) {
		select {
		case <-done:
			return false
		case <-time.After(50 * time.Microsecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the call neither returned nor waited")
		}
	}
	for _, id := range liveIDs(ns) {
		ns.As(Root).Msgctl(id, IPC_RMID, nil)
	}
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatal("a blocked call did not return after IPC_RMID")
	}
	return true
}

// waitingAnywhere reports whether a caller waits in any queue of ns.
func waitingAnywhere(ns *Namespace) bool {
	ns.core.mu.Lock()
	defer ns.core.mu.Unlock()
	waiting := false
	ns.core.ids.each(func(q *queue) {
		waiting = waiting || q.nBlocked() > 0
	})
	return waiting
}

// verdict checks the common property of every target.
func verdict(t *testing.T, ns *Namespace, call string, err error) {
	t.Helper()
	if err != nil {
		errno, ok := err.(syscall.Errno)
		if !ok || !slices.Contains(allowedIn(ns.Dialect(), call), errno) {
			t.Fatalf("%s returned %v (%T), which %v does not return for it", call, err, err, ns.Dialect())
		}
	}
	if err := checkInvariants(ns); err != nil {
		t.Fatalf("after %s: %v", call, err)
	}
}

// outOfCInt reports whether any of v is outside C's int: such an argument
// must fail the call with EINVAL before anything else, changing nothing.
func outOfCInt(v ...int) bool {
	for _, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return true
		}
	}
	return false
}

// allowedIn is allowed as dialect d narrows it: OpenBSD's msgrcv never
// says E2BIG (it truncates), and only Linux has MsgctlInfo's EFAULT.
func allowedIn(d Dialect, call string) []syscall.Errno {
	errs := allowed[call]
	switch {
	case d == OpenBSD && call == "msgrcv":
		errs = slices.DeleteFunc(slices.Clone(errs), func(e syscall.Errno) bool { return e == syscall.E2BIG })
	case d != Linux && call == "msgctlinfo":
		errs = []syscall.Errno{syscall.EINVAL}
	}
	return errs
}

// fingerprint is everything a call could change in a fuzz namespace: each
// queue's IPC_STAT and messages, by table index.
func fingerprint(ns *Namespace) string {
	var b strings.Builder
	ns.core.mu.Lock()
	defer ns.core.mu.Unlock()
	ns.core.ids.each(func(q *queue) {
		fmt.Fprintf(&b, "%d %+v\n", q.id, q.stat())
		for _, m := range q.msgs.all() {
			fmt.Fprintf(&b, "  %d %q\n", m.Type, m.Text)
		}
	})
	return b.String()
}

// checkCInt fails the test if a call given an argument outside C's int did
// anything but fail with EINVAL.
func checkCInt(t *testing.T, before string, ns *Namespace, call string, err error, args ...int) {
	t.Helper()
	if !outOfCInt(args...) {
		return
	}
	if err != syscall.EINVAL {
		t.Fatalf("%s with an argument outside C's int returned %v, want EINVAL", call, err)
	}
	if after := fingerprint(ns); after != before {
		t.Fatalf("%s with an argument outside C's int changed the namespace:\nbefore %s\nafter  %s", call, before, after)
	}
}

// who picks one of the test identities, or Root.
func who(n uint8) Cred {
	return []Cred{owner, creator, member, suppl, stranger, rootNoCaps, Root}[int(n)%7]
}

func FuzzMsgget(f *testing.F) {
	f.Add(int32(1), 0, uint8(0), uint8(Linux))
	f.Add(int32(0), IPC_CREAT|0o777, uint8(4), uint8(Linux))
	f.Add(int32(3), IPC_CREAT|IPC_EXCL, uint8(1), uint8(Linux))
	f.Add(int32(-1), math.MinInt, uint8(6), uint8(Linux))
	f.Add(int32(0), 1<<32|IPC_CREAT|0o600, uint8(0), uint8(Linux))
	f.Add(int32(1), math.MinInt32-1, uint8(0), uint8(Linux))
	f.Add(int32(1), 0o060, uint8(4), uint8(OpenBSD))
	f.Add(int32(1), IPC_CREAT|0o100, uint8(6), uint8(FreeBSD))
	f.Add(int32(1), 0o666, uint8(6), uint8(Illumos))
	f.Fuzz(func(t *testing.T, key int32, flg int, as uint8, d uint8) {
		ns, _ := fuzzNS(t, d)
		before, print := qnum(ns), fingerprint(ns)
		id, err := ns.As(who(as)).Msgget(Key(key), flg)
		verdict(t, ns, "msgget", err)
		checkCInt(t, print, ns, "msgget", err, flg)
		if (err == nil) != (id >= 0) {
			t.Fatalf("msgget returned %d, %v", id, err)
		}
		if qnum(ns) != before {
			t.Fatal("msgget changed the messages")
		}
	})
}

func FuzzMsgsnd(f *testing.F) {
	f.Add(0, int64(1), 10, IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(2, int64(math.MaxInt64), 60, 0, uint8(0), uint8(Linux))
	f.Add(-1, int64(-5), 200, math.MaxInt, uint8(3), uint8(Linux))
	f.Add(1<<15, int64(0), 0, 0, uint8(6), uint8(Linux))
	f.Add(1<<32, int64(1), 1, IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(0, int64(1), 1, 1<<32|IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(math.MaxInt32+1, int64(1), 1, math.MinInt64, uint8(0), uint8(Linux))
	f.Add(2, int64(0), 1, IPC_NOWAIT, uint8(0), uint8(OpenBSD))
	f.Add(-65535, int64(1), 3, IPC_NOWAIT, uint8(0), uint8(OpenBSD))
	f.Add(1, int64(1<<32+7), 9, IPC_NOWAIT, uint8(0), uint8(AIX))
	f.Add(0, int64(1), 100, 0, uint8(0), uint8(FreeBSD))
	f.Add(0, int64(1), 100, 0, uint8(0), uint8(SVR4))
	f.Fuzz(func(t *testing.T, id int, mtype int64, size int, flg int, as uint8, d uint8) {
		if size < 0 || size > 1<<16 {
			size = int(uint(size) % (1 << 16))
		}
		ns, ids := fuzzNS(t, d)
		id = ids(id)
		before, print := qnum(ns), fingerprint(ns)
		var err error
		removed := bounded(t, ns, func() { err = ns.As(who(as)).Msgsnd(id, mtype, make([]byte, size), flg) })
		verdict(t, ns, "msgsnd", err)
		checkCInt(t, print, ns, "msgsnd", err, id, flg)
		if removed {
			if err != syscall.EIDRM {
				t.Fatalf("a msgsnd blocked at IPC_RMID returned %v", err)
			}
			return
		}
		if want := before + map[bool]int{true: 1}[err == nil]; qnum(ns) != want {
			t.Fatalf("msgsnd returned %v and left %d messages (had %d)", err, qnum(ns), before)
		}
	})
}

func FuzzMsgrcv(f *testing.F) {
	f.Add(0, 10, int64(0), IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(1, 2, int64(-7), MSG_NOERROR, uint8(2), uint8(Linux))
	f.Add(0, 100, int64(1), MSG_COPY|IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(0, 0, int64(math.MinInt64), MSG_EXCEPT|IPC_NOWAIT, uint8(6), uint8(Linux))
	f.Add(-1, -1, int64(math.MaxInt64), math.MinInt, uint8(4), uint8(Linux))
	f.Add(1<<32+1, 10, int64(0), IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(0, 10, int64(0), 1<<32|IPC_NOWAIT, uint8(0), uint8(Linux))
	f.Add(math.MinInt32-1, 10, int64(0), math.MaxInt64, uint8(0), uint8(Linux))
	f.Add(0, 2, int64(-3), IPC_NOWAIT, uint8(0), uint8(OpenBSD))
	f.Add(0, 2, int64(-3), IPC_NOWAIT|MSG_COPY, uint8(0), uint8(FreeBSD))
	f.Add(1, 2, int64(1<<32+2), MSG_NOERROR, uint8(0), uint8(Illumos))
	f.Fuzz(func(t *testing.T, id int, size int, msgtyp int64, flg int, as uint8, d uint8) {
		if size < 0 || size > 1<<16 {
			size = int(uint(size) % (1 << 16))
		}
		ns, ids := fuzzNS(t, d)
		id = ids(id)
		before, print := qnum(ns), fingerprint(ns)
		var n int
		var err error
		removed := bounded(t, ns, func() { n, _, err = ns.As(who(as)).Msgrcv(id, make([]byte, size), msgtyp, flg) })
		verdict(t, ns, "msgrcv", err)
		checkCInt(t, print, ns, "msgrcv", err, id, flg)
		if removed {
			if err != syscall.EIDRM {
				t.Fatalf("a msgrcv blocked at IPC_RMID returned %v", err)
			}
			return
		}
		want := before
		if err == nil && int32(flg)&MSG_COPY&ns.core.rules.recvFlags == 0 {
			want--
		}
		if qnum(ns) != want || (err == nil && (n < 0 || n > size)) || (err != nil && n != -1) {
			t.Fatalf("msgrcv returned %d, %v and left %d messages (had %d)", n, err, qnum(ns), before)
		}
	})
}

func FuzzMsgctl(f *testing.F) {
	f.Add(0, IPC_STAT, false, uint16(0o600), uint64(100), uint32(1000), uint32(1000), uint8(0), uint8(Linux))
	f.Add(2, IPC_SET, false, uint16(0o7777), uint64(1<<31), uint32(math.MaxUint32), uint32(0), uint8(1), uint8(Linux))
	f.Add(1, IPC_RMID, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(4), uint8(Linux))
	f.Add(1<<15, MSG_STAT, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(5), uint8(Linux))
	f.Add(-1, math.MaxInt, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(6), uint8(Linux))
	f.Add(1<<32, IPC_RMID, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(6), uint8(Linux))
	f.Add(0, 1<<32|IPC_SET, false, uint16(0o777), uint64(100), uint32(1000), uint32(1000), uint8(6), uint8(Linux))
	f.Add(math.MaxInt64, IPC_STAT, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(0), uint8(Linux))
	f.Add(0, IPC_SET, false, uint16(0o600), uint64(0), uint32(1000), uint32(1000), uint8(0), uint8(OpenBSD))
	f.Add(0, IPC_RMID, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(4), uint8(FreeBSD))
	f.Add(1, IPC_SET, false, uint16(0o600), uint64(1<<20), uint32(1<<31), uint32(0), uint8(0), uint8(Illumos))
	f.Add(2, MSG_STAT_ANY, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(6), uint8(SVR4))
	f.Fuzz(func(t *testing.T, id int, cmd int, nilBuf bool, mode uint16, qbytes uint64, uid, gid uint32, as uint8, d uint8) {
		ns, ids := fuzzNS(t, d)
		id = ids(id)
		var buf *MsqidDS
		if !nilBuf {
			buf = &MsqidDS{Perm: IPCPerm{UID: uid, GID: gid, Mode: mode}, Qbytes: qbytes}
		}
		before, print := qnum(ns), fingerprint(ns)
		r, err := ns.As(who(as)).Msgctl(id, cmd, buf)
		verdict(t, ns, "msgctl", err)
		checkCInt(t, print, ns, "msgctl", err, id, cmd)
		if (err == nil) != (r >= 0) {
			t.Fatalf("msgctl returned %d, %v", r, err)
		}
		if int32(cmd) != IPC_RMID && qnum(ns) != before {
			t.Fatal("msgctl changed the messages")
		}
	})
}

func FuzzMsgctlInfo(f *testing.F) {
	f.Add(IPC_INFO, false, uint8(Linux))
	f.Add(MSG_INFO, true, uint8(Linux))
	f.Add(math.MinInt, false, uint8(Linux))
	f.Add(1<<32|MSG_INFO, false, uint8(Linux))
	f.Add(IPC_INFO, false, uint8(AIX))
	f.Fuzz(func(t *testing.T, cmd int, nilBuf bool, d uint8) {
		ns, _ := fuzzNS(t, d)
		var buf *MsgInfo
		if !nilBuf {
			buf = new(MsgInfo)
		}
		print := fingerprint(ns)
		r, err := ns.MsgctlInfo(cmd, buf)
		verdict(t, ns, "msgctlinfo", err)
		checkCInt(t, print, ns, "msgctlinfo", err, cmd)
		if err == nil && (r != 2 || buf.Msgpool == 0) {
			t.Fatalf("MsgctlInfo returned %d, %+v", r, *buf)
		}
	})
}
