//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel_test

import (
	"fmt"

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
