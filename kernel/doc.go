// Package kernel is the host kernel's SysV message queues behind the same
// syscall-shaped interface as msgq.Namespace: New returns an msgq.IPC whose
// calls are the real msgget, msgsnd, msgrcv and msgctl system calls.
//
// Checkpoint and Restore (RestoreReport) save the calling process's IPC
// namespace's queues as a msgq.Snapshot and recreate them with the same
// ids, as CRIU does: a snapshot moves freely between the kernel and
// msgq.Restore, so a real system's queues can become a test fixture.
//
// It exists on 64-bit Linux (amd64, arm64, riscv64, loong64), where those
// calls have their own system call numbers and share one msqid64_ds
// layout; elsewhere the package is empty. It uses no cgo.
package kernel
