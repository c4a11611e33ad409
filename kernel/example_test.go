//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/kernel"
)

// echo is code written once against msgq.IPC.
func echo(ipc msgq.IPC, text string) (string, error) {
	id, err := ipc.Msgget(msgq.IPC_PRIVATE, 0o600)
	if err != nil {
		return "", err
	}
	defer ipc.Msgctl(id, msgq.IPC_RMID, nil)
	if err := ipc.Msgsnd(id, 1, []byte(text), 0); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, _, err := ipc.Msgrcv(id, buf, 1, 0)
	return string(buf[:n]), err
}

// The same code runs on the host kernel in production and on an
// in-process namespace in tests.
func Example() {
	for _, backend := range []struct {
		name string
		ipc  msgq.IPC
	}{
		{"kernel", kernel.New()},
		{"namespace", msgq.NewNamespace()},
	} {
		got, err := echo(backend.ipc, "hello from "+backend.name)
		fmt.Println(got, err)
	}
	// Output:
	// hello from kernel <nil>
	// hello from namespace <nil>
}

// Save the host's queues to a file and bring them back later, in an empty
// IPC namespace (for instance a fresh one from unshare -i), with the same
// ids, keys, owners, modes and messages. (Not run as a test: its output
// depends on the host's queues.)
func ExampleCheckpoint() {
	s, err := kernel.Checkpoint()
	if err != nil {
		fmt.Println(err) // ENOSYS, EACCES: the error says what to do
		return
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	os.WriteFile("queues.json", b, 0o600)

	// Later, elsewhere:
	var saved msgq.Snapshot
	b, _ = os.ReadFile("queues.json")
	if err := json.Unmarshal(b, &saved); err != nil {
		fmt.Println(err)
		return
	}
	r, err := kernel.RestoreReport(&saved)
	if err != nil {
		fmt.Println(err) // nothing was created
		return
	}
	for _, l := range r.Lost {
		fmt.Println("not carried:", l)
	}
}
