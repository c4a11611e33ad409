package msgqtest_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/msgqtest"
)

// printTB stands in for the *testing.T of a test, so that the example can
// show what msgqtest reports; a real test passes its t.
type printTB struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (p *printTB) Helper()                   {}
func (p *printTB) Cleanup(f func())          { p.cleanups = append(p.cleanups, f) }
func (p *printTB) Failed() bool              { return p.failed }
func (p *printTB) Logf(f string, a ...any)   { fmt.Printf(f+"\n", a...) }
func (p *printTB) Errorf(f string, a ...any) { p.failed = true; fmt.Printf("FAIL: "+f+"\n", a...) }
func (p *printTB) end() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
}

// A test that leaves a receiver blocked fails when it ends, and shows the
// namespace and its last calls. Here the code under test sends type 1
// where its peer waits for type 2.
func ExampleNew() {
	t := &printTB{} // in a test: the test's t
	ns := msgqtest.New(t, msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}))
	id, _ := ns.Msgget(0x2a, msgq.IPC_CREAT|0o600)
	go ns.Msgrcv(id, make([]byte, 64), 2, 0)
	msgqtest.WaitBlocked(t, ns, id, 1)
	ns.Msgsnd(id, 1, []byte("ping"), 0)

	t.end() // the test ends
	// Output:
	// FAIL: msgqtest: 1 call(s) still blocked when the test ended:
	// 	[pid 7] msgrcv(0, {...}, 64, 2, 0) <unfinished ...>
	// msgqtest: the namespace when the test ended:
	// ------ Message Queues --------
	// key        msqid      owner      perms      used-bytes   messages
	// 0x0000002a 0          1000       600        4            1
	//
	// msgqtest: its last calls, oldest first:
	// 	[pid 7] msgget(0x2a, IPC_CREAT|0600) = 0
	// 	[pid 7] msgsnd(0, {mtype=1, mtext="ping"}, 4, 0) = 0
}

// consume is code under test: it receives until its context ends, and
// gives up on a queue that is silent for a minute.
func consume(ctx context.Context, q *msgq.Queue) (got []string, err error) {
	for {
		wait, cancel := context.WithTimeout(ctx, time.Minute)
		m, err := q.Recv(wait, 0, 64, 0)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(m.Text))
	}
}

// A synctest test with a deadline: in the bubble the minute of silence
// passes at once, on the bubble's clock, and so do the stamps.
func TestConsumeGivesUpAfterAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ns := msgqtest.New(t, msgq.WithFaults(msgqtest.FailNth("msgrcv", 2, syscall.EINTR)))
		q, err := ns.Get(msgq.IPC_PRIVATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		q.Send(t.Context(), 1, []byte("one"), 0)
		start := time.Now()
		got, err := consume(t.Context(), q)
		if !errors.Is(err, syscall.EINTR) || len(got) != 1 {
			t.Fatalf("consume = %q, %v; want one message, then EINTR", got, err)
		}
		got, err = consume(t.Context(), q) // the caller retries
		if err != nil || len(got) != 0 {
			t.Fatalf("consume = %q, %v; want nothing after a minute", got, err)
		}
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("waited %v, want a minute of bubble time", waited)
		}
		if ds, _ := q.Stat(); !ds.Rtime.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("msg_rtime %v, want the bubble's start", ds.Rtime)
		}
		q.Remove()
	})
}

// Producer is the README's code under test: it sends jobs on a SysV queue
// through msgq.IPC, the kernel's in production.
type Producer struct {
	IPC msgq.IPC
	ID  int
}

func (p *Producer) Send(job []byte) error {
	for {
		err := p.IPC.Msgsnd(p.ID, 1, job, 0)
		if err == syscall.EINTR { // Linux never restarts msgsnd after a signal handler
			continue
		}
		return err
	}
}

// The README's test of it.
func TestProducerRetriesOnEINTR(t *testing.T) {
	ns := msgqtest.New(t, msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ds := msgq.MsqidDS{Perm: msgq.IPCPerm{UID: 1000, GID: 1000, Mode: 0o600}, Qbytes: 4}
	if _, err := ns.Msgctl(id, msgq.IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	if err := ns.Msgsnd(id, 1, []byte("full"), 0); err != nil {
		t.Fatal(err)
	}

	p := &Producer{IPC: ns, ID: id}
	done := make(chan error)
	go func() { done <- p.Send([]byte("job")) }()
	msgqtest.WaitBlocked(t, ns, id, 1)
	if n := ns.Interrupt(7); n != 1 {
		t.Fatalf("Interrupt = %d, want 1", n)
	}
	msgqtest.WaitBlocked(t, ns, id, 1)
	if _, _, err := ns.Msgrcv(id, make([]byte, 4), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
