// Package msgqtest is a kit for testing code that uses System V message
// queues on msgq: a namespace per test that checks, when the test ends,
// that no call was left blocked in it (New), stricter checks for the end
// (AtEnd), a wait for callers to block (WaitBlocked), and ready-made fault
// hooks for msgq.WithFaults that compose (FailNth, FailIf, FailRandom,
// When, Chain).
//
// A typical test hands the namespace to the code under test as an
// msgq.IPC (the kernel backend, package kernel, serves the same interface
// in production), injects the faults the code must survive, and lets New
// report leaks and, on failure, the namespace's listing and its last
// calls:
//
//	ns := msgqtest.New(t, msgq.WithFaults(msgqtest.FailNth("msgsnd", 2, syscall.EAGAIN)))
//	runProducer(ns) // takes an msgq.IPC
package msgqtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sysvmsg/msgq"
)

// Recent is how many of a namespace's last calls New logs when a test
// fails.
const Recent = 32

// New returns a fresh namespace for one test, made with opts. When the test
// ends (t.Cleanup) it fails the test if calls are still blocked in the
// namespace (a goroutine left in Recv is a leak the test should hear
// about), naming each blocked call as strace names a call in progress;
// when the test has failed, for that or any other reason, it logs the
// namespace's listing (ipcs -q, see msgq.Namespace.String) and its last
// Recent calls from a trace (see msgq.WithTrace). Then it removes the
// queues left, so that goroutines still blocked return EIDRM instead of
// leaking (and a testing/synctest bubble can end).
//
// The checks read the namespace through WithoutHooks, so the faults the
// test injects do not disturb them and the trace does not record them.
// New works inside a testing/synctest bubble: the namespace then runs on
// the bubble's clock.
func New(t testing.TB, opts ...msgq.Option) *msgq.Namespace {
	t.Helper()
	rec := &recorder{}
	ns := msgq.NewNamespace(append([]msgq.Option{msgq.WithTrace(rec.add)}, opts...)...)
	t.Cleanup(func() { finish(t, ns, rec) })
	return ns
}

// finish is New's cleanup.
func finish(t testing.TB, ns *msgq.Namespace, rec *recorder) {
	t.Helper()
	bare := ns.WithoutHooks()
	if blocked := bare.Blocked(); len(blocked) > 0 {
		var b strings.Builder
		for _, c := range blocked {
			fmt.Fprintf(&b, "\n\t%v <unfinished ...>", c)
		}
		t.Errorf("msgqtest: %d call(s) still blocked when the test ended:%s", len(blocked), b.String())
	}
	if t.Failed() {
		t.Logf("msgqtest: the namespace when the test ended:\n%s", bare)
		t.Logf("msgqtest: its last calls, oldest first:\n%s", rec.String())
	}
	removeAll(bare.As(msgq.Root))
}

// removeAll removes every queue in the namespace.
func removeAll(ns *msgq.Namespace) {
	var info msgq.MsgInfo
	highest, err := ns.MsgctlInfo(msgq.MSG_INFO, &info)
	if err != nil || info.Msgpool == 0 {
		return
	}
	for i := 0; i <= highest; i++ {
		var ds msgq.MsqidDS
		if id, err := ns.Msgctl(i, msgq.MSG_STAT_ANY, &ds); err == nil {
			ns.Msgctl(id, msgq.IPC_RMID, nil)
		}
	}
}

// recorder keeps a namespace's last Recent calls.
type recorder struct {
	mu    sync.Mutex
	ring  [Recent]msgq.TraceEntry // guarded by mu
	next  int                     // guarded by mu: where the next entry goes
	total int                     // guarded by mu: entries ever added
}

func (r *recorder) add(e msgq.TraceEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = e
	r.next = (r.next + 1) % Recent
	r.total++
}

// String lists the calls kept, oldest first, one a line.
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	n := min(r.total, Recent)
	if r.total > n {
		fmt.Fprintf(&b, "\t(%d earlier calls not shown)\n", r.total-n)
	}
	if n == 0 {
		b.WriteString("\t(none)\n")
	}
	for i := range n {
		e := r.ring[(r.next-n+i+Recent)%Recent]
		fmt.Fprintf(&b, "\t%v\n", e)
	}
	return b.String()
}

// A Check is a condition a namespace must meet when a test ends (AtEnd); it
// returns an error saying what is wrong, or nil.
type Check func(ns *msgq.Namespace) error

// NoQueuesLeft fails a test that ends with queues in its namespace: the
// code under test must remove what it creates.
func NoQueuesLeft(ns *msgq.Namespace) error {
	var info msgq.MsgInfo
	if _, err := ns.WithoutHooks().MsgctlInfo(msgq.MSG_INFO, &info); err != nil {
		return err
	}
	if info.Msgpool != 0 {
		return fmt.Errorf("%d queue(s) left", info.Msgpool)
	}
	return nil
}

// NoMessagesLeft fails a test that ends with messages queued: everything
// sent must have been received.
func NoMessagesLeft(ns *msgq.Namespace) error {
	var info msgq.MsgInfo
	if _, err := ns.WithoutHooks().MsgctlInfo(msgq.MSG_INFO, &info); err != nil {
		return err
	}
	if info.Msgmap != 0 {
		return fmt.Errorf("%d message(s) of %d bytes left queued", info.Msgmap, info.Msgtql)
	}
	return nil
}

// AtEnd checks ns with each check when the test ends, and fails the test
// (Errorf) for each that does not hold. Called after New, its checks run
// before New's, so a failure here is followed by New's log of the
// namespace as it was.
func AtEnd(t testing.TB, ns *msgq.Namespace, checks ...Check) {
	t.Helper()
	t.Cleanup(func() {
		t.Helper()
		for _, check := range checks {
			if err := check(ns); err != nil {
				t.Errorf("msgqtest: when the test ended: %v", err)
			}
		}
	})
}

// Timeout bounds WaitBlocked.
const Timeout = 10 * time.Second

// WaitBlocked waits, without sleeping, until at least n calls are blocked
// on the queue msqid (see msgq.Namespace.WaitBlocked), so that what the test
// does next finds them waiting. It fails the test (Fatalf, so call it from
// the test's goroutine) if the queue is removed or does not exist, or if
// they have not blocked within Timeout, listing the calls that have.
func WaitBlocked(t testing.TB, ns *msgq.Namespace, msqid, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := ns.WaitBlocked(ctx, msqid, n); err != nil {
		var b strings.Builder
		for _, c := range ns.Blocked() {
			fmt.Fprintf(&b, "\n\t%v <unfinished ...>", c)
		}
		t.Fatalf("msgqtest: waiting for %d call(s) blocked on queue %d: %v; blocked:%s", n, msqid, err, b.String())
	}
}
