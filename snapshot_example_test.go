package msgq_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"

	"github.com/sysvmsg/msgq"
)

// A checkpoint survives JSON, and the namespace it restores holds the same
// queues and messages and hands out the ids the original would have.
func ExampleNamespace_Checkpoint() {
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000}))
	id, _ := ns.Msgget(0x1234, msgq.IPC_CREAT|0o600)
	ns.Msgsnd(id, 1, []byte("first"), 0)
	ns.Msgsnd(id, 2, []byte{0, 0xff}, 0) // any bytes survive

	b, err := json.Marshal(ns.Checkpoint())
	if err != nil {
		panic(err)
	}
	var s msgq.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		panic(err)
	}
	restored, err := msgq.Restore(&s, msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000}))
	if err != nil {
		panic(err)
	}

	buf := make([]byte, 16)
	for range 2 {
		n, mtype, _ := restored.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT)
		fmt.Printf("type %d: %q\n", mtype, buf[:n])
	}
	next, _ := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	same, _ := restored.Msgget(msgq.IPC_PRIVATE, 0o600)
	fmt.Println("next ids equal:", next == same)
	// Output:
	// type 1: "first"
	// type 2: "\x00\xff"
	// next ids equal: true
}

// Restore refuses a snapshot no namespace can be in, naming the field.
func ExampleRestore() {
	s := msgq.NewNamespace().Checkpoint()
	s.Queues = append(s.Queues, msgq.QueueSnapshot{
		ID:       0,
		Stat:     msgq.MsqidDS{Qnum: 1, Cbytes: 2, Qbytes: 16384},
		Messages: []msgq.Message{{Type: 0, Text: []byte("hi")}},
	})
	s.Allocator.LastIndex = 0
	_, err := msgq.Restore(s)
	fmt.Println(err)
	fmt.Println(errors.Is(err, syscall.EINVAL))
	// Output:
	// msgq: snapshot: queues[0].messages[0].type: 0 is below 1
	// true
}
