package msgq_test

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"

	"github.com/sysvmsg/msgq"
)

// One program, six systems' rules: the same calls under each dialect show
// where a program written against Linux would break elsewhere.
func ExampleWithDialect() {
	user := msgq.Cred{UID: 1000, GID: 1000}
	for _, d := range []msgq.Dialect{msgq.Linux, msgq.OpenBSD, msgq.FreeBSD, msgq.Illumos, msgq.SVR4, msgq.AIX} {
		ns := msgq.NewNamespace(msgq.WithDialect(d), msgq.WithCred(user))
		id, err := ns.Msgget(msgq.IPC_PRIVATE, msgq.IPC_CREAT|0o600)
		if err != nil {
			panic(err)
		}
		for _, t := range []int64{2, 5, 1} {
			if err := ns.Msgsnd(id, t, []byte("x"), msgq.IPC_NOWAIT); err != nil {
				panic(err)
			}
		}
		// msgtyp −3: "the lowest type ≤ 3" on most systems, but not all.
		_, mtype, _ := ns.Msgrcv(id, make([]byte, 8), -3, msgq.IPC_NOWAIT)

		// Lowering msg_qbytes, then raising it again, as the
		// unprivileged owner.
		var ds msgq.MsqidDS
		if _, err := ns.Msgctl(id, msgq.IPC_STAT, &ds); err != nil {
			panic(err)
		}
		ds.Qbytes = 1000
		if _, err := ns.Msgctl(id, msgq.IPC_SET, &ds); err != nil {
			panic(err)
		}
		ds.Qbytes = 1001
		_, raise := ns.Msgctl(id, msgq.IPC_SET, &ds)

		fmt.Printf("%-8s id %-6d msgtyp -3 took %d, raise: %v\n", d, id, mtype, raise)
	}
	// Output:
	// linux    id 0      msgtyp -3 took 1, raise: <nil>
	// openbsd  id 131073 msgtyp -3 took 5, raise: operation not permitted
	// freebsd  id 65536  msgtyp -3 took 2, raise: operation not permitted
	// illumos  id 0      msgtyp -3 took 1, raise: operation not permitted
	// svr4     id 0      msgtyp -3 took 1, raise: operation not permitted
	// aix      id 0      msgtyp -3 took 1, raise: operation not permitted
}

// illumos's msgsnap(2) copies a queue's messages out without taking them,
// in illumos's buffer layout: a head {size, nmsg}, then per message its
// length, its type and its text, 8-byte aligned.
func ExampleNamespace_Msgsnap() {
	ns := msgq.NewNamespace(msgq.WithDialect(msgq.Illumos))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, msgq.IPC_CREAT|0o600)
	if err != nil {
		panic(err)
	}
	ns.Msgsnd(id, 1, []byte("abc"), 0)
	ns.Msgsnd(id, 2, []byte("hello world!"), 0)

	// Ask with the head alone to learn the size, then with a buffer that big.
	head := make([]byte, 16)
	if err := ns.Msgsnap(id, head, 0, 0); err != nil {
		panic(err)
	}
	size := binary.NativeEndian.Uint64(head)
	buf := make([]byte, size)
	if err := ns.Msgsnap(id, buf, 0, 0); err != nil {
		panic(err)
	}
	nmsg := binary.NativeEndian.Uint64(buf[8:])
	fmt.Println("size", size, "messages", nmsg)
	off := uint64(16)
	for range nmsg {
		mlen := binary.NativeEndian.Uint64(buf[off:])
		mtype := int64(binary.NativeEndian.Uint64(buf[off+8:]))
		fmt.Printf("type %d: %s\n", mtype, buf[off+16:off+16+mlen])
		off += 16 + (mlen+7)&^7
	}
	// Output:
	// size 72 messages 2
	// type 1: abc
	// type 2: hello world!
}

// drain is the README's portable function: it takes every message off
// queue id whatever its size, using only what every system has.
func drain(ipc msgq.IPC, id int) (int, error) {
	buf := make([]byte, 64)
	for n := 0; ; n++ {
		_, _, err := ipc.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT|msgq.MSG_NOERROR)
		if err == syscall.ENOMSG {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// TestDrainEverywhere is the README's example of one portable function
// tested under all six dialects; without MSG_NOERROR it would fail with
// E2BIG everywhere but OpenBSD, which truncates.
func TestDrainEverywhere(t *testing.T) {
	for _, d := range []msgq.Dialect{msgq.Linux, msgq.OpenBSD, msgq.FreeBSD, msgq.Illumos, msgq.SVR4, msgq.AIX} {
		t.Run(d.String(), func(t *testing.T) {
			ns := msgq.NewNamespace(msgq.WithDialect(d))
			id, err := ns.Msgget(msgq.IPC_PRIVATE, msgq.IPC_CREAT|0o600)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if err := ns.Msgsnd(id, int64(i+1), make([]byte, 100), msgq.IPC_NOWAIT); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := drain(ns, id); n != 10 || err != nil {
				t.Fatalf("drain = %d, %v", n, err)
			}
			_, _, err = ns.Msgrcv(id, make([]byte, 64), 0, msgq.IPC_NOWAIT)
			if err != syscall.ENOMSG {
				t.Fatalf("after drain: %v", err)
			}
		})
	}
}
