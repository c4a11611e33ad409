//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/sysvmsg/msgq"
)

// The kernel side of the blocking differential. Each caller of a script
// is an OS thread of its own (a kworker), locked to its goroutine for good:
// it joins the script's IPC namespace with setns and takes the caller's
// credentials with the raw per-thread system calls (see kthread.become),
// so that a caller blocked in msgsnd or msgrcv holds nobody else up. The
// namespace is made by the kernel thread, which also reads IPC_STAT and
// the messages as root.

// sysSetns is setns(2)'s number, which package syscall lacks on amd64.
var sysSetns = map[string]uintptr{"amd64": 308, "arm64": 268, "riscv64": 268, "loong64": 268}[runtime.GOARCH]

// maxCallers is the most callers a script has.
const maxCallers = 6

// settleBound is how long a step may take to settle before the test fails.
const settleBound = 10 * time.Second

// kworker is one caller's thread.
type kworker struct {
	fns chan func()
	res chan bres // the result of the call in progress
	tid int
}

var (
	kworkersOnce sync.Once
	kworkers     []*kworker
)

func kernelWorkers() []*kworker {
	kworkersOnce.Do(func() {
		for range maxCallers {
			w := &kworker{fns: make(chan func()), res: make(chan bres, 1)}
			ready := make(chan struct{})
			go w.serve(ready)
			<-ready
			kworkers = append(kworkers, w)
		}
	})
	return kworkers
}

// serve runs w's calls on a thread of its own, locked for good: the
// thread's credentials and namespace are changed. It is never the
// process's main thread, whose id is the process id: msg_lrpid would not
// tell a hand-over to that caller from a receive by the process. A
// goroutine that lands there keeps it (a locked thread is never handed
// back to the scheduler) and serves from another.
func (w *kworker) serve(ready chan struct{}) {
	runtime.LockOSThread() // never unlocked
	if syscall.Gettid() == os.Getpid() {
		go w.serve(ready)
		select {}
	}
	w.tid = syscall.Gettid()
	close(ready)
	for f := range w.fns {
		f()
	}
}

// runOn runs f on w's thread and waits for it.
func (w *kworker) runOn(f func()) {
	done := make(chan struct{})
	w.fns <- func() { defer close(done); f() }
	<-done
}

// kexec runs scripts on the kernel.
type kexec struct {
	k         *kthread
	workers   []*kworker
	qid       int
	out       map[int]bool // callers whose call has not returned
	pid       int32
	disturbed bool // a call was interrupted (EINTR): the run does not count
}

func newKexec() *kexec {
	return &kexec{k: kernelThread(), workers: kernelWorkers(), pid: int32(os.Getpid())}
}

func (e *kexec) start(sc *bscript) error {
	e.out, e.disturbed = map[int]bool{}, false
	var fd int
	var err error
	e.k.run(func() {
		if err = e.k.freshNamespace(blockLimits); err != nil {
			return
		}
		fd, err = syscall.Open("/proc/thread-self/ns/ipc", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	for i, c := range sc.callers {
		e.workers[i].runOn(func() {
			if err = e.k.become(ident{}); err != nil {
				return
			}
			if _, _, errno := syscall.RawSyscall(sysSetns, uintptr(fd), syscall.CLONE_NEWIPC, 0); errno != 0 {
				err = fmt.Errorf("setns: %w", errno)
				return
			}
			err = e.k.become(idents[c])
		})
		if err != nil {
			return err
		}
	}
	e.workers[0].runOn(func() { e.qid, err = kernelIPC.Msgget(msgq.IPC_PRIVATE, msgq.IPC_CREAT|int(sc.mode)) })
	return err
}

// issue starts step i on its caller's thread. Msgsnd and msgrcv are made
// directly, without the EINTR retry of package kernel: a call interrupted
// by a signal would come back at the tail of the waiters, so the run is
// marked disturbed instead and made again.
func (e *kexec) issue(i int, st bstep, setBuf *msgq.MsqidDS) {
	w := e.workers[st.who]
	qid := e.qid
	e.out[st.who] = true
	w.fns <- func() {
		var r bres
		switch st.kind {
		case bSnd:
			buf := make([]byte, 8+st.size)
			*(*int64)(unsafe.Pointer(&buf[0])) = st.typ
			copy(buf[8:], text(i, st.size))
			_, _, errno := syscall.Syscall6(syscall.SYS_MSGSND, uintptr(qid), uintptr(unsafe.Pointer(&buf[0])), uintptr(st.size), uintptr(st.flags), 0, 0)
			r.errno = errno
		case bRcv:
			buf := make([]byte, 8+st.size)
			n, _, errno := syscall.Syscall6(syscall.SYS_MSGRCV, uintptr(qid), uintptr(unsafe.Pointer(&buf[0])), uintptr(st.size), uintptr(st.typ), uintptr(st.flags), 0)
			if r.errno = errno; errno == 0 {
				r.n, r.mtype, r.text = int(n), *(*int64)(unsafe.Pointer(&buf[0])), string(buf[8:8+int(n)])
			}
		case bSet:
			_, err := kernelIPC.Msgctl(qid, msgq.IPC_SET, setBuf)
			r = bresOf(err)
		case bRmid:
			_, err := kernelIPC.Msgctl(qid, msgq.IPC_RMID, nil)
			r = bresOf(err)
		case bStat:
			var ds msgq.MsqidDS
			_, err := kernelIPC.Msgctl(qid, msgq.IPC_STAT, &ds)
			if r = bresOf(err); err == nil {
				r.ds = &ds
			}
		}
		w.res <- r
	}
}

func bresOf(err error) bres {
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		panic(err)
	}
	return bres{errno: errno}
}

// settle waits until the call just issued by who has returned or its
// thread sleeps in msgsnd or msgrcv, and every other caller with a call
// in progress has returned or sleeps there (again). It returns who's
// result (nil if it sleeps) and those of the others that returned.
//
// Linux wakes a caller (wake_up_q) before the waking call returns, but
// its thread can still read as asleep in msgrcv for some microseconds
// after that (measured here: in 32 of 200 hand-overs, for up to 17µs), so
// that a thread seen asleep is not proof that the step is over for it.
// So settle is told which callers msgq completed in the same step
// (expect) and waits up to expectBound for each of them to return; a
// caller that does not is left waiting and the comparison reports it.
// Every other caller must be seen asleep twice, quietBound apart, so that
// a caller Linux wakes and msgq does not is caught in this step in all
// but the slowest cases (and in a later step, or in the final list of
// callers still waiting, otherwise: never missed).
func (e *kexec) settle(who int, expect map[int]bool) (*bres, map[int]bres, error) {
	var self *bres
	woken := map[int]bres{}
	collect := func() {
		for c := range e.out {
			select {
			case r := <-e.workers[c].res:
				delete(e.out, c)
				if r.errno == syscall.EINTR {
					e.disturbed = true
				}
				if c == who {
					self = &r
				} else {
					woken[c] = r
				}
			default:
			}
		}
	}
	asleep := func() bool {
		for c := range e.out {
			if !sleepsInMsg(e.workers[c].tid) {
				return false
			}
		}
		return true
	}
	start := time.Now()
	for {
		collect()
		pending := false
		for c := range expect {
			pending = pending || e.out[c]
		}
		if !pending || time.Since(start) > expectBound {
			if asleep() {
				if len(e.out) == 0 {
					return self, woken, nil
				}
				time.Sleep(quietBound)
				collect()
				if asleep() {
					return self, woken, nil
				}
			}
		}
		if time.Since(start) > settleBound {
			return nil, nil, fmt.Errorf("kernel side: callers %v neither returned nor slept within %v", e.out, settleBound)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// How long kexec.settle waits for a caller msgq completed, and how long
// the other callers must stay asleep.
const (
	expectBound = time.Second
	quietBound  = 200 * time.Microsecond
)

// sleepsInMsg reports whether thread tid sleeps in msgsnd or msgrcv. The
// system call is read on both sides of the state, and must be the same
// call with the same arguments both times: a thread that returned from
// the call between the reads and slept elsewhere does not pass.
func sleepsInMsg(tid int) bool {
	dir := "/proc/self/task/" + strconv.Itoa(tid) + "/"
	sys1, err := os.ReadFile(dir + "syscall")
	if err != nil || !inMsgCall(sys1) {
		return false
	}
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) || stat[i+2] != 'S' {
		return false
	}
	sys2, err := os.ReadFile(dir + "syscall")
	return err == nil && string(sys1) == string(sys2)
}

func inMsgCall(sys []byte) bool {
	f := strings.Fields(string(sys))
	if len(f) == 0 {
		return false
	}
	n, err := strconv.Atoi(f[0])
	return err == nil && (n == syscall.SYS_MSGSND || n == syscall.SYS_MSGRCV)
}

func (e *kexec) rootStat() (msgq.MsqidDS, error) {
	var ds msgq.MsqidDS
	var err error
	e.k.run(func() { _, err = kernelIPC.Msgctl(e.qid, msgq.IPC_STAT, &ds) })
	return ds, err
}

func (e *kexec) contents(qnum uint64) ([]qmsg, error) {
	var out []qmsg
	var err error
	e.k.run(func() { out, err = scan(kernelIPC, e.qid, qnum) })
	return out, err
}

// scan reads a queue's messages with MSG_COPY, oldest first.
func scan(ipc msgq.IPC, qid int, qnum uint64) ([]qmsg, error) {
	out := []qmsg{}
	buf := make([]byte, blockLimits.MsgMax)
	for k := range qnum {
		n, mtype, err := ipc.Msgrcv(qid, buf, int64(k), msgq.MSG_COPY|msgq.IPC_NOWAIT)
		if err != nil {
			return nil, fmt.Errorf("MSG_COPY %d of %d: %w", k, qnum, err)
		}
		out = append(out, qmsg{mtype, string(buf[:n])})
	}
	return out, nil
}

// norm maps the kernel's msg_lspid and msg_lrpid to the tokens both sides
// compare: the process id, or a caller's thread id.
func (e *kexec) norm(ds msgq.MsqidDS, _ map[int]bool) msgq.MsqidDS {
	tok := func(p int32) int32 {
		if p == e.pid {
			return pidProcess
		}
		for c, w := range e.workers {
			if p == int32(w.tid) {
				return pidThread - int32(c)
			}
		}
		return p
	}
	ds.Lspid, ds.Lrpid = tok(ds.Lspid), tok(ds.Lrpid)
	return *normalize(ds)
}

// stop removes the queue, which ends every call still blocked, and waits
// for them.
func (e *kexec) stop() error {
	e.k.run(func() { kernelIPC.Msgctl(e.qid, msgq.IPC_RMID, nil) })
	deadline := time.After(settleBound)
	for c := range e.out {
		select {
		case <-e.workers[c].res:
		case <-deadline:
			return fmt.Errorf("kernel side: caller c%d still blocked after IPC_RMID", c)
		}
	}
	e.out = map[int]bool{}
	return nil
}
