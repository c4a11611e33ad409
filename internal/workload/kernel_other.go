//go:build !(linux && (amd64 || arm64 || riscv64 || loong64))

package workload

import "errors"

// Kernel reports that this system has no kernel backend.
func Kernel() (Impl, error) {
	return Impl{}, errors.ErrUnsupported
}
