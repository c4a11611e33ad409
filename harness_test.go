package msgq

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// switchFault is a WithFaults hook the test arms and disarms, recording
// the calls it failed.
type switchFault struct {
	err  atomic.Pointer[error]
	mu   sync.Mutex
	seen []Call
}

func (f *switchFault) hook(c Call) error {
	p := f.err.Load()
	if p == nil {
		return nil
	}
	f.mu.Lock()
	f.seen = append(f.seen, c)
	f.mu.Unlock()
	return *p
}

func (f *switchFault) arm(err error) { f.err.Store(&err) }
func (f *switchFault) disarm() []Call {
	f.err.Store(nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := f.seen
	f.seen = nil
	return seen
}

// nsState is everything observable of a namespace, read without faults.
type nsState struct {
	listing string
	info    MsgInfo
	queues  map[int]MsqidDS
	msgs    map[int][]msg
}

func stateOf(t *testing.T, ns *Namespace) nsState {
	t.Helper()
	s := nsState{listing: ns.String(), queues: map[int]MsqidDS{}, msgs: map[int][]msg{}}
	_, err := ns.MsgctlInfo(MSG_INFO, &s.info)
	require.NoError(t, err)
	for i := 0; i < 16; i++ {
		var ds MsqidDS
		id, err := ns.As(Root).Msgctl(i, MSG_STAT_ANY, &ds)
		if err != nil {
			continue
		}
		s.queues[id] = ds
		s.msgs[id] = contents(t, ns, id)
	}
	return s
}

// TestFaultsFailEveryOp injects an error into every op on both layers and
// checks that the call returned it as it is, that the hook saw the call as
// made, and that nothing of the namespace changed: no queue, message, time
// or pid, even for calls that would have waited.
func TestFaultsFailEveryOp(t *testing.T) {
	var f switchFault
	clock := newClock()
	ns := newNS(t, WithFaults(f.hook), WithClock(clock.now))
	id := mustQueue(t, ns, 0x2a, 0o600)
	mustSend(t, ns, id, msg{1, "one"}, msg{2, "two"})
	full := fullQueue(t, ns, 3, msg{5, "abc"})
	q, err := ns.Lookup(id)
	require.NoError(t, err)
	fq, err := ns.Lookup(full)
	require.NoError(t, err)
	bg := context.Background()
	as := func(c Call) Call { c.Cred = owner; return c }

	tests := []struct {
		name string
		err  syscall.Errno
		call func() error
		want Call
	}{
		{"msgget IPC_CREAT creates nothing", syscall.ENOSPC,
			func() error { _, err := ns.Msgget(0x77, IPC_CREAT|0o600); return err },
			Call{Op: "msgget", Key: 0x77, Flags: IPC_CREAT | 0o600}},
		{"msgget IPC_PRIVATE creates nothing", syscall.ENOSPC,
			func() error { _, err := ns.Msgget(IPC_PRIVATE, IPC_CREAT|0o600); return err },
			Call{Op: "msgget", Flags: IPC_CREAT | 0o600}},
		{"msgget of an existing key", syscall.EACCES,
			func() error { _, err := ns.Msgget(0x2a, 0); return err },
			Call{Op: "msgget", Key: 0x2a}},
		{"msgsnd queues nothing", syscall.EAGAIN,
			func() error { return ns.Msgsnd(id, 3, []byte("three"), IPC_NOWAIT) },
			Call{Op: "msgsnd", ID: id, Type: 3, Size: 5, Flags: IPC_NOWAIT}},
		{"msgsnd that would wait does not", syscall.EINTR,
			func() error { return ns.Msgsnd(full, 3, []byte("x"), 0) },
			Call{Op: "msgsnd", ID: full, Type: 3, Size: 1}},
		{"msgsnd of invalid arguments: the fault comes first", syscall.EIDRM,
			func() error { return ns.Msgsnd(-1, 0, nil, 0) },
			Call{Op: "msgsnd", ID: -1}},
		{"msgrcv takes nothing", syscall.ENOMSG,
			func() error { _, _, err := ns.Msgrcv(id, make([]byte, 8), 0, IPC_NOWAIT); return err },
			Call{Op: "msgrcv", ID: id, Size: 8, Flags: IPC_NOWAIT}},
		{"msgrcv that would wait does not", syscall.EINTR,
			func() error { _, _, err := ns.Msgrcv(id, make([]byte, 8), 9, 0); return err },
			Call{Op: "msgrcv", ID: id, Type: 9, Size: 8}},
		{"msgrcv MSG_COPY", syscall.EIDRM,
			func() error { _, _, err := ns.Msgrcv(id, make([]byte, 8), 1, MSG_COPY|IPC_NOWAIT); return err },
			Call{Op: "msgrcv", ID: id, Type: 1, Size: 8, Flags: MSG_COPY | IPC_NOWAIT}},
		{"msgctl IPC_STAT fills nothing", syscall.EACCES,
			func() error {
				ds := MsqidDS{Qnum: 99}
				_, err := ns.Msgctl(id, IPC_STAT, &ds)
				if ds.Qnum != 99 {
					t.Error("IPC_STAT filled the buffer")
				}
				return err
			},
			Call{Op: "msgctl", ID: id, Cmd: IPC_STAT}},
		{"msgctl IPC_SET sets nothing", syscall.EPERM,
			func() error { _, err := ns.Msgctl(id, IPC_SET, &MsqidDS{Qbytes: 1}); return err },
			Call{Op: "msgctl", ID: id, Cmd: IPC_SET}},
		{"msgctl IPC_RMID removes nothing", syscall.EPERM,
			func() error { _, err := ns.Msgctl(id, IPC_RMID, nil); return err },
			Call{Op: "msgctl", ID: id, Cmd: IPC_RMID}},
		{"msgctl MSG_STAT", syscall.EINVAL,
			func() error { _, err := ns.Msgctl(0, MSG_STAT, &MsqidDS{}); return err },
			Call{Op: "msgctl", Cmd: MSG_STAT}},
		{"msgctl MSG_STAT_ANY", syscall.EINVAL,
			func() error { _, err := ns.Msgctl(0, MSG_STAT_ANY, &MsqidDS{}); return err },
			Call{Op: "msgctl", Cmd: MSG_STAT_ANY}},
		{"msgctl IPC_INFO", syscall.EFAULT,
			func() error { _, err := ns.Msgctl(0, IPC_INFO, &MsqidDS{}); return err },
			Call{Op: "msgctl", Cmd: IPC_INFO}},
		{"MsgctlInfo MSG_INFO fills nothing", syscall.EFAULT,
			func() error {
				info := MsgInfo{Msgpool: -7}
				_, err := ns.MsgctlInfo(MSG_INFO, &info)
				if info.Msgpool != -7 {
					t.Error("MSG_INFO filled the buffer")
				}
				return err
			},
			Call{Op: "msgctl", Cmd: MSG_INFO}},
		{"Get creates nothing", syscall.ENOSPC,
			func() error { _, err := ns.Get(0x78, IPC_CREAT|0o600); return err },
			Call{Op: "msgget", Key: 0x78, Flags: IPC_CREAT | 0o600}},
		{"Send queues nothing", syscall.EAGAIN,
			func() error { return q.Send(bg, 4, []byte("four"), 0) },
			Call{Op: "msgsnd", ID: id, Type: 4, Size: 4}},
		{"Send that would wait does not", syscall.EINTR,
			func() error { return fq.Send(bg, 4, []byte("four"), 0) },
			Call{Op: "msgsnd", ID: full, Type: 4, Size: 4}},
		{"Recv takes nothing", syscall.ENOMSG,
			func() error { _, err := q.Recv(bg, 0, 8, 0); return err },
			Call{Op: "msgrcv", ID: id, Size: 8}},
		{"RecvInto takes nothing", syscall.E2BIG,
			func() error { _, _, err := q.RecvInto(bg, make([]byte, 2), -5, MSG_NOERROR); return err },
			Call{Op: "msgrcv", ID: id, Type: -5, Size: 2, Flags: MSG_NOERROR}},
		{"Stat", syscall.EACCES,
			func() error { _, err := q.Stat(); return err },
			Call{Op: "msgctl", ID: id, Cmd: IPC_STAT}},
		{"Set sets nothing", syscall.EPERM,
			func() error { return q.Set(&MsqidDS{Perm: IPCPerm{Mode: 0o777}}) },
			Call{Op: "msgctl", ID: id, Cmd: IPC_SET}},
		{"Remove removes nothing", syscall.EPERM,
			func() error { return q.Remove() },
			Call{Op: "msgctl", ID: id, Cmd: IPC_RMID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := stateOf(t, ns)
			clock.advance(time.Hour) // a stamp would show
			f.arm(tt.err)
			err := tt.call()
			seen := f.disarm()
			assert.Equal(t, tt.err, err, "the injected errno, as it is")
			assert.Equal(t, []Call{as(tt.want)}, seen, "the hook saw the call once, as made")
			assert.Equal(t, before, stateOf(t, ns), "nothing changed")
		})
	}
	assert.Empty(t, ns.Blocked())
}

// TestFaultsSeeNoOutOfRangeInts: a Go int that is no C int is EINVAL before
// the hooks, as no C program can make that call.
func TestFaultsSeeNoOutOfRangeInts(t *testing.T) {
	var f switchFault
	ns := newNS(t, WithFaults(f.hook))
	f.arm(syscall.EAGAIN)
	_, err := ns.Msgget(1, 1<<40)
	assert.Equal(t, syscall.EINVAL, err)
	assert.Equal(t, syscall.EINVAL, ns.Msgsnd(1<<40, 1, nil, 0))
	_, err = ns.Msgctl(0, 1<<40, nil)
	assert.Equal(t, syscall.EINVAL, err)
	assert.Empty(t, f.disarm())
}

// TestFaultsCompose: several WithFaults are asked in order until one fails
// the call; a hook sees the namespace view's credentials; As keeps them.
func TestFaultsCompose(t *testing.T) {
	var order []string
	ns := newNS(t,
		WithFaults(func(c Call) error { order = append(order, "first"); return nil }),
		WithFaults(func(c Call) error {
			order = append(order, "second")
			if c.Cred.PID == stranger.PID {
				return syscall.EPERM
			}
			return nil
		}),
		WithFaults(func(c Call) error { order = append(order, "third"); return nil }),
	)
	id := mustQueue(t, ns, IPC_PRIVATE, 0o666)
	assert.Equal(t, []string{"first", "second", "third"}, order)
	order = nil
	assert.Equal(t, syscall.EPERM, ns.As(stranger).Msgsnd(id, 1, nil, 0))
	assert.Equal(t, []string{"first", "second"}, order)
	q, err := ns.As(stranger).Lookup(id)
	require.NoError(t, err)
	order = nil
	assert.Equal(t, syscall.EPERM, q.Send(context.Background(), 1, nil, 0), "a handle from a view keeps the hooks")
	assert.Equal(t, []string{"first", "second"}, order)
}

// TestFaultCanHoldACallBack: a hook may block, and may call into the
// namespace.
func TestFaultCanHoldACallBack(t *testing.T) {
	release := make(chan struct{})
	var ns *Namespace
	ns = newNS(t, WithFaults(func(c Call) error {
		if c.Op == "msgsnd" && c.Type == 9 {
			<-release
			return ns.Msgsnd(c.ID, 1, []byte("first"), IPC_NOWAIT)
		}
		return nil
	}))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	r := sendAsync(ns, id, 9, "second")
	stillBlocked(t, r)
	close(release)
	assert.NoError(t, await(t, r).err, "the hook's own send succeeded, so the call went on")
	assert.Equal(t, []msg{{1, "first"}, {9, "second"}}, contents(t, ns, id))
}

// traceLog is a WithTrace recorder.
type traceLog struct {
	mu      sync.Mutex
	entries []TraceEntry
}

func (l *traceLog) add(e TraceEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

func (l *traceLog) take() []TraceEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries
	l.entries = nil
	return e
}

// TestTraceLines pins the strace-like line of every op, with each errno the
// op can return.
func TestTraceLines(t *testing.T) {
	var log traceLog
	var f switchFault
	ns := newNS(t, WithTrace(log.add), WithFaults(f.hook))
	bg := context.Background()
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"msgget creates", func() { ns.Msgget(0x2a, IPC_CREAT|IPC_EXCL|0o640) },
			"[pid 11] msgget(0x2a, IPC_CREAT|IPC_EXCL|0640) = 0"},
		{"msgget EEXIST", func() { ns.Msgget(0x2a, IPC_CREAT|IPC_EXCL|0o640) },
			"[pid 11] msgget(0x2a, IPC_CREAT|IPC_EXCL|0640) = -1 EEXIST (File exists)"},
		{"msgget ENOENT", func() { ns.Msgget(0x2b, 0) },
			"[pid 11] msgget(0x2b, 000) = -1 ENOENT (No such file or directory)"},
		{"msgget EACCES", func() { ns.As(stranger).Msgget(0x2a, 0o400) },
			"[pid 15] msgget(0x2a, 0400) = -1 EACCES (Permission denied)"},
		{"msgget IPC_PRIVATE", func() { ns.Msgget(IPC_PRIVATE, 0o600) },
			"[pid 11] msgget(IPC_PRIVATE, 0600) = 1"},
		{"msgsnd", func() { ns.Msgsnd(0, 2, []byte("hello"), IPC_NOWAIT) },
			`[pid 11] msgsnd(0, {mtype=2, mtext="hello"}, 5, IPC_NOWAIT) = 0`},
		{"msgsnd EINVAL", func() { ns.Msgsnd(0, 0, []byte("x"), 0) },
			`[pid 11] msgsnd(0, {mtype=0, mtext="x"}, 1, 0) = -1 EINVAL (Invalid argument)`},
		{"msgsnd EACCES", func() { ns.As(stranger).Msgsnd(0, 1, nil, 0) },
			`[pid 15] msgsnd(0, {mtype=1, mtext=""}, 0, 0) = -1 EACCES (Permission denied)`},
		{"msgsnd of a long text is cut", func() { ns.Msgsnd(0, 3, []byte(strings.Repeat("a", 40)), 0) },
			`[pid 11] msgsnd(0, {mtype=3, mtext="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"...}, 40, 0) = 0`},
		{"msgsnd of bytes strace escapes", func() { ns.Msgsnd(0, 4, []byte("a\"\\\n\x00\x01"+"7\xff"), 0) },
			`[pid 11] msgsnd(0, {mtype=4, mtext="a\"\\\n\0\0017\377"}, 8, 0) = 0`},
		{"msgsnd injected EAGAIN", func() { f.arm(syscall.EAGAIN); ns.Msgsnd(0, 2, []byte("hello"), IPC_NOWAIT); f.disarm() },
			`[pid 11] msgsnd(0, {mtype=2, mtext="hello"}, 5, IPC_NOWAIT) = -1 EAGAIN (Resource temporarily unavailable) (INJECTED)`},
		{"msgrcv", func() { ns.Msgrcv(0, make([]byte, 100), 2, IPC_NOWAIT|MSG_NOERROR) },
			`[pid 11] msgrcv(0, {mtype=2, mtext="hello"}, 100, 2, IPC_NOWAIT|MSG_NOERROR) = 5`},
		{"msgrcv truncated", func() { ns.Msgrcv(0, make([]byte, 2), 3, MSG_NOERROR) },
			`[pid 11] msgrcv(0, {mtype=3, mtext="aa"}, 2, 3, MSG_NOERROR) = 2`},
		{"msgrcv E2BIG", func() { ns.Msgrcv(0, make([]byte, 2), 4, 0) },
			`[pid 11] msgrcv(0, {...}, 2, 4, 0) = -1 E2BIG (Argument list too long)`},
		{"msgrcv ENOMSG", func() { ns.Msgrcv(0, make([]byte, 2), 4, IPC_NOWAIT|MSG_EXCEPT) },
			`[pid 11] msgrcv(0, {...}, 2, 4, IPC_NOWAIT|MSG_EXCEPT) = -1 ENOMSG (No message of desired type)`},
		{"msgrcv MSG_COPY", func() { ns.Msgrcv(0, make([]byte, 10), 0, IPC_NOWAIT|MSG_COPY) },
			`[pid 11] msgrcv(0, {mtype=4, mtext="a\"\\\n\0\0017\377"}, 10, 0, IPC_NOWAIT|MSG_COPY) = 8`},
		{"msgrcv with an unknown flag", func() { ns.Msgrcv(0, nil, 0, IPC_NOWAIT|0o100000) },
			`[pid 11] msgrcv(0, {...}, 0, 0, IPC_NOWAIT|0x8000) = -1 E2BIG (Argument list too long)`},
		{"msgctl IPC_STAT", func() { ns.Msgctl(0, IPC_STAT, &MsqidDS{}) },
			"[pid 11] msgctl(0, IPC_STAT, {...}) = 0"},
		{"msgctl EFAULT", func() { ns.Msgctl(0, IPC_STAT, nil) },
			"[pid 11] msgctl(0, IPC_STAT, NULL) = -1 EFAULT (Bad address)"},
		{"msgctl MSG_STAT", func() { ns.Msgctl(1, MSG_STAT, &MsqidDS{}) },
			"[pid 11] msgctl(1, MSG_STAT, {...}) = 1"},
		{"msgctl unknown cmd", func() { ns.Msgctl(0, 99, &MsqidDS{}) },
			"[pid 11] msgctl(0, 0x63 /* MSG_??? */, {...}) = -1 EINVAL (Invalid argument)"},
		{"msgctl IPC_SET EPERM", func() { ns.As(stranger).Msgctl(0, IPC_SET, &MsqidDS{}) },
			"[pid 15] msgctl(0, IPC_SET, {...}) = -1 EPERM (Operation not permitted)"},
		{"msgctl IPC_INFO", func() { ns.MsgctlInfo(IPC_INFO, &MsgInfo{}) },
			"[pid 11] msgctl(0, IPC_INFO, {...}) = 1"},
		{"msgctl IPC_RMID", func() { ns.Msgctl(1, IPC_RMID, nil) },
			"[pid 11] msgctl(1, IPC_RMID, NULL) = 0"},
		{"msgsnd EINVAL on a removed id", func() { ns.Msgsnd(1, 1, nil, 0) },
			`[pid 11] msgsnd(1, {mtype=1, mtext=""}, 0, 0) = -1 EINVAL (Invalid argument)`},
		{"Get", func() { ns.Get(0x2c, IPC_CREAT|0o600) },
			"[pid 11] msgget(0x2c, IPC_CREAT|0600) = 2"},
		{"Send", func() { q, _ := ns.Lookup(2); q.Send(bg, 1, []byte("go"), 0) },
			`[pid 11] msgsnd(2, {mtype=1, mtext="go"}, 2, 0) = 0`},
		{"Recv", func() { q, _ := ns.Lookup(2); q.Recv(bg, 1, 8, 0) },
			`[pid 11] msgrcv(2, {mtype=1, mtext="go"}, 8, 1, 0) = 2`},
		{"RecvInto ENOMSG", func() { q, _ := ns.Lookup(2); q.RecvInto(bg, make([]byte, 4), 0, IPC_NOWAIT) },
			`[pid 11] msgrcv(2, {...}, 4, 0, IPC_NOWAIT) = -1 ENOMSG (No message of desired type)`},
		{"Stat", func() { q, _ := ns.Lookup(2); q.Stat() },
			"[pid 11] msgctl(2, IPC_STAT, {...}) = 0"},
		{"Set EFAULT", func() { q, _ := ns.Lookup(2); q.Set(nil) },
			"[pid 11] msgctl(2, IPC_SET, NULL) = -1 EFAULT (Bad address)"},
		{"Remove", func() { q, _ := ns.Lookup(2); q.Remove() },
			"[pid 11] msgctl(2, IPC_RMID, NULL) = 0"},
		{"Remove EIDRM", func() { q, _ := ns.Lookup(0); ns.Msgctl(0, IPC_RMID, nil); log.take(); q.Remove() },
			"[pid 11] msgctl(0, IPC_RMID, NULL) = -1 EIDRM (Identifier removed)"},
		{"a cred without a pid", func() { ns.As(Cred{UID: 5}).Msgget(0x99, 0) },
			"msgget(0x99, 000) = -1 ENOENT (No such file or directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log.take()
			tt.call()
			got := log.take()
			require.Len(t, got, 1, "one entry per call (Lookup is not traced)")
			assert.Equal(t, tt.want, got[0].String())
		})
	}
}

// TestTraceEntryFields: the entry carries the results, the texts as
// copies, and when the call started.
func TestTraceEntryFields(t *testing.T) {
	var log traceLog
	ns := newNS(t, WithTrace(log.add))
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	text := []byte("abc")
	before := time.Now()
	require.NoError(t, ns.Msgsnd(id, 7, text, 0))
	text[0] = 'X'
	buf := make([]byte, 8)
	_, _, err := ns.Msgrcv(id, buf, 0, 0)
	require.NoError(t, err)
	buf[0] = 'Y'
	got := log.take()
	require.Len(t, got, 3)
	snd, rcv := got[1], got[2]
	assert.Equal(t, "abc", string(snd.Text), "a copy of the text sent")
	assert.Equal(t, "abc", string(rcv.Text), "a copy of the text received")
	assert.Equal(t, int64(7), rcv.MType)
	assert.Equal(t, 3, rcv.Result)
	assert.False(t, snd.Start.Before(before))
	assert.Zero(t, snd.Blocked+rcv.Blocked, "neither waited")
	assert.Equal(t, owner, rcv.Cred)
}

// TestTraceBlockingTime runs in a bubble so that the time a call waited is
// exact: a receiver waits 1.5s for its message, a sender 2s for room, and
// a receiver an hour for its context's deadline.
func TestTraceBlockingTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log traceLog
		ns := newNS(t, WithTrace(log.add))
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		q, err := ns.Lookup(id)
		require.NoError(t, err)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, err := ns.Msgrcv(id, make([]byte, 8), 0, 0)
			assert.NoError(t, err)
		}()
		synctest.Wait()
		time.Sleep(1500 * time.Millisecond)
		require.NoError(t, ns.Msgsnd(id, 1, []byte("late"), 0))
		<-done

		setQbytes(t, ns, id, 4)
		require.NoError(t, q.Send(context.Background(), 1, []byte("full"), 0))
		done2 := make(chan struct{})
		go func() {
			defer close(done2)
			assert.NoError(t, q.Send(context.Background(), 2, []byte("more"), 0))
		}()
		synctest.Wait()
		time.Sleep(2 * time.Second)
		_, err = q.Recv(context.Background(), 1, 8, 0)
		require.NoError(t, err)
		<-done2

		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_, err = q.Recv(ctx, 9, 8, 0)
		require.ErrorIs(t, err, context.DeadlineExceeded)

		var lines []string
		for _, e := range log.take() {
			if e.Op == "msgsnd" || e.Op == "msgrcv" {
				lines = append(lines, e.String())
			}
		}
		assert.Equal(t, []string{
			`[pid 11] msgsnd(0, {mtype=1, mtext="late"}, 4, 0) = 0`,
			`[pid 11] msgrcv(0, {mtype=1, mtext="late"}, 8, 0, 0) = 4 <1.500000>`,
			`[pid 11] msgsnd(0, {mtype=1, mtext="full"}, 4, 0) = 0`,
			`[pid 11] msgrcv(0, {mtype=1, mtext="full"}, 8, 1, 0) = 4`,
			`[pid 11] msgsnd(0, {mtype=2, mtext="more"}, 4, 0) = 0 <2.000000>`,
			`[pid 11] msgrcv(0, {...}, 8, 9, 0) = -1 (context deadline exceeded) <3600.000000>`,
		}, lines)
	})
}

// BenchmarkHooks is W1 (a send and a receive, neither waiting) on a
// namespace without hooks, with a fault hook that fails nothing, and with
// a trace that drops its entries: what the hooks cost when they are on.
func BenchmarkHooks(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"none", nil},
		{"faults", []Option{WithFaults(func(Call) error { return nil })}},
		{"trace", []Option{WithTrace(func(TraceEntry) {})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ns := NewNamespace(bc.opts...)
			q, err := ns.Get(IPC_PRIVATE, IPC_CREAT|0o600)
			require.NoError(b, err)
			ctx := context.Background()
			text, buf := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if err := q.Send(ctx, 1, text, 0); err != nil {
					b.Fatal(err)
				}
				if _, _, err := q.RecvInto(ctx, buf, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
