package msgqtest

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sysvmsg/msgq"
)

// A Hook is a fault hook for msgq.WithFaults: it sees each call before the
// call runs, and a non-nil result fails the call with that error (normally
// a syscall.Errno) and nothing else happens. The hooks here are safe for
// concurrent use and compose: Chain asks several in turn, When narrows a
// hook to the calls a Match accepts.
type Hook = func(msgq.Call) error

// A Match is a predicate on calls, for FailIf and When.
type Match = func(msgq.Call) bool

// Chain returns a hook that asks each of hooks in turn until one fails the
// call; the hooks after it do not see that call.
func Chain(hooks ...Hook) Hook {
	hooks = slices.Clone(hooks)
	return func(c msgq.Call) error {
		for _, h := range hooks {
			if err := h(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// When returns a hook that asks h only about the calls match accepts; the
// others pass. So counting and random hooks count and draw only for those.
func When(match Match, h Hook) Hook {
	return func(c msgq.Call) error {
		if !match(c) {
			return nil
		}
		return h(c)
	}
}

// Nth returns a hook that fails the nth call it is asked about (counting
// from 1) with err, and no other. Asked from several goroutines at once,
// it fails exactly one call, the nth to reach it.
func Nth(n int, err error) Hook {
	var count atomic.Int64
	return func(msgq.Call) error {
		if count.Add(1) == int64(n) {
			return err
		}
		return nil
	}
}

// FailNth fails the nth call (counting from 1) of op ("msgget", "msgsnd",
// "msgrcv" or "msgctl") with err: When(Op(op), Nth(n, err)).
func FailNth(op string, n int, err error) Hook { return When(Op(op), Nth(n, err)) }

// FailIf fails every call that match accepts with err.
func FailIf(match Match, err error) Hook {
	return func(c msgq.Call) error {
		if match(c) {
			return err
		}
		return nil
	}
}

// FailRandom fails each call it is asked about with probability rate (0 to
// 1) with err, drawing from a generator seeded with seed: the same calls
// asked in the same order fail in the same way for the same seed, so a
// failing run can be replayed by its seed. It draws once per call it is
// asked about; narrow it with When to draw only for some calls.
func FailRandom(seed uint64, rate float64, err error) Hook {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(msgq.Call) error {
		mu.Lock()
		fail := r.Float64() < rate
		mu.Unlock()
		if fail {
			return err
		}
		return nil
	}
}

// Op matches calls of any of the given ops ("msgget", "msgsnd", "msgrcv",
// "msgctl").
func Op(ops ...string) Match {
	ops = slices.Clone(ops)
	return func(c msgq.Call) bool { return slices.Contains(ops, c.Op) }
}

// OnQueue matches the calls that name the queue msqid (msgsnd, msgrcv and
// msgctl; never msgget).
func OnQueue(msqid int) Match {
	return func(c msgq.Call) bool { return c.Op != "msgget" && c.ID == msqid }
}

// OfType matches msgsnd calls of type mtype and msgrcv calls asking for
// msgtyp mtype.
func OfType(mtype int64) Match {
	return func(c msgq.Call) bool { return (c.Op == "msgsnd" || c.Op == "msgrcv") && c.Type == mtype }
}

// Cmd matches msgctl calls with command cmd (msgq.IPC_STAT, ...).
func Cmd(cmd int) Match {
	return func(c msgq.Call) bool { return c.Op == "msgctl" && c.Cmd == cmd }
}

// ByPID matches calls made with Cred.PID pid.
func ByPID(pid int32) Match {
	return func(c msgq.Call) bool { return c.Cred.PID == pid }
}

// ByUID matches calls made with Cred.UID uid.
func ByUID(uid uint32) Match {
	return func(c msgq.Call) bool { return c.Cred.UID == uid }
}

// All matches the calls every one of matches accepts (all calls, if none).
func All(matches ...Match) Match {
	matches = slices.Clone(matches)
	return func(c msgq.Call) bool {
		for _, m := range matches {
			if !m(c) {
				return false
			}
		}
		return true
	}
}

// Any matches the calls at least one of matches accepts (none, if none).
func Any(matches ...Match) Match {
	matches = slices.Clone(matches)
	return func(c msgq.Call) bool {
		for _, m := range matches {
			if m(c) {
				return true
			}
		}
		return false
	}
}
