//go:build !(linux && (amd64 || arm64 || riscv64 || loong64))

// Command msgq looks at, saves and restores the host's System V message
// queues; it needs 64-bit Linux (see package kernel).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "msgq: the host's message queues are reachable only on 64-bit Linux (amd64, arm64, riscv64, loong64)")
	os.Exit(1)
}
