package msgq_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// receive is the loop that code calling msgrcv(2) needs: Linux never
// restarts msgrcv after a signal handler ran, whatever SA_RESTART says,
// and in a Go program the runtime's own preemption signals interrupt it.
func receive(ipc msgq.IPC, id int, buf []byte, tries *int) (int, error) {
	for {
		*tries++
		n, _, err := ipc.Msgrcv(id, buf, 0, 0)
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}

// Testing a retry loop against EINTR: Interrupt does to the blocked
// receiver what a signal would.
func ExampleNamespace_Interrupt() {
	const pid = 42
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: pid}))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		panic(err)
	}
	tries := 0
	done := make(chan string)
	go func() {
		buf := make([]byte, 16)
		n, err := receive(ns, id, buf, &tries)
		if err != nil {
			panic(err)
		}
		done <- string(buf[:n])
	}()

	ctx := context.Background()
	ns.WaitBlocked(ctx, id, 1) // the receiver sleeps in msgrcv
	fmt.Println("interrupted:", ns.Interrupt(pid))
	ns.WaitBlocked(ctx, id, 1) // and sleeps again: the loop retried
	if err := ns.Msgsnd(id, 1, []byte("hello"), 0); err != nil {
		panic(err)
	}
	fmt.Println(<-done, "after", tries, "tries")
	// Output:
	// interrupted: 1
	// hello after 2 tries
}

// send is code under test: it retries a non-blocking msgsnd that finds the
// queue full, a few times.
func send(ipc msgq.IPC, id int, text []byte) (tries int, err error) {
	for tries = 1; ; tries++ {
		err = ipc.Msgsnd(id, 1, text, msgq.IPC_NOWAIT)
		if err != syscall.EAGAIN || tries == 5 {
			return tries, err
		}
	}
}

// Testing a retry loop against EAGAIN: a fault hook makes the first two
// sends fail as a full queue would, without filling any queue. Package
// msgqtest has ready-made hooks: msgqtest.FailNth, FailIf, FailRandom.
func ExampleWithFaults() {
	var sends atomic.Int32
	ns := msgq.NewNamespace(msgq.WithFaults(func(c msgq.Call) error {
		if c.Op == "msgsnd" && sends.Add(1) <= 2 {
			return syscall.EAGAIN
		}
		return nil
	}))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		panic(err)
	}
	tries, err := send(ns, id, []byte("hello"))
	fmt.Println("sent after", tries, "tries:", err)
	var ds msgq.MsqidDS
	ns.Msgctl(id, msgq.IPC_STAT, &ds)
	fmt.Println("messages queued:", ds.Qnum)
	// Output:
	// sent after 3 tries: <nil>
	// messages queued: 1
}

// A trace of every call, as strace shows system calls.
func ExampleWithTrace() {
	ns := msgq.NewNamespace(
		msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}),
		msgq.WithTrace(func(e msgq.TraceEntry) { fmt.Println(e) }),
	)
	id, _ := ns.Msgget(0x2a, msgq.IPC_CREAT|0o600)
	ns.Msgsnd(id, 2, []byte("hello"), msgq.IPC_NOWAIT)
	ns.Msgrcv(id, make([]byte, 64), 3, msgq.IPC_NOWAIT)
	ns.Msgrcv(id, make([]byte, 64), 0, 0)
	ns.Msgctl(id, msgq.IPC_RMID, nil)
	// Output:
	// [pid 7] msgget(0x2a, IPC_CREAT|0600) = 0
	// [pid 7] msgsnd(0, {mtype=2, mtext="hello"}, 5, IPC_NOWAIT) = 0
	// [pid 7] msgrcv(0, {...}, 64, 3, IPC_NOWAIT) = -1 ENOMSG (No message of desired type)
	// [pid 7] msgrcv(0, {mtype=2, mtext="hello"}, 64, 0, 0) = 5
	// [pid 7] msgctl(0, IPC_RMID, NULL) = 0
}
