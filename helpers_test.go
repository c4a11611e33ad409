package msgq

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Identities used across the tests. The owner creates the queues unless a
// test says otherwise.
var (
	owner      = Cred{UID: 1000, GID: 1000, PID: 11}
	creator    = Cred{UID: 1001, GID: 1001, PID: 12}
	member     = Cred{UID: 2000, GID: 1000, PID: 13}                         // in the owner's group
	suppl      = Cred{UID: 2001, GID: 3000, Groups: []uint32{1000}, PID: 14} // in it as a supplementary group
	stranger   = Cred{UID: 3000, GID: 3000, PID: 15}
	rootNoCaps = Cred{UID: 0, GID: 0, PID: 16} // uid 0 without capabilities is nobody special
)

// fakeClock is a clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local)} // Local, as IPC_STAT reports times
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// newNS returns a namespace acting as owner.
func newNS(t testing.TB, opts ...Option) *Namespace {
	t.Helper()
	return NewNamespace(append([]Option{WithCred(owner)}, opts...)...)
}

// mustQueue creates a queue with the given key and mode, acting as ns.
func mustQueue(t testing.TB, ns *Namespace, key Key, mode int) int {
	t.Helper()
	id, err := ns.Msgget(key, IPC_CREAT|mode)
	require.NoError(t, err)
	return id
}

// msg is a message as the tests write them.
type msg struct {
	Type int64
	Text string
}

// mustSend sends each message with IPC_NOWAIT.
func mustSend(t testing.TB, ns *Namespace, id int, msgs ...msg) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, ns.Msgsnd(id, m.Type, []byte(m.Text), IPC_NOWAIT), "send %v", m)
	}
}

// contents returns the messages of a queue in arrival order, read with
// MSG_COPY (and so without changing the queue).
func contents(t testing.TB, ns *Namespace, id int) []msg {
	t.Helper()
	var ds MsqidDS
	_, err := ns.As(Root).Msgctl(id, IPC_STAT, &ds)
	require.NoError(t, err)
	out := []msg{}
	buf := make([]byte, ns.Limits().MsgMax)
	for k := int64(0); k < int64(ds.Qnum); k++ {
		n, mtype, err := ns.As(Root).Msgrcv(id, buf, k, MSG_COPY|IPC_NOWAIT)
		require.NoError(t, err)
		out = append(out, msg{mtype, string(buf[:n])})
	}
	return out
}

// stat returns the queue's msqid_ds, read as Root.
func stat(t testing.TB, ns *Namespace, id int) MsqidDS {
	t.Helper()
	var ds MsqidDS
	_, err := ns.As(Root).Msgctl(id, IPC_STAT, &ds)
	require.NoError(t, err)
	return ds
}
