package msgq

import (
	"sync"
	"sync/atomic"
	"time"
)

// The default clock of a namespace. Every msgsnd and msgrcv stamps the
// queue's msg_stime or msg_rtime, and on the machines msgq is measured on
// time.Now costs more than the rest of a send and a receive together. Linux
// stamps these times from a coarse clock too, with whole seconds. So
// namespaces share a clock that is read with three atomic loads: a copy of
// time.Now refreshed every coarseTick by a timer, which runs only while the
// clock is in use. A read made while the timer is stopped reads time.Now
// itself and starts the timer again, so a stamp lags time.Now by about a
// tick (more only if the timer runs late), never goes backwards, and an
// idle process runs nothing.

// coarseTick is how far the shared clock may lag time.Now.
const coarseTick = 4 * time.Millisecond

type coarseClock struct {
	cur     atomic.Pointer[time.Time] // time.Now() at the last refresh, without its monotonic reading
	used    atomic.Bool               // read since the last tick
	ticking atomic.Bool               // the timer is armed

	once  sync.Once
	timer *time.Timer
}

var shared coarseClock

func (c *coarseClock) now() time.Time {
	if c.used.Load() && c.ticking.Load() {
		return *c.cur.Load()
	}
	return c.refresh()
}

// refresh is now when the clock was not read since the last tick, or has
// stopped: it reads time.Now and starts the timer if it is stopped.
func (c *coarseClock) refresh() time.Time {
	c.used.Store(true)
	if !c.ticking.Load() {
		now := c.publish(time.Now().Round(0))
		if c.ticking.CompareAndSwap(false, true) {
			c.once.Do(func() {
				c.timer = time.AfterFunc(time.Hour, c.tick)
				c.timer.Stop()
			})
			c.timer.Reset(coarseTick)
		}
		return now
	}
	return *c.cur.Load()
}

// publish makes t the clock's time unless a later one is already there (a
// reader that read time.Now and then stalled must not move the clock back),
// and returns the clock's time.
func (c *coarseClock) publish(t time.Time) time.Time {
	for {
		old := c.cur.Load()
		if old != nil && !t.After(*old) {
			return *old
		}
		if c.cur.CompareAndSwap(old, &t) {
			return t
		}
	}
}

// tick refreshes the clock, and keeps the timer running only if the clock
// was read since the last tick.
func (c *coarseClock) tick() {
	c.publish(time.Now().Round(0))
	if c.used.Swap(false) {
		c.timer.Reset(coarseTick)
		return
	}
	c.ticking.Store(false)
}
