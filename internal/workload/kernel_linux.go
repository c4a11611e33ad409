//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package workload

import "github.com/sysvmsg/msgq/kernel"

// Kernel returns the host kernel as an Impl, or the errno that says why it
// cannot be used here.
func Kernel() (Impl, error) {
	if err := kernel.Available(); err != nil {
		return Impl{}, err
	}
	return Syscalls("kernel", kernel.New), nil
}
