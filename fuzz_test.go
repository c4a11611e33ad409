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
// arguments on a small namespace and check that the call does not panic,
// returns an errno Linux can return for that call, leaves the namespace's
// invariants intact, and queues or takes exactly what its result says. A
// call that would block is released by removing every queue after a short
// wait, which it must answer with EIDRM.
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

// fuzzNS is a namespace of three queues with some messages: ids 0 (key
// 1, mode 0o600), 1 (private, 0o640) and 2 (key 3, 0o200, qbytes 64).
func fuzzNS(t *testing.T) *Namespace {
	ns := NewNamespace(WithCred(owner), WithLimits(Limits{MsgMax: 128, MsgMnb: 512, MsgMni: 4}))
	for _, q := range []struct {
		key  Key
		mode int
	}{{1, 0o600}, {IPC_PRIVATE, 0o640}, {3, 0o200}} {
		if _, err := ns.Msgget(q.key, IPC_CREAT|q.mode); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range []msg{{1, "one"}, {2, "two!"}, {1, ""}, {7, "seven......."}} {
		if err := ns.Msgsnd(i%2, m.Type, []byte(m.Text), IPC_NOWAIT); err != nil {
			t.Fatal(err)
		}
	}
	ds := stat(t, ns, 2)
	ds.Qbytes = 64
	if _, err := ns.Msgctl(2, IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	return ns
}

// qnum is the number of messages in all of ns's queues.
func qnum(ns *Namespace) int {
	var info MsgInfo
	ns.As(Root).MsgctlInfo(MSG_INFO, &info)
	return int(info.Msgmap)
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
	for idx := range minCycle { // every index a namespace of four queues can use
		var ds MsqidDS
		if id, err := ns.As(Root).Msgctl(idx, MSG_STAT_ANY, &ds); err == nil {
			ns.As(Root).Msgctl(id, IPC_RMID, nil)
		}
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
		if !ok || !slices.Contains(allowed[call], errno) {
			t.Fatalf("%s returned %v (%T), which Linux does not return for it", call, err, err)
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

// fingerprint is everything a call could change in a fuzz namespace: each
// queue's IPC_STAT and messages (read with MSG_COPY), by table index.
func fingerprint(ns *Namespace) string {
	root := ns.As(Root)
	var b strings.Builder
	for idx := range minCycle {
		var ds MsqidDS
		id, err := root.Msgctl(idx, MSG_STAT_ANY, &ds)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%d %+v\n", id, ds)
		buf := make([]byte, 1<<10)
		for k := int64(0); ; k++ {
			n, mtype, err := root.Msgrcv(id, buf, k, IPC_NOWAIT|MSG_COPY)
			if err != nil {
				break
			}
			fmt.Fprintf(&b, "  %d %q\n", mtype, buf[:n])
		}
	}
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
	f.Add(int32(1), 0, uint8(0))
	f.Add(int32(0), IPC_CREAT|0o777, uint8(4))
	f.Add(int32(3), IPC_CREAT|IPC_EXCL, uint8(1))
	f.Add(int32(-1), math.MinInt, uint8(6))
	f.Add(int32(0), 1<<32|IPC_CREAT|0o600, uint8(0))
	f.Add(int32(1), math.MinInt32-1, uint8(0))
	f.Fuzz(func(t *testing.T, key int32, flg int, as uint8) {
		ns := fuzzNS(t)
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
	f.Add(0, int64(1), 10, IPC_NOWAIT, uint8(0))
	f.Add(2, int64(math.MaxInt64), 60, 0, uint8(0))
	f.Add(-1, int64(-5), 200, math.MaxInt, uint8(3))
	f.Add(1<<15, int64(0), 0, 0, uint8(6))
	f.Add(1<<32, int64(1), 1, IPC_NOWAIT, uint8(0))
	f.Add(0, int64(1), 1, 1<<32|IPC_NOWAIT, uint8(0))
	f.Add(math.MaxInt32+1, int64(1), 1, math.MinInt64, uint8(0))
	f.Fuzz(func(t *testing.T, id int, mtype int64, size int, flg int, as uint8) {
		if size < 0 || size > 1<<16 {
			size = int(uint(size) % (1 << 16))
		}
		ns := fuzzNS(t)
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
	f.Add(0, 10, int64(0), IPC_NOWAIT, uint8(0))
	f.Add(1, 2, int64(-7), MSG_NOERROR, uint8(2))
	f.Add(0, 100, int64(1), MSG_COPY|IPC_NOWAIT, uint8(0))
	f.Add(0, 0, int64(math.MinInt64), MSG_EXCEPT|IPC_NOWAIT, uint8(6))
	f.Add(-1, -1, int64(math.MaxInt64), math.MinInt, uint8(4))
	f.Add(1<<32+1, 10, int64(0), IPC_NOWAIT, uint8(0))
	f.Add(0, 10, int64(0), 1<<32|IPC_NOWAIT, uint8(0))
	f.Add(math.MinInt32-1, 10, int64(0), math.MaxInt64, uint8(0))
	f.Fuzz(func(t *testing.T, id int, size int, msgtyp int64, flg int, as uint8) {
		if size < 0 || size > 1<<16 {
			size = int(uint(size) % (1 << 16))
		}
		ns := fuzzNS(t)
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
		if err == nil && int32(flg)&MSG_COPY == 0 {
			want--
		}
		if qnum(ns) != want || (err == nil && (n < 0 || n > size)) || (err != nil && n != -1) {
			t.Fatalf("msgrcv returned %d, %v and left %d messages (had %d)", n, err, qnum(ns), before)
		}
	})
}

func FuzzMsgctl(f *testing.F) {
	f.Add(0, IPC_STAT, false, uint16(0o600), uint64(100), uint32(1000), uint32(1000), uint8(0))
	f.Add(2, IPC_SET, false, uint16(0o7777), uint64(1<<31), uint32(math.MaxUint32), uint32(0), uint8(1))
	f.Add(1, IPC_RMID, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(4))
	f.Add(1<<15, MSG_STAT, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(5))
	f.Add(-1, math.MaxInt, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(6))
	f.Add(1<<32, IPC_RMID, true, uint16(0), uint64(0), uint32(0), uint32(0), uint8(6))
	f.Add(0, 1<<32|IPC_SET, false, uint16(0o777), uint64(100), uint32(1000), uint32(1000), uint8(6))
	f.Add(math.MaxInt64, IPC_STAT, false, uint16(0), uint64(0), uint32(0), uint32(0), uint8(0))
	f.Fuzz(func(t *testing.T, id int, cmd int, nilBuf bool, mode uint16, qbytes uint64, uid, gid uint32, as uint8) {
		ns := fuzzNS(t)
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
	f.Add(IPC_INFO, false)
	f.Add(MSG_INFO, true)
	f.Add(math.MinInt, false)
	f.Add(1<<32|MSG_INFO, false)
	f.Fuzz(func(t *testing.T, cmd int, nilBuf bool) {
		ns := fuzzNS(t)
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
