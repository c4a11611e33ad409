package msgq

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bubbleEpoch is where every synctest bubble's clock starts.
var bubbleEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCoarseClockNeverGoesBack(t *testing.T) {
	var c coarseClock
	later := time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)
	assert.Equal(t, later, c.publish(later))
	assert.Equal(t, later, c.publish(later.Add(-time.Second)), "a stalled reader's older time is not published")
	assert.Equal(t, later.Add(time.Second), c.publish(later.Add(time.Second)))

	NewNamespace() // starts the shared clock, as any namespace made outside a bubble does
	before := time.Now()
	got := shared.now()
	assert.Zero(t, got.Nanosecond(), "whole seconds")
	assert.False(t, got.After(time.Now()), "the shared clock is not ahead of time.Now")
	assert.Less(t, before.Sub(got), 2*time.Second, "nor far behind it")
}

func TestUntilNextSecondLandsAfterTheBoundary(t *testing.T) {
	for _, ns := range []int{0, 1, 500_000_000, 999_999_999} {
		at := time.Date(2026, 1, 1, 0, 0, 7, ns, time.UTC)
		next := at.Add(untilNextSecond(at))
		assert.Equal(t, 8, next.Second(), "from %d ns", ns)
		assert.Less(t, next.Nanosecond(), int(time.Millisecond), "from %d ns", ns)
	}
}

// stampAll makes a queue and stamps all three of its times: ctime by
// msgget, stime by msgsnd, rtime by msgrcv.
func stampAll(t *testing.T, ns *Namespace) MsqidDS {
	t.Helper()
	id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
	mustSend(t, ns, id, msg{1, "x"})
	_, _, err := ns.Msgrcv(id, make([]byte, 1), 0, IPC_NOWAIT)
	require.NoError(t, err)
	return stat(t, ns, id)
}

// assertRealSeconds checks that ds's times are whole seconds of the real
// clock, stamped between before and now.
func assertRealSeconds(t *testing.T, ds MsqidDS, before time.Time) {
	t.Helper()
	for name, ts := range map[string]time.Time{"stime": ds.Stime, "rtime": ds.Rtime, "ctime": ds.Ctime} {
		assert.Zero(t, ts.Nanosecond(), "%s is whole seconds", name)
		assert.False(t, ts.Before(before.Truncate(time.Second).Add(-time.Second)), "%s %v is not before the call", name, ts)
		assert.False(t, ts.After(time.Now()), "%s %v is not in the future", name, ts)
	}
}

// TestEveryClockStampsWholeSeconds pins the rule that IPC_STAT's times are
// time_t: whole seconds, whichever clock stamps them.
func TestEveryClockStampsWholeSeconds(t *testing.T) {
	t.Run("the default clock", func(t *testing.T) {
		before := time.Now()
		assertRealSeconds(t, stampAll(t, newNS(t)), before)
	})
	t.Run("WithClock is truncated, not rounded", func(t *testing.T) {
		at := time.Date(2026, 3, 4, 5, 6, 7, 999_999_999, time.UTC)
		ds := stampAll(t, newNS(t, WithClock(func() time.Time { return at })))
		want := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		assert.True(t, want.Equal(ds.Stime), "stime %v", ds.Stime)
		assert.True(t, want.Equal(ds.Rtime), "rtime %v", ds.Rtime)
		assert.True(t, want.Equal(ds.Ctime), "ctime %v", ds.Ctime)
	})
	t.Run("a bubble's clock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			time.Sleep(1500 * time.Millisecond)
			ds := stampAll(t, newNS(t))
			want := bubbleEpoch.Add(time.Second)
			assert.True(t, want.Equal(ds.Stime), "stime %v", ds.Stime)
			assert.True(t, want.Equal(ds.Rtime), "rtime %v", ds.Rtime)
			assert.True(t, want.Equal(ds.Ctime), "ctime %v", ds.Ctime)
		})
	})
}

// TestSynctestClocks runs a plain test, two bubbles in parallel and a plain
// test again: each stamps its own clock's times, and nothing of one clock
// leaks into another.
func TestSynctestClocks(t *testing.T) {
	plain := func(t *testing.T) {
		before := time.Now()
		ds := stampAll(t, newNS(t))
		assertRealSeconds(t, ds, before)
		assert.Greater(t, ds.Stime.Year(), 2020, "not a bubble's time")
	}
	bubble := func(sleep time.Duration) func(*testing.T) {
		return func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ns := newNS(t)
				id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
				for range 3 {
					time.Sleep(sleep)
					mustSend(t, ns, id, msg{1, "x"})
					want := time.Now().Truncate(time.Second)
					assert.True(t, want.Equal(stat(t, ns, id).Stime), "stime %v, want %v", stat(t, ns, id).Stime, want)
				}
				assert.Equal(t, 2000, stat(t, ns, id).Stime.Year())
				assert.True(t, bubbleEpoch.Equal(stat(t, ns, id).Ctime), "ctime is the bubble's start")
			})
		}
	}
	t.Run("plain before", plain)
	t.Run("bubbles", func(t *testing.T) {
		t.Run("an hour a step", bubble(time.Hour))
		t.Run("a second and a half a step", bubble(1500*time.Millisecond))
	})
	t.Run("plain after", plain)
}

// TestSynctestBlockedCallsAreDurable: a blocked call is durably blocked,
// so synctest.Wait returns with it listed; a context deadline of an hour
// passes at once in bubble time.
func TestSynctestBlockedCallsAreDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ns := newNS(t)
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		got := make(chan msg, 1)
		go func() {
			buf := make([]byte, 16)
			n, mtype, err := ns.Msgrcv(id, buf, 0, 0)
			assert.NoError(t, err)
			got <- msg{mtype, string(buf[:n])}
		}()
		synctest.Wait()
		require.Len(t, ns.Blocked(), 1, "the receiver is blocked and the bubble knows it")
		mustSend(t, ns, id, msg{3, "hi"})
		assert.Equal(t, msg{3, "hi"}, <-got)

		q, err := ns.Lookup(id)
		require.NoError(t, err)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		_, err = q.Recv(ctx, 0, 16, 0)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Hour, time.Since(start), "the hour passed in bubble time")

		// A full queue: the sender sleeps until its deadline, having sent nothing.
		setQbytes(t, ns, id, 1)
		mustSend(t, ns, id, msg{1, "x"})
		ctx2, cancel2 := context.WithTimeout(t.Context(), 30*time.Minute)
		defer cancel2()
		assert.ErrorIs(t, q.Send(ctx2, 1, []byte("y"), 0), context.DeadlineExceeded)
		assert.Equal(t, []msg{{1, "x"}}, contents(t, ns, id))
		assert.Equal(t, 90*time.Minute, time.Since(start))
		assert.True(t, bubbleEpoch.Add(time.Hour).Equal(stat(t, ns, id).Stime), "stamped when x was sent, before the sender slept")
	})
}

// setQbytes sets the queue's msg_qbytes, acting as Root.
func setQbytes(t testing.TB, ns *Namespace, id int, qbytes uint64) {
	t.Helper()
	ds := stat(t, ns, id)
	ds.Qbytes = qbytes
	_, err := ns.As(Root).Msgctl(id, IPC_SET, &ds)
	require.NoError(t, err)
}

// TestSynctestCrossUse: a namespace made outside a bubble keeps the real
// clock when a bubble calls it, and one made in a bubble keeps the
// bubble's last time when it is called after the bubble ended.
func TestSynctestCrossUse(t *testing.T) {
	before := time.Now()
	outside := newNS(t)
	id := mustQueue(t, outside, IPC_PRIVATE, 0o600)
	var inside *Namespace
	var insideID int
	synctest.Test(t, func(t *testing.T) {
		mustSend(t, outside, id, msg{1, "from a bubble"})
		inside = newNS(t)
		time.Sleep(time.Minute)
		insideID = mustQueue(t, inside, IPC_PRIVATE, 0o600)
	})
	// From inside a bubble the real clock cannot be read: the stamp is the
	// shared clock's last second, which may be a little behind (it was
	// read outside, at msgget, just before) but is never the bubble's.
	ds := stat(t, outside, id)
	assert.Zero(t, ds.Stime.Nanosecond())
	assert.False(t, ds.Stime.Before(ds.Ctime), "stime %v is the real clock's, not before msgget's %v", ds.Stime, ds.Ctime)
	assert.False(t, ds.Stime.After(time.Now()), "stime %v is not in the future", ds.Stime)
	assertRealSeconds(t, MsqidDS{Stime: ds.Ctime, Rtime: ds.Ctime, Ctime: ds.Ctime}, before)
	mustSend(t, inside, insideID, msg{1, "after the bubble"})
	assert.True(t, bubbleEpoch.Add(time.Minute).Equal(stat(t, inside, insideID).Stime),
		"the bubble's clock stopped for its namespace: %v", stat(t, inside, insideID).Stime)
}

// TestSynctestFirstUseInABubble runs, in a fresh process, a bubble that is
// the first to use msgq and then a plain test that outlives a few ticks of
// the shared clock: the shared clock's timer must not belong to the bubble
// (resetting a bubble's timer from outside it is a fatal error).
func TestSynctestFirstUseInABubble(t *testing.T) {
	if os.Getenv("MSGQ_CLOCK_CHILD") == "1" {
		synctest.Test(t, func(t *testing.T) {
			ns := NewNamespace(WithCred(owner))
			assert.Equal(t, 2000, stampAll(t, ns).Stime.Year())
		})
		ns := NewNamespace(WithCred(owner))
		before := time.Now()
		assertRealSeconds(t, stampAll(t, ns), before)
		time.Sleep(2200 * time.Millisecond) // the timer ticks, and stops
		before = time.Now()
		assertRealSeconds(t, stampAll(t, ns), before)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process for 2s")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSynctestFirstUseInABubble$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MSGQ_CLOCK_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, string(out), "PASS")
}

// TestCoarseClockTicksOnlyWhileRead steps a shared-style clock by hand (its
// timer runs nothing): a read starts it, a tick after a read keeps it
// ticking, a tick after none stops it, and the next read starts it again.
func TestCoarseClockTicksOnlyWhileRead(t *testing.T) {
	var c coarseClock
	c.once.Do(func() {})
	c.timer = time.AfterFunc(time.Hour, func() {})
	defer c.timer.Stop()
	c.publish(time.Unix(100, 0))

	assert.Equal(t, uint32(0), c.state.Load(), "stopped until read")
	got := c.now()
	assert.Zero(t, got.Nanosecond())
	assert.Greater(t, got.Year(), 2020, "a read while stopped reads time.Now")
	assert.Equal(t, uint32(clockUsed|clockTicking), c.state.Load(), "and starts the timer")
	assert.Equal(t, got, c.now(), "the fast path reads the cached second")

	c.tick()
	assert.Equal(t, uint32(clockTicking), c.state.Load(), "read since the last tick: keeps ticking")
	c.tick()
	assert.Equal(t, uint32(0), c.state.Load(), "not read for a whole tick: stops")
	c.now()
	assert.Equal(t, uint32(clockUsed|clockTicking), c.state.Load(), "read again: ticking again")
}
