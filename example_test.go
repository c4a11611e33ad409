package msgq_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// The quick start: a namespace of its own, a queue, a message there and back.
func Example() {
	ns := msgq.NewNamespace()
	id, err := ns.Msgget(0x1234, msgq.IPC_CREAT|0o600)
	if err != nil {
		panic(err)
	}
	if err := ns.Msgsnd(id, 1, []byte("hello"), 0); err != nil {
		panic(err)
	}
	buf := make([]byte, 64)
	n, mtype, err := ns.Msgrcv(id, buf, 0, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("type %d: %s\n", mtype, buf[:n])

	// Errors are the errno values Linux returns for the same calls.
	_, _, err = ns.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT)
	fmt.Println(err == syscall.ENOMSG)
	// Output:
	// type 1: hello
	// true
}

// Receive by type: msgtyp > 0 takes the oldest message of that type,
// msgtyp < 0 the oldest of the least type not above |msgtyp|.
func Example_typedReceive() {
	ns := msgq.NewNamespace()
	q, _ := ns.Get(msgq.IPC_PRIVATE, 0o600)
	ctx := context.Background()
	for _, m := range []msgq.Message{{Type: 3, Text: []byte("low")}, {Type: 1, Text: []byte("urgent")}, {Type: 2, Text: []byte("normal")}} {
		q.Send(ctx, m.Type, m.Text, 0)
	}
	m, _ := q.Recv(ctx, 2, 64, 0) // exactly type 2
	fmt.Println(m.Type, string(m.Text))
	m, _ = q.Recv(ctx, -3, 64, 0) // the least type up to 3: a priority queue
	fmt.Println(m.Type, string(m.Text))
	_, err := q.Recv(ctx, 3, 64, msgq.MSG_EXCEPT|msgq.IPC_NOWAIT) // anything but type 3
	fmt.Println(err)
	m, _ = q.Recv(ctx, 0, 64, 0) // the oldest, whatever its type
	fmt.Println(m.Type, string(m.Text))
	// Output:
	// 2 normal
	// 1 urgent
	// no message of desired type
	// 3 low
}

// MSG_COPY reads the message at a position without taking it: a way to
// look into a queue, as CRIU does.
func Example_peek() {
	ns := msgq.NewNamespace()
	id, _ := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	for i, text := range []string{"first", "second", "third"} {
		ns.Msgsnd(id, int64(i+1), []byte(text), 0)
	}
	buf := make([]byte, 64)
	for k := int64(0); ; k++ {
		n, mtype, err := ns.Msgrcv(id, buf, k, msgq.MSG_COPY|msgq.IPC_NOWAIT)
		if err == syscall.ENOMSG {
			break
		}
		fmt.Printf("%d: type %d %q\n", k, mtype, buf[:n])
	}
	var ds msgq.MsqidDS
	ns.Msgctl(id, msgq.IPC_STAT, &ds)
	fmt.Println("still queued:", ds.Qnum)
	// Output:
	// 0: type 1 "first"
	// 1: type 2 "second"
	// 2: type 3 "third"
	// still queued: 3
}

// A worker pool: workers block on one queue and answer on another, each
// reply typed with the id of the job it answers.
func Example_workerPool() {
	ns := msgq.NewNamespace()
	jobs, _ := ns.Get(msgq.IPC_PRIVATE, 0o600)
	replies, _ := ns.Get(msgq.IPC_PRIVATE, 0o600)
	ctx, stop := context.WithCancel(context.Background())

	var workers sync.WaitGroup
	for range 3 {
		workers.Go(func() {
			buf := make([]byte, 64)
			for {
				n, job, err := jobs.RecvInto(ctx, buf, 0, 0)
				if err != nil {
					return // the context ended
				}
				replies.Send(ctx, job, []byte(fmt.Sprintf("%s squared", buf[:n])), 0)
			}
		})
	}
	for job := int64(1); job <= 5; job++ {
		jobs.Send(ctx, job, []byte(fmt.Sprint(job)), 0)
	}
	var got []string
	for job := int64(1); job <= 5; job++ {
		m, _ := replies.Recv(ctx, job, 64, 0) // the reply to this job, whoever made it
		got = append(got, string(m.Text))
	}
	stop()
	workers.Wait()
	fmt.Println(slices.Sorted(slices.Values(got)))
	// Output:
	// [1 squared 2 squared 3 squared 4 squared 5 squared]
}

// Namespaces are independent, and views act with other credentials.
func ExampleNamespace_As() {
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000}))
	id, _ := ns.Msgget(42, msgq.IPC_CREAT|0o600)
	other := ns.As(msgq.Cred{UID: 2000, GID: 2000})
	err := other.Msgsnd(id, 1, []byte("hi"), 0)
	fmt.Println(err, err == syscall.EACCES)
	// Output:
	// permission denied true
}

// The listing is the one ipcs -q prints, with numeric owners.
func ExampleNamespace_String() {
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000}))
	id, _ := ns.Msgget(0x2a, msgq.IPC_CREAT|0o640)
	ns.Msgsnd(id, 1, []byte("hello"), 0)
	fmt.Print(ns)
	// Output:
	// ------ Message Queues --------
	// key        msqid      owner      perms      used-bytes   messages
	// 0x0000002a 0          1000       640        5            1
}

// A blocking receive gives up when its context ends, having consumed nothing.
func ExampleQueue_Recv() {
	ns := msgq.NewNamespace()
	q, _ := ns.Get(msgq.IPC_PRIVATE, 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := q.Recv(ctx, 0, 64, 0)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// true
}
