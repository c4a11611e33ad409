// Package conformance holds msgq's differential tests against the host
// kernel: random sequences of msgget, msgsnd, msgrcv and msgctl run on a
// fresh msgq.Namespace and on a fresh Linux IPC namespace, with every
// result compared; a permission matrix run the same way; a fuzz target
// driving the same executor; and the blocking differential, scripts in
// which calls wait (block_*_test.go), scripted scenarios and random ones,
// each caller an OS thread of its own on the kernel side. Everything is in
// its _test.go files, which build on 64-bit Linux; elsewhere the package is
// empty.
//
//	go test ./conformance                              # 2,000 sequences, 300 blocking scripts
//	MSGQ_SEQUENCES=100000 go test ./conformance -run Differential
//	MSGQ_BLOCK_SCRIPTS=5000 go test ./conformance -run BlockDifferential
//	MSGQ_BLOCK_SEED=n go test ./conformance -run BlockDifferential -v
//	go test ./conformance -fuzz FuzzDifferential
//
// The kernel side runs on one OS thread that has unshared its IPC
// namespace (so it needs CAP_SYS_ADMIN, and skips without it): each
// sequence starts in a namespace of its own with small limits, ids there
// are numbered as in a fresh msgq namespace and can be compared exactly,
// and every queue a sequence makes disappears with its namespace, whether
// the test passes or not. That thread switches its own credentials for each
// operation (setresuid, setresgid, setgroups and capset affect only the
// calling thread), and is never handed back to the Go scheduler.
package conformance
