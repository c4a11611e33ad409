package msgqtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/msgqtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTB records what New and AtEnd report, and runs their cleanups when
// the fake test ends. Methods it does not implement panic (nil TB).
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	errors   []string
	logs     []string
	cleanups []func()
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Name() string              { return "TestFake" }
func (f *fakeTB) Cleanup(fn func())         { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Fatalf(s string, a ...any) { f.Errorf(s, a...); panic(fatal{}) }
func (f *fakeTB) Errorf(s string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.errors = append(f.errors, fmt.Sprintf(s, a...))
}
func (f *fakeTB) Logf(s string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(s, a...))
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

type fatal struct{}

// end runs the cleanups, last registered first, as testing does.
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestNewFailsALeakedReceiver(t *testing.T) {
	ft := &fakeTB{}
	ns := msgqtest.New(ft, msgq.WithCred(msgq.Cred{UID: 1000, GID: 1000, PID: 7}))
	q, err := ns.Get(0x2a, msgq.IPC_CREAT|0o600)
	require.NoError(t, err)
	require.NoError(t, q.Send(context.Background(), 1, []byte("kept"), 0))
	leaked := make(chan error, 1)
	go func() {
		_, err := q.Recv(context.Background(), 5, 16, 0) // no type 5 ever comes
		leaked <- err
	}()
	msgqtest.WaitBlocked(ft, ns, q.ID(), 1)
	require.False(t, ft.Failed())

	ft.end()
	require.True(t, ft.Failed(), "a blocked receiver at the end fails the test")
	require.Len(t, ft.errors, 1)
	assert.Contains(t, ft.errors[0], "1 call(s) still blocked")
	assert.Contains(t, ft.errors[0], "[pid 7] msgrcv(0, {...}, 16, 5, 0) <unfinished ...>", "the blocked call is named")
	logs := strings.Join(ft.logs, "\n")
	assert.Contains(t, logs, "------ Message Queues --------")
	assert.Contains(t, logs, "0x0000002a 0          1000       600        4            1", "the listing holds the queue")
	assert.Contains(t, logs, `[pid 7] msgget(0x2a, IPC_CREAT|0600) = 0`, "and the last calls")
	assert.Contains(t, logs, `[pid 7] msgsnd(0, {mtype=1, mtext="kept"}, 4, 0) = 0`)
	assert.True(t, errors.Is(<-leaked, syscall.EIDRM), "the leaked receiver was let go")
}

func TestNewPassesACleanTest(t *testing.T) {
	ft := &fakeTB{}
	ns := msgqtest.New(ft)
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, ns.Msgsnd(id, 1, []byte("x"), 0))
	_, _, err = ns.Msgrcv(id, make([]byte, 1), 0, 0)
	require.NoError(t, err)
	ft.end()
	assert.False(t, ft.Failed())
	assert.Empty(t, ft.errors)
	assert.Empty(t, ft.logs, "a passing test logs nothing")
}

func TestNewLogsWhenTheTestFailed(t *testing.T) {
	ft := &fakeTB{}
	ns := msgqtest.New(ft)
	for i := range msgqtest.Recent + 3 {
		ns.Msgget(msgq.Key(100+i), 0) // ENOENT, each traced
	}
	ft.Errorf("the code under test got it wrong")
	ft.end()
	require.Len(t, ft.errors, 1, "New adds no error of its own")
	logs := strings.Join(ft.logs, "\n")
	assert.Contains(t, logs, "------ Message Queues --------")
	assert.Contains(t, logs, "(3 earlier calls not shown)")
	assert.NotContains(t, logs, "msgget(0x66,", "the oldest calls are dropped")
	assert.Contains(t, logs, "msgget(0x67, 000) = -1 ENOENT (No such file or directory)")
	assert.Contains(t, logs, fmt.Sprintf("msgget(%#x, 000) = -1 ENOENT", 100+msgqtest.Recent+2))
}

func TestNewChecksIgnoreInjectedFaults(t *testing.T) {
	ft := &fakeTB{}
	ns := msgqtest.New(ft, msgq.WithFaults(msgqtest.FailIf(msgqtest.Op("msgctl"), syscall.EPERM)))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	_, err = ns.Msgctl(id, msgq.IPC_RMID, nil)
	require.Equal(t, syscall.EPERM, err)
	msgqtest.AtEnd(ft, ns, msgqtest.NoQueuesLeft)
	ft.end()
	require.Len(t, ft.errors, 1, "NoQueuesLeft read the namespace despite the faults")
	assert.Contains(t, ft.errors[0], "1 queue(s) left")
	_, err = ns.WithoutHooks().Msgctl(id, msgq.IPC_STAT, &msgq.MsqidDS{})
	assert.Equal(t, syscall.EINVAL, err, "New removed the queue at the end despite the faults")
}

func TestAtEnd(t *testing.T) {
	tests := []struct {
		name   string
		checks []msgqtest.Check
		leave  func(*testing.T, *msgq.Namespace)
		errs   []string
	}{
		{"no queues left holds when all are removed", []msgqtest.Check{msgqtest.NoQueuesLeft},
			func(t *testing.T, ns *msgq.Namespace) {}, nil},
		{"no queues left fails for a queue", []msgqtest.Check{msgqtest.NoQueuesLeft},
			func(t *testing.T, ns *msgq.Namespace) { mustGet(t, ns) }, []string{"1 queue(s) left"}},
		{"no messages left holds for an empty queue", []msgqtest.Check{msgqtest.NoMessagesLeft},
			func(t *testing.T, ns *msgq.Namespace) { mustGet(t, ns) }, nil},
		{"no messages left fails for a message", []msgqtest.Check{msgqtest.NoMessagesLeft},
			func(t *testing.T, ns *msgq.Namespace) {
				require.NoError(t, ns.Msgsnd(mustGet(t, ns), 1, []byte("abc"), 0))
			}, []string{"1 message(s) of 3 bytes left queued"}},
		{"both, both failing", []msgqtest.Check{msgqtest.NoQueuesLeft, msgqtest.NoMessagesLeft},
			func(t *testing.T, ns *msgq.Namespace) {
				require.NoError(t, ns.Msgsnd(mustGet(t, ns), 1, nil, 0))
			}, []string{"1 queue(s) left", "1 message(s) of 0 bytes left queued"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTB{}
			ns := msgqtest.New(ft)
			msgqtest.AtEnd(ft, ns, tt.checks...)
			tt.leave(t, ns)
			ft.end()
			require.Len(t, ft.errors, len(tt.errs))
			for i, want := range tt.errs {
				assert.Contains(t, ft.errors[i], want)
			}
			if tt.errs != nil {
				assert.Contains(t, strings.Join(ft.logs, "\n"), "Message Queues", "a failure logs the listing")
			}
		})
	}
}

func mustGet(t *testing.T, ns *msgq.Namespace) int {
	t.Helper()
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	return id
}

func TestWaitBlockedFailsForARemovedQueue(t *testing.T) {
	ft := &fakeTB{}
	ns := msgqtest.New(ft)
	id := mustGet(t, ns)
	_, err := ns.Msgctl(id, msgq.IPC_RMID, nil)
	require.NoError(t, err)
	assert.PanicsWithValue(t, fatal{}, func() { msgqtest.WaitBlocked(ft, ns, id, 1) })
	require.Len(t, ft.errors, 1)
	assert.Contains(t, ft.errors[0], "waiting for 1 call(s) blocked on queue 0")
	ft.end()
}

// TestNewInABubble: in a synctest bubble the leak check sees a receiver
// that is durably blocked, and the cleanup lets it go so the bubble ends.
func TestNewInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTB{}
		ns := msgqtest.New(ft)
		id := mustGet(t, ns)
		go ns.Msgrcv(id, nil, 0, 0)
		synctest.Wait()
		ft.end()
		require.Len(t, ft.errors, 1)
		assert.Contains(t, ft.errors[0], "msgrcv(0, {...}, 0, 0, 0) <unfinished ...>")
		assert.Contains(t, strings.Join(ft.logs, "\n"), "msgget(IPC_PRIVATE, 0600) = 0")
	})
}
