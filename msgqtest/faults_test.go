package msgqtest_test

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/msgqtest"
)

// calls is a fixed sequence of calls for the hooks to judge.
var calls = []msgq.Call{
	{Op: "msgget", Key: 1, Flags: msgq.IPC_CREAT},                        // 0
	{Op: "msgsnd", ID: 10, Type: 1, Cred: msgq.Cred{UID: 1000, PID: 7}},  // 1
	{Op: "msgsnd", ID: 10, Type: 2, Cred: msgq.Cred{UID: 1000, PID: 8}},  // 2
	{Op: "msgrcv", ID: 10, Type: 2, Cred: msgq.Cred{UID: 2000, PID: 7}},  // 3
	{Op: "msgsnd", ID: 11, Type: 1, Cred: msgq.Cred{UID: 2000, PID: 8}},  // 4
	{Op: "msgctl", ID: 10, Cmd: msgq.IPC_STAT},                           // 5
	{Op: "msgsnd", ID: 10, Type: 1, Cred: msgq.Cred{UID: 1000, PID: 7}},  // 6
	{Op: "msgctl", ID: 11, Cmd: msgq.IPC_RMID, Cred: msgq.Cred{PID: 8}},  // 7
	{Op: "msgrcv", ID: 11, Type: -3, Cred: msgq.Cred{UID: 1000, PID: 9}}, // 8
	{Op: "msgget", Key: 2, Cred: msgq.Cred{UID: 1000, PID: 9}},           // 9
}

// failed returns the indices in calls of the calls h fails, and checks
// that each failure is err.
func failed(t *testing.T, h msgqtest.Hook, err error) []int {
	t.Helper()
	out := []int{}
	for i, c := range calls {
		if got := h(c); got != nil {
			assert.Equal(t, err, got, "call %d", i)
			out = append(out, i)
		}
	}
	return out
}

func TestHooksHitExactlyTheirCalls(t *testing.T) {
	e := syscall.EAGAIN
	tests := []struct {
		name string
		hook msgqtest.Hook
		want []int
	}{
		{"FailNth fails the nth call of its op", msgqtest.FailNth("msgsnd", 3, e), []int{4}},
		{"FailNth past the last call fails none", msgqtest.FailNth("msgsnd", 5, e), []int{}},
		{"FailNth of the first", msgqtest.FailNth("msgget", 1, e), []int{0}},
		{"Nth counts every call it is asked", msgqtest.Nth(3, e), []int{2}},
		{"FailIf an op", msgqtest.FailIf(msgqtest.Op("msgctl"), e), []int{5, 7}},
		{"FailIf any of two ops", msgqtest.FailIf(msgqtest.Op("msgctl", "msgget"), e), []int{0, 5, 7, 9}},
		{"FailIf a queue", msgqtest.FailIf(msgqtest.OnQueue(11), e), []int{4, 7, 8}},
		{"a queue is never a msgget's", msgqtest.FailIf(msgqtest.OnQueue(0), e), []int{}},
		{"FailIf a type", msgqtest.FailIf(msgqtest.OfType(1), e), []int{1, 4, 6}},
		{"FailIf a command", msgqtest.FailIf(msgqtest.Cmd(msgq.IPC_RMID), e), []int{7}},
		{"FailIf a pid", msgqtest.FailIf(msgqtest.ByPID(7), e), []int{1, 3, 6}},
		{"FailIf a uid", msgqtest.FailIf(msgqtest.ByUID(2000), e), []int{3, 4}},
		{"FailIf all of", msgqtest.FailIf(msgqtest.All(msgqtest.Op("msgsnd"), msgqtest.ByPID(8)), e), []int{2, 4}},
		{"FailIf any of", msgqtest.FailIf(msgqtest.Any(msgqtest.ByPID(9), msgqtest.OfType(2)), e), []int{2, 3, 8, 9}},
		{"All of nothing is everything", msgqtest.FailIf(msgqtest.All(), e), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"Any of nothing is nothing", msgqtest.FailIf(msgqtest.Any(), e), []int{}},
		{"When narrows what Nth counts", msgqtest.When(msgqtest.ByPID(7), msgqtest.Nth(2, e)), []int{3}},
		{"Chain: either fails", msgqtest.Chain(msgqtest.FailNth("msgget", 2, e), msgqtest.FailIf(msgqtest.Cmd(msgq.IPC_STAT), e)), []int{5, 9}},
		{"Chain of nothing fails nothing", msgqtest.Chain(), []int{}},
		{"FailRandom at rate 0 fails nothing", msgqtest.FailRandom(1, 0, e), []int{}},
		{"FailRandom at rate 1 fails everything", msgqtest.FailRandom(1, 1, e), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, failed(t, tt.hook, e))
		})
	}
}

// TestChainStopsAtTheFirstFailure: a hook after the one that failed a call
// does not see it, so its count does not move.
func TestChainStopsAtTheFirstFailure(t *testing.T) {
	e1, e2 := syscall.EINTR, syscall.ENOSPC
	h := msgqtest.Chain(msgqtest.FailIf(msgqtest.ByPID(7), e1), msgqtest.Nth(2, e2))
	var got []error
	for _, c := range calls[:4] { // pids 0, 7, 8, 7
		got = append(got, h(c))
	}
	assert.Equal(t, []error{nil, e1, e2, e1}, got, "Nth saw calls 0 and 2 only")
}

// TestFailRandomIsReproducible: the same seed fails the same calls, another
// seed others, and the rate is about right.
func TestFailRandomIsReproducible(t *testing.T) {
	run := func(seed uint64) []bool {
		h := msgqtest.FailRandom(seed, 0.3, syscall.EAGAIN)
		out := make([]bool, 2000)
		for i := range out {
			out[i] = h(calls[i%len(calls)]) != nil
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	assert.Equal(t, a, b, "the same seed gives the same failures")
	assert.NotEqual(t, a, c, "another seed gives others")
	n := 0
	for _, f := range a {
		if f {
			n++
		}
	}
	assert.InDelta(t, 600, n, 100, "about 30%% of 2000 calls fail")
}

// TestHooksOnANamespace: the hooks do what they say on a real namespace,
// through WithFaults, and the failed calls change nothing.
func TestHooksOnANamespace(t *testing.T) {
	ns := msgqtest.New(t, msgq.WithFaults(msgqtest.Chain(
		msgqtest.FailNth("msgsnd", 2, syscall.EAGAIN),
		msgqtest.When(msgqtest.Op("msgrcv"), msgqtest.FailRandom(7, 0.5, syscall.EINTR)),
	)))
	id, err := ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	if !assert.NoError(t, err) {
		return
	}
	var sendErrs []error
	for i := range 4 {
		sendErrs = append(sendErrs, ns.Msgsnd(id, int64(i+1), []byte("m"), msgq.IPC_NOWAIT))
	}
	assert.Equal(t, []error{nil, syscall.EAGAIN, nil, nil}, sendErrs)
	got := []int64{}
	for tries := 0; len(got) < 3 && tries < 100; tries++ {
		_, mtype, err := ns.Msgrcv(id, make([]byte, 1), 0, msgq.IPC_NOWAIT)
		if err == syscall.EINTR {
			continue
		}
		assert.NoError(t, err)
		got = append(got, mtype)
	}
	assert.Equal(t, []int64{1, 3, 4}, got, "interrupted receives took nothing; the failed send queued nothing")
	_, err = ns.Msgctl(id, msgq.IPC_RMID, nil)
	assert.NoError(t, err)
}
