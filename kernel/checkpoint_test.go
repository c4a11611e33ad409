//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package kernel

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sysvmsg/msgq"
)

// testLimits are the limits of the private namespaces these tests make.
var testLimits = msgq.Limits{MsgMax: 64, MsgMnb: 256, MsgMni: 100}

// inPrivateIPC runs f on an OS thread of its own that has unshared its IPC
// namespace, so that f sees a fresh namespace with testLimits and leaves
// nothing on the host. The thread stays locked and is discarded when f
// returns. It skips the test where the process may not do this.
func inPrivateIPC(t testing.TB, f func()) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		skip := "f did not finish (a failed require ends it)"
		defer func() { done <- skip }()
		if err := syscall.Unshare(syscall.CLONE_NEWIPC); err != nil {
			skip = "unshare(CLONE_NEWIPC): " + err.Error()
			return
		}
		if err := Available(); err != nil {
			skip = "SysV queues: " + err.Error()
			return
		}
		for name, v := range map[string]int{"msgmax": testLimits.MsgMax, "msgmnb": testLimits.MsgMnb, "msgmni": testLimits.MsgMni} {
			if err := os.WriteFile("/proc/sys/kernel/"+name, []byte(strconv.Itoa(v)), 0); err != nil {
				skip = "cannot set kernel." + name + ": " + err.Error()
				return
			}
		}
		if _, err := os.Stat(nextIDPath); err != nil {
			skip = err.Error()
			return
		}
		skip = ""
		f()
	}()
	if why := <-done; why != "" {
		if t.Failed() {
			return
		}
		t.Skip("private IPC namespace unavailable: " + why)
	}
}

// kernelScene fills the calling thread's IPC namespace: keyed and private
// queues, a removed one (a gap in the indices), binary and empty texts, a
// receive (lrpid, rtime), an IPC_SET that left a queue fuller than its
// qbytes, and an empty queue created last.
func kernelScene(t testing.TB) {
	k := Kernel{}
	get := func(key msgq.Key, mode int) int {
		id, err := k.Msgget(key, msgq.IPC_CREAT|mode)
		require.NoError(t, err)
		return id
	}
	send := func(id int, mtype int64, text string) {
		require.NoError(t, k.Msgsnd(id, mtype, []byte(text), msgq.IPC_NOWAIT))
	}
	a := get(0x1234, 0o640)
	b := get(msgq.IPC_PRIVATE, 0o606)
	gone := get(0x55, 0o600)
	c := get(0x7fffffff, 0o600)
	send(a, 1, "hello")
	send(a, 2, "")
	send(a, 3, "\x00\xff\xfe binary \n")
	send(a, 1, "again")
	send(b, 9, "nine")
	send(b, 1<<62, "big type")
	_, _, err := k.Msgrcv(a, make([]byte, 8), 2, msgq.IPC_NOWAIT)
	require.NoError(t, err)
	send(c, 5, strings.Repeat("x", 60))
	send(c, 6, strings.Repeat("y", 60))
	var ds msgq.MsqidDS
	_, err = k.Msgctl(c, msgq.IPC_STAT, &ds)
	require.NoError(t, err)
	ds.Qbytes, ds.Perm.UID, ds.Perm.Mode = 50, 2000, 0o660
	_, err = k.Msgctl(c, msgq.IPC_SET, &ds)
	require.NoError(t, err)
	_, err = k.Msgctl(gone, msgq.IPC_RMID, nil)
	require.NoError(t, err)
	get(0x43, 0o600)
}

// modulo clears what the kernel never lets a restore carry: the creator,
// times, pids and the allocator.
func modulo(s *msgq.Snapshot) *msgq.Snapshot {
	c := *s
	c.Allocator = msgq.IDAllocator{}
	c.Queues = make([]msgq.QueueSnapshot, len(s.Queues))
	for i, q := range s.Queues {
		q.Stat.Perm.CUID, q.Stat.Perm.CGID = 0, 0
		q.Stat.Stime, q.Stat.Rtime, q.Stat.Ctime = time.Time{}, time.Time{}, time.Time{}
		q.Stat.Lspid, q.Stat.Lrpid = 0, 0
		c.Queues[i] = q
	}
	return &c
}

// Checkpoint reads every queue and message and takes nothing: the queues
// answer IPC_STAT exactly as before it.
func TestCheckpointConsumesNothing(t *testing.T) {
	inPrivateIPC(t, func() {
		kernelScene(t)
		before, err := checkpoint(Kernel{})
		require.NoError(t, err)
		time.Sleep(1100 * time.Millisecond) // a stamp would show a new second
		s, err := Checkpoint()
		require.NoError(t, err)
		assert.Equal(t, before, s)
		require.Len(t, s.Queues, 4)
		assert.Equal(t, msgq.Limits{MsgMax: 64, MsgMnb: 256, MsgMni: 100}, s.Limits)
		a := s.Queues[0]
		assert.Equal(t, []msgq.Message{{Type: 1, Text: []byte("hello")}, {Type: 3, Text: []byte("\x00\xff\xfe binary \n")}, {Type: 1, Text: []byte("again")}}, a.Messages)
		assert.Equal(t, int32(os.Getpid()), a.Stat.Lrpid)
		assert.False(t, a.Stat.Rtime.IsZero())
		assert.Equal(t, msgq.IDAllocator{LastIndex: s.Queues[3].ID, Seq: 0}, s.Allocator, "the queue created last is taken as the allocator's last")
		_, err = msgq.Restore(s)
		assert.NoError(t, err, "a kernel snapshot is a valid snapshot")
	})
}

// kernel → Checkpoint → Restore into a fresh namespace → Checkpoint gives
// the same snapshot, but for the fields the kernel cannot restore, which
// the report lists.
func TestKernelRoundTrip(t *testing.T) {
	var s *msgq.Snapshot
	inPrivateIPC(t, func() {
		kernelScene(t)
		var err error
		s, err = Checkpoint()
		require.NoError(t, err)
	})
	if s == nil {
		return
	}
	time.Sleep(1100 * time.Millisecond) // so that restored times differ
	inPrivateIPC(t, func() {
		r, err := RestoreReport(s)
		require.NoError(t, err)
		var ids []int
		for _, q := range s.Queues {
			ids = append(ids, q.ID)
		}
		assert.Equal(t, ids, r.Created)
		got, err := Checkpoint()
		require.NoError(t, err)
		assert.Equal(t, modulo(s), modulo(got))
		var lost []string
		for _, l := range r.Lost {
			assert.True(t, l.Always, "%v", l)
			lost = append(lost, l.Field)
		}
		assert.Subset(t, lost, []string{"allocator", "queues[0].stat.stime", "queues[0].stat.rtime", "queues[0].stat.ctime", "queues[0].stat.lrpid"})
		assert.NotContains(t, lost, "queues[0].stat.lspid", "this process sent them and restored them")
		assert.NoError(t, Restore(&msgq.Snapshot{Format: msgq.SnapshotFormat, Allocator: msgq.IDAllocator{LastIndex: -1}}), "an empty snapshot restores nothing")
	})
}

// A namespace's snapshot restored into the kernel reads back the same,
// modulo what the kernel cannot carry: a creator other than the restorer,
// the times and pids, and a qbytes above msgmnb without CAP_SYS_RESOURCE.
func TestNamespaceIntoKernel(t *testing.T) {
	clock := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ns := msgq.NewNamespace(msgq.WithLimits(testLimits), msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 77}),
		msgq.WithClock(func() time.Time { return clock }))
	a, err := ns.As(msgq.Cred{UID: 1001, GID: 1002, PID: 78}).Msgget(0x10, msgq.IPC_CREAT|0o666)
	require.NoError(t, err)
	require.NoError(t, ns.Msgsnd(a, 4, []byte("four"), 0))
	b, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	var ds msgq.MsqidDS
	_, err = ns.Msgctl(b, msgq.IPC_STAT, &ds)
	require.NoError(t, err)
	ds.Qbytes = 1000 // above msgmnb: needs CapSysResource
	_, err = ns.As(msgq.Root).Msgctl(b, msgq.IPC_SET, &ds)
	require.NoError(t, err)
	s := ns.Checkpoint()

	canRaise := msgq.CurrentCred()
	inPrivateIPC(t, func() {
		r, err := RestoreReport(s)
		require.NoError(t, err)
		got, err := Checkpoint()
		require.NoError(t, err)
		want := modulo(s)
		lost := map[string]Loss{}
		for _, l := range r.Lost {
			lost[l.Field] = l
		}
		if !canRaise.Has(msgq.CapSysResource) {
			want.Queues[1].Stat.Qbytes = uint64(testLimits.MsgMnb)
			l := lost["queues[1].stat.qbytes"]
			assert.Equal(t, Loss{Field: "queues[1].stat.qbytes", Want: "1000", Got: "256", Reason: "above kernel.msgmnb, which needs CAP_SYS_RESOURCE"}, l)
		}
		assert.Equal(t, want, modulo(got))
		assert.Equal(t, Loss{Field: "queues[0].stat.perm.cuid", Want: "1001", Got: strconv.Itoa(os.Geteuid()), Always: true, Reason: "the creator is whoever calls msgget"}, lost["queues[0].stat.perm.cuid"])
		assert.Contains(t, lost, "queues[0].stat.lspid")
		assert.Contains(t, lost, "queues[0].stat.ctime")
	})
}

// Restore reports what it could not carry as an error, unless all of it is
// what the kernel never carries.
func TestRestoreIncomplete(t *testing.T) {
	if c := msgq.CurrentCred(); c.Has(msgq.CapSysResource) {
		t.Skip("this process may raise qbytes: nothing is lost")
	}
	s := msgq.NewNamespace(msgq.WithLimits(testLimits)).Checkpoint()
	ns, err := msgq.Restore(s, msgq.WithCred(msgq.Root))
	require.NoError(t, err)
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	var ds msgq.MsqidDS
	_, err = ns.Msgctl(id, msgq.IPC_STAT, &ds)
	require.NoError(t, err)
	ds.Qbytes = 300
	_, err = ns.Msgctl(id, msgq.IPC_SET, &ds)
	require.NoError(t, err)
	inPrivateIPC(t, func() {
		err := Restore(ns.Checkpoint())
		var inc *IncompleteError
		require.ErrorAs(t, err, &inc)
		assert.ErrorIs(t, err, syscall.EPERM)
		assert.Contains(t, err.Error(), "queues[0].stat.qbytes: snapshot 300, kernel 256")
		_, err = Kernel{}.Msgctl(id, msgq.IPC_STAT, &ds)
		assert.NoError(t, err, "the queue stays")
	})
}

// Restore checks first and creates nothing when the snapshot cannot go in.
func TestRestoreRefuses(t *testing.T) {
	base := func() *msgq.Snapshot {
		ns := msgq.NewNamespace(msgq.WithLimits(testLimits), msgq.WithCred(msgq.Cred{}))
		ns.Msgget(0x77, msgq.IPC_CREAT|0o600)
		return ns.Checkpoint()
	}
	for _, tc := range []struct {
		rule  string
		setup func(t *testing.T)
		edit  func(s *msgq.Snapshot)
		errno syscall.Errno
		says  string
	}{
		{rule: "an invalid snapshot is msgq.Restore's EINVAL", edit: func(s *msgq.Snapshot) { s.Queues[0].Stat.Perm.Mode = 0o7777 },
			errno: syscall.EINVAL, says: "queues[0].stat.perm.mode"},
		{rule: "the key exists", setup: func(t *testing.T) {
			_, err := Kernel{}.Msgget(0x77, msgq.IPC_CREAT|0o600)
			require.NoError(t, err)
		}, errno: syscall.EEXIST, says: "key 0x77 already names queue"},
		{rule: "the index is in use", setup: func(t *testing.T) {
			require.NoError(t, os.WriteFile(nextIDPath, []byte("0"), 0))
			_, err := Kernel{}.Msgget(0x78, msgq.IPC_CREAT|0o600)
			require.NoError(t, err)
		}, errno: syscall.EEXIST, says: "index 0 already holds queue 0"},
		{rule: "a text above the kernel's msgmax", edit: func(s *msgq.Snapshot) {
			s.Limits.MsgMax = 100
			s.Queues[0].Messages = []msgq.Message{{Type: 1, Text: make([]byte, 65)}}
			s.Queues[0].Stat.Qnum, s.Queues[0].Stat.Cbytes = 1, 65
		}, errno: syscall.EINVAL, says: "more than kernel.msgmax (64)"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := base()
			if tc.edit != nil {
				tc.edit(s)
			}
			inPrivateIPC(t, func() {
				if tc.setup != nil {
					tc.setup(t)
				}
				var before msgq.MsgInfo
				Kernel{}.MsgctlInfo(msgq.MSG_INFO, &before)
				err := Restore(s)
				assert.ErrorIs(t, err, tc.errno)
				assert.ErrorContains(t, err, tc.says)
				var after msgq.MsgInfo
				Kernel{}.MsgctlInfo(msgq.MSG_INFO, &after)
				assert.Equal(t, before.Msgpool, after.Msgpool, "nothing created")
			})
		})
	}
}

// answers runs the same calls on an IPC and returns what they answered,
// times left out: receives in every mode, sends, and new queues' ids.
func answers(ipc msgq.IPC, ids []int) []string {
	var out []string
	buf := make([]byte, 64)
	for _, id := range ids {
		for _, r := range []struct {
			typ int64
			flg int
		}{{-3, 0}, {1, msgq.MSG_EXCEPT}, {0, 0}, {9, 0}, {0, msgq.MSG_NOERROR}, {-(1 << 62), 0}} {
			n, mtype, err := ipc.Msgrcv(id, buf[:8], r.typ, r.flg|msgq.IPC_NOWAIT)
			out = append(out, fmt.Sprintf("rcv %d %d %#x: %d %d %q %v", id, r.typ, r.flg, n, mtype, buf[:max(n, 0)], err))
		}
		err := ipc.Msgsnd(id, 3, []byte("after"), msgq.IPC_NOWAIT)
		out = append(out, fmt.Sprintf("snd %d: %v", id, err))
		var ds msgq.MsqidDS
		_, err = ipc.Msgctl(id, msgq.IPC_STAT, &ds)
		out = append(out, fmt.Sprintf("stat %d: %v %v qnum %d cbytes %d qbytes %d pids %d %d", id, err, ds.Perm, ds.Qnum, ds.Cbytes, ds.Qbytes, ds.Lspid, ds.Lrpid))
	}
	for i := range 5 {
		id, err := ipc.Msgget(msgq.IPC_PRIVATE, 0o600)
		out = append(out, fmt.Sprintf("get: %d %v", id, err))
		if i == 1 {
			_, err = ipc.Msgctl(id, msgq.IPC_RMID, nil)
			out = append(out, fmt.Sprintf("rmid: %v", err))
		}
	}
	return out
}

// kernel → Checkpoint → msgq.Restore gives a namespace that answers every
// call as the kernel did: the same reads, then the same results for the
// same changes, the next ids included.
func TestKernelSnapshotIntoNamespace(t *testing.T) {
	inPrivateIPC(t, func() {
		kernelScene(t)
		s, err := Checkpoint()
		require.NoError(t, err)
		ns, err := msgq.Restore(s, msgq.WithCred(msgq.CurrentCred()))
		require.NoError(t, err)
		fromNS, err := checkpoint(ns)
		require.NoError(t, err)
		assert.Equal(t, s, fromNS, "the namespace reads as the kernel did")
		var ids []int
		for _, q := range s.Queues {
			ids = append(ids, q.ID)
		}
		ids = append(ids, 2|1<<15) // stale: EINVAL on both
		assert.Equal(t, answers(Kernel{}, ids), answers(ns, ids))
	})
}

// The errors of MSG_COPY say what they mean.
func TestCopyErrorExplains(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		says  string
	}{
		{syscall.ENOSYS, "without CONFIG_CHECKPOINT_RESTORE"},
		{syscall.EINVAL, "refuses MSG_COPY"},
		{syscall.E2BIG, "raise kernel.msgmax"},
		{syscall.EACCES, "CAP_IPC_OWNER"},
	} {
		err := copyError(5, 2, 64, tc.errno)
		assert.ErrorIs(t, err, tc.errno)
		assert.ErrorContains(t, err, tc.says)
	}
}

// BenchmarkCheckpoint reads 100 queues of 4 messages of 64 bytes; compare
// with msgq's BenchmarkCheckpoint, which snapshots the same content.
func BenchmarkCheckpoint(b *testing.B) {
	inPrivateIPC(b, func() {
		k := Kernel{}
		for range 100 {
			id, err := k.Msgget(msgq.IPC_PRIVATE, 0o600)
			require.NoError(b, err)
			for range 4 {
				require.NoError(b, k.Msgsnd(id, 1, make([]byte, 64), msgq.IPC_NOWAIT))
			}
		}
		b.ResetTimer()
		for range b.N {
			if _, err := Checkpoint(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A queue the caller may not read stops Checkpoint with EACCES and says
// what to do; the queue keeps its messages.
func TestCheckpointUnreadable(t *testing.T) {
	inPrivateIPC(t, func() {
		k := Kernel{}
		id, err := k.Msgget(0x61, msgq.IPC_CREAT|0o600)
		require.NoError(t, err)
		require.NoError(t, k.Msgsnd(id, 1, []byte("secret"), msgq.IPC_NOWAIT))
		// Become uid 1000 on this thread alone (the raw call is per
		// thread), which clears the effective capabilities.
		if _, _, errno := syscall.RawSyscall(syscall.SYS_SETRESUID, ^uintptr(0), 1000, ^uintptr(0)); errno != 0 {
			t.Skipf("setresuid: %v", errno)
		}
		_, err = Checkpoint()
		assert.ErrorIs(t, err, syscall.EACCES)
		assert.ErrorContains(t, err, "CAP_IPC_OWNER")
		var ds msgq.MsqidDS
		_, err = k.Msgctl(id&(1<<15-1), msgq.MSG_STAT_ANY, &ds)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), ds.Qnum, "nothing taken")
	})
}

// Each queue's part of a kernel checkpoint is a state the queue was in,
// even while another thread sends and receives on it: its figures agree
// with its messages, which are a contiguous run of what was sent. A
// checkpoint may also give up with EAGAIN, as documented, when the queue
// changed on every one of its reads; on a busy machine some do, but most
// must succeed.
func TestCheckpointUnderTraffic(t *testing.T) {
	inPrivateIPC(t, func() {
		k := Kernel{}
		id, err := k.Msgget(0x62, msgq.IPC_CREAT|0o600)
		require.NoError(t, err)
		ns, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/ipc", syscall.Gettid()))
		require.NoError(t, err)
		defer ns.Close()
		stop, done := make(chan struct{}), make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: it joins this namespace
			if _, _, errno := syscall.RawSyscall(sysSetns(), ns.Fd(), syscall.CLONE_NEWIPC, 0); errno != 0 {
				done <- errno
				return
			}
			buf := make([]byte, 16)
			for n := 0; ; {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if k.Msgsnd(id, int64(n%3+1), []byte(strconv.Itoa(n)), msgq.IPC_NOWAIT) == nil {
					n++
				}
				if n%2 == 0 {
					k.Msgrcv(id, buf, 0, msgq.IPC_NOWAIT)
				}
			}
		}()
		const attempts = 2000
		gaveUp := 0
		for range attempts {
			s, err := Checkpoint()
			if errors.Is(err, syscall.EAGAIN) {
				gaveUp++
				continue
			}
			require.NoError(t, err)
			_, err = msgq.Restore(s)
			require.NoError(t, err, "the queue's part is consistent")
			for _, q := range s.Queues {
				for j := 1; j < len(q.Messages); j++ {
					a, _ := strconv.Atoi(string(q.Messages[j-1].Text))
					b, _ := strconv.Atoi(string(q.Messages[j].Text))
					require.Equal(t, a+1, b, "a contiguous run")
				}
			}
		}
		close(stop)
		require.NoError(t, <-done)
		t.Logf("%d of %d checkpoints gave up with EAGAIN", gaveUp, attempts)
		assert.Less(t, gaveUp, attempts/4, "most checkpoints succeed")
	})
}

// sysSetns is setns(2)'s number, which package syscall does not name.
func sysSetns() uintptr {
	if runtime.GOARCH == "amd64" {
		return 308
	}
	return 268 // asm-generic: arm64, riscv64, loong64
}
