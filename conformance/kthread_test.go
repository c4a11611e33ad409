//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/sysvmsg/msgq"
)

// kthread is the OS thread the kernel side of every test runs on. It is
// locked to its goroutine for good: it unshares its IPC namespace and
// changes its credentials, and when the goroutine ends the runtime
// discards the thread rather than reuse it.
type kthread struct {
	work chan func()
	err  error    // why the kernel side cannot run here, or nil
	caps capsData // the thread's capabilities as it started
}

var (
	kthreadOnce sync.Once
	theKthread  *kthread
)

// kernelThread returns the kernel thread, starting it on first use.
func kernelThread() *kthread {
	kthreadOnce.Do(func() {
		k := &kthread{work: make(chan func())}
		ready := make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: see kthread
			k.err = k.init()
			close(ready)
			for f := range k.work {
				f()
			}
		}()
		<-ready
		theKthread = k
	})
	return theKthread
}

// run runs f on the kernel thread.
func (k *kthread) run(f func()) {
	done := make(chan struct{})
	k.work <- func() { defer close(done); f() }
	<-done
}

func (k *kthread) init() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root to unshare an IPC namespace and switch credentials (euid %d)", os.Geteuid())
	}
	caps, err := capget()
	if err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	k.caps = caps
	if err := syscall.Unshare(syscall.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWIPC): %w", err)
	}
	if _, err := msgq.IPC(kernelIPC).Msgget(msgq.IPC_PRIVATE, 0o600); err != nil {
		return fmt.Errorf("msgget: %w", err)
	}
	// Setting the limits needs a writable /proc/sys, which containers may
	// not give.
	return k.freshNamespace(limits)
}

// freshNamespace puts the thread, as root, into a new IPC namespace with
// the given limits. The previous namespace, and every queue in it, goes.
// It must run on the kernel thread.
func (k *kthread) freshNamespace(l msgq.Limits) error {
	if err := k.become(ident{}); err != nil {
		return err
	}
	if err := syscall.Unshare(syscall.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWIPC): %w", err)
	}
	for name, v := range map[string]int{"msgmax": l.MsgMax, "msgmnb": l.MsgMnb, "msgmni": l.MsgMni} {
		if err := os.WriteFile("/proc/sys/kernel/"+name, []byte(strconv.Itoa(v)), 0); err != nil {
			return err
		}
	}
	return nil
}

// ident is an identity an operation runs as: on the kernel thread through
// its credentials, in msgq as a Cred.
type ident struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	drop   msgq.Caps // capabilities root does without (uid 0 only)
	caps   msgq.Caps // capabilities a non-root identity holds
}

// cred is the msgq credentials equal to what the kernel thread holds as id.
func (id ident) cred(processCaps msgq.Caps) msgq.Cred {
	c := msgq.Cred{UID: id.uid, GID: id.gid, Groups: id.groups, PID: int32(os.Getpid())}
	if id.uid == 0 {
		c.Caps = processCaps &^ id.drop
	} else {
		c.Caps = id.caps & processCaps
	}
	return c
}

// Linux capability bits for the Caps msgq models.
var capBits = []struct {
	bit  uint
	caps msgq.Caps
}{{15, msgq.CapIPCOwner}, {21, msgq.CapSysAdmin}, {24, msgq.CapSysResource}}

// become switches the calling thread's credentials to id: groups, then
// effective gid, then effective uid, then the effective capabilities. It
// first returns to full root, which it can since the real and saved uids
// stay 0. It must run on the kernel thread.
func (k *kthread) become(id ident) error {
	if err := setresuid(-1, 0, -1); err != nil {
		return fmt.Errorf("setresuid(0): %w", err)
	}
	if err := capset(k.caps); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := setgroups(id.groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := setresgid(-1, int(id.gid), -1); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if id.uid != 0 {
		if err := setresuid(-1, int(id.uid), -1); err != nil { // clears the effective set
			return fmt.Errorf("setresuid: %w", err)
		}
	}
	eff := k.caps
	eff.effective = [2]uint32{}
	for _, c := range capBits {
		if (id.uid == 0 && id.drop&c.caps == 0) || (id.uid != 0 && id.caps&c.caps != 0) {
			eff.effective[c.bit/32] |= k.caps.permitted[c.bit/32] & (1 << (c.bit % 32))
		}
	}
	if id.uid == 0 {
		// Root keeps every other capability it has.
		for i := range eff.effective {
			eff.effective[i] |= k.caps.effective[i]
		}
		for _, c := range capBits {
			if id.drop&c.caps != 0 {
				eff.effective[c.bit/32] &^= 1 << (c.bit % 32)
			}
		}
	}
	if err := capset(eff); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// processCaps is what CurrentCred says this process holds: the Caps the
// kernel thread's root has.
func (k *kthread) processCaps() msgq.Caps {
	var c msgq.Caps
	for _, b := range capBits {
		if k.caps.effective[b.bit/32]&(1<<(b.bit%32)) != 0 {
			c |= b.caps
		}
	}
	return c
}

// The raw, per-thread credential system calls (glibc's wrappers would
// apply them to every thread).

func setresuid(r, e, s int) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(r), uintptr(e), uintptr(s))
	return errnoErr(errno)
}

func setresgid(r, e, s int) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(r), uintptr(e), uintptr(s))
	return errnoErr(errno)
}

func setgroups(groups []uint32) error {
	var p unsafe.Pointer
	if len(groups) > 0 {
		p = unsafe.Pointer(&groups[0])
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), uintptr(p), 0)
	return errnoErr(errno)
}

type capHeader struct {
	version uint32
	pid     int32
}

type capsData struct {
	effective, permitted, inheritable [2]uint32
}

const capVersion3 = 0x20080522

func capget() (capsData, error) {
	hdr := capHeader{version: capVersion3}
	var raw [2]struct{ effective, permitted, inheritable uint32 }
	_, _, errno := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&raw[0])), 0)
	var c capsData
	for i := range raw {
		c.effective[i], c.permitted[i], c.inheritable[i] = raw[i].effective, raw[i].permitted, raw[i].inheritable
	}
	return c, errnoErr(errno)
}

func capset(c capsData) error {
	hdr := capHeader{version: capVersion3}
	var raw [2]struct{ effective, permitted, inheritable uint32 }
	for i := range raw {
		raw[i].effective, raw[i].permitted, raw[i].inheritable = c.effective[i], c.permitted[i], c.inheritable[i]
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&raw[0])), 0)
	return errnoErr(errno)
}

func errnoErr(errno syscall.Errno) error {
	if errno == 0 {
		return nil
	}
	return errno
}

// skipReason says why the kernel side cannot run here, for t.Skip, or "":
// no root, no IPC namespaces, no SysV IPC, or a read-only /proc/sys.
func skipReason() string {
	if k := kernelThread(); k.err != nil {
		return "kernel side unavailable: " + k.err.Error()
	}
	return ""
}
