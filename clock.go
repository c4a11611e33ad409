package msgq

import (
	"sync"
	"sync/atomic"
	"time"
)

// The clocks of a namespace. Every msgsnd and msgrcv stamps the queue's
// msg_stime or msg_rtime, IPC_SET and msgget stamp msg_ctime, and Linux
// stamps them in whole seconds (ktime_get_real_seconds: IPC_STAT's times
// are time_t), so every stamp here is a whole second too, whatever the
// clock.
//
// A namespace's clock belongs to where the namespace was made, as a
// channel made in a testing/synctest bubble belongs to that bubble:
//
//   - Made outside any bubble, it reads the shared coarse clock below.
//   - Made inside a bubble, it reads the bubble's clock (time.Now in the
//     bubble, which costs next to nothing there) through a bubbleClock of
//     its own: no timer, nothing shared with other namespaces or bubbles.
//   - WithClock's clock, truncated to the second, replaces either.
//
// The shared coarse clock exists because on the machines msgq is measured
// on time.Now costs more than the rest of a send and a receive together.
// It is a copy of time.Now truncated to the second, read with three atomic
// loads and refreshed by a timer that fires just after each second
// begins, which runs only while the clock is in use: a read made while the
// timer is stopped reads time.Now itself and starts the timer again. So a
// stamp lags the true second by the timer's latency at most (more only if
// the timer runs late), never goes backwards, and an idle process runs
// nothing. Its timer is created outside any bubble (by the first
// NewNamespace made outside one) and is never touched from inside one:
// a timer made in a bubble and used outside it is a fatal error.

// inBubble reports whether the calling goroutine runs in a testing/synctest
// bubble. Inside a bubble time.Now carries no monotonic clock reading (the
// runtime omits it there, so that times from inside and outside a bubble
// are never subtracted as monotonic ones); outside one it always does.
func inBubble() bool { return !hasMonotonic(time.Now()) }

// hasMonotonic reports whether t carries a monotonic clock reading: Round(0)
// strips it, and Times compare equal with == only if that changed nothing.
func hasMonotonic(t time.Time) bool { return t != t.Round(0) }

// seconds is the time stamped into msg_stime, msg_rtime and msg_ctime:
// the namespace's clock in whole Unix seconds, as Linux keeps them
// (ktime_get_real_seconds). The shared clock's fast path is written out
// here so that a stamp costs two atomic loads and no call. A clock before
// 1970-01-01T00:00:01 stamps 1: 0 means never.
func (core *nsCore) seconds() int64 {
	if shared.state.Load() == clockUsed|clockTicking && core.clock == nil {
		return shared.cur.Load().sec
	}
	return core.slowSeconds()
}

func (core *nsCore) slowSeconds() int64 {
	if core.clock == nil {
		return shared.now().Unix()
	}
	return max(core.clock().Unix(), 1)
}

// clockFor returns the clock for a new namespace: now (WithClock), the
// bubble's clock when the namespace is made in a bubble, or nil for the
// shared coarse clock.
func clockFor(now func() time.Time) func() time.Time {
	switch {
	case now != nil:
		return now
	case inBubble():
		c := &bubbleClock{}
		c.last.Store(time.Now().Unix())
		return c.now
	}
	shared.start()
	return nil
}

// bubbleClock is the clock of a namespace made in a synctest bubble.
type bubbleClock struct {
	last atomic.Int64 // the latest second stamped, in Unix seconds
}

// now returns the bubble's time. Read from outside the bubble (a namespace
// kept in a variable after its test ended, say), it returns the last time
// the bubble gave it: for this namespace the bubble's clock has stopped,
// as a bubble's time stops when its root goroutine exits, and the real
// clock is never mixed in.
func (c *bubbleClock) now() time.Time {
	t := time.Now()
	if hasMonotonic(t) {
		return time.Unix(c.last.Load(), 0)
	}
	s := t.Unix()
	for {
		old := c.last.Load()
		if s <= old {
			return time.Unix(old, 0)
		}
		if c.last.CompareAndSwap(old, s) {
			return time.Unix(s, 0)
		}
	}
}

// coarseClock is the shared clock of the namespaces made outside a bubble.
type coarseClock struct {
	cur   atomic.Pointer[clockReading] // time.Now() truncated to the second, at the last refresh
	state atomic.Uint32                // clockUsed, clockTicking

	once  sync.Once
	timer *time.Timer // made by start, outside any bubble
}

// The bits of coarseClock.state. The clock's time is read from cur alone
// while both are set: one atomic load (and a plain one on most machines).
const (
	clockUsed    = 1 << iota // read since the last tick
	clockTicking             // the timer is armed
)

var shared coarseClock

// clockReading is one published reading of the coarse clock, immutable:
// the time and its Unix seconds, so that a stamp need not compute them.
type clockReading struct {
	t   time.Time
	sec int64
}

// start makes the clock's timer, once. It is called by NewNamespace outside
// any bubble, so the timer never belongs to one.
func (c *coarseClock) start() {
	c.once.Do(func() {
		c.publish(time.Now().Truncate(time.Second))
		c.timer = time.AfterFunc(time.Hour, c.tick)
		c.timer.Stop()
	})
}

func (c *coarseClock) now() time.Time {
	if c.state.Load() == clockUsed|clockTicking {
		return c.cur.Load().t
	}
	return c.refresh()
}

// refresh is now when the clock was not read since the last tick, or has
// stopped: it reads time.Now, and starts the timer if it is stopped. From
// inside a bubble (a namespace made outside one, used in one) it reads
// only the cached time: the bubble's clock must not leak into the shared
// one, and the timer is not the bubble's to start.
func (c *coarseClock) refresh() time.Time {
	t := time.Now()
	if !hasMonotonic(t) {
		if cur := c.cur.Load(); cur != nil {
			return cur.t
		}
		return time.Time{} // unreachable: start published a time
	}
	now := c.publish(t.Truncate(time.Second))
	if c.state.Or(clockUsed|clockTicking)&clockTicking == 0 {
		c.start() // a no-op but for a coarseClock made by a test
		c.timer.Reset(untilNextSecond(t))
	}
	return now
}

// untilNextSecond is how long after t the next second begins, plus a
// little so that a tick lands after the boundary.
func untilNextSecond(t time.Time) time.Duration {
	return time.Second - time.Duration(t.Nanosecond()) + 100*time.Microsecond
}

// publish makes t the clock's time unless a later one is already there (a
// reader that read time.Now and then stalled must not move the clock back),
// and returns the clock's time.
func (c *coarseClock) publish(t time.Time) time.Time {
	r := &clockReading{t: t, sec: t.Unix()}
	for {
		old := c.cur.Load()
		if old != nil && !t.After(old.t) {
			return old.t
		}
		if c.cur.CompareAndSwap(old, r) {
			return t
		}
	}
}

// tick refreshes the clock as a second begins, and keeps the timer running
// only if the clock was read since the last tick. A reader that comes in
// as the timer stops either finds it still ticking (and the CAS fails, so
// it keeps ticking) or finds it stopped and starts it.
func (c *coarseClock) tick() {
	t := time.Now()
	c.publish(t.Truncate(time.Second))
	if c.state.And(^uint32(clockUsed))&clockUsed == 0 && c.state.CompareAndSwap(clockTicking, 0) {
		return
	}
	c.timer.Reset(untilNextSecond(t))
}
