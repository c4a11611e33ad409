package msgq

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/snapshot.json from TestSnapshotGolden")

// snapshotScene builds a namespace that exercises everything a snapshot
// carries: several owners and creators, keyed and private queues, removed
// queues (so ids have gaps and the allocator has cycled), binary and empty
// texts, receives (lrpid, rtime), an IPC_SET that left a queue fuller than
// its qbytes, and a clock that moves. It returns the namespace, the clock
// and some ids that name no queue any more.
func snapshotScene(t testing.TB) (*Namespace, *fakeClock, []int) {
	t.Helper()
	clock := newClock()
	ns := newNS(t, WithClock(clock.now), WithLimits(Limits{MsgMax: 64, MsgMnb: 256, MsgMni: 100}))
	root := ns.As(Cred{UID: 0, PID: 99, Caps: AllCaps})
	var stale []int
	// Cycle the allocator past its 64 indices so the sequence advances.
	for range 70 {
		id := mustQueue(t, ns, IPC_PRIVATE, 0o600)
		clock.advance(time.Millisecond)
		_, err := ns.Msgctl(id, IPC_RMID, nil)
		require.NoError(t, err)
		stale = append(stale, id)
	}
	a := mustQueue(t, ns, 0x1234, 0o640)
	b := mustQueue(t, ns.As(creator), IPC_PRIVATE, 0o606)
	c := mustQueue(t, ns, 0x7fffffff, 0o600)
	d := mustQueue(t, ns, 0x42, 0o644)
	clock.advance(1500 * time.Microsecond)
	mustSend(t, ns, a, msg{1, "hello"}, msg{2, ""}, msg{3, "\x00\xff\xfe binary \n"}, msg{1, "again"})
	mustSend(t, ns.As(Cred{UID: 1000, GID: 1000, PID: 4242}), b, msg{9, "nine"}, msg{1 << 62, "big type"})
	clock.advance(time.Second + 7)
	_, _, err := ns.As(stranger).Msgrcv(a, make([]byte, 8), 2, IPC_NOWAIT)
	require.ErrorIs(t, err, syscall.EACCES)
	_, _, err = ns.Msgrcv(a, make([]byte, 8), 2, IPC_NOWAIT)
	require.NoError(t, err)
	mustSend(t, ns, c, msg{5, strings.Repeat("x", 60)}, msg{6, strings.Repeat("y", 60)})
	clock.advance(time.Minute)
	ds := stat(t, ns, c)
	ds.Qbytes = 50 // below cbytes: the queue stays fuller than its qbytes
	ds.Perm.UID, ds.Perm.Mode = 2000, 0o660
	_, err = ns.Msgctl(c, IPC_SET, &ds)
	require.NoError(t, err)
	ds = stat(t, ns, d)
	ds.Qbytes = 1 << 20
	_, err = root.Msgctl(d, IPC_SET, &ds)
	require.NoError(t, err)
	e := mustQueue(t, ns, 0x99, 0o600)
	_, err = ns.Msgctl(e, IPC_RMID, nil)
	require.NoError(t, err)
	stale = append(stale, e, a+1<<15, b+2<<15)
	return ns, clock, stale
}

// observation is everything a namespace answers about its queues by
// calls, read without changing it: the IPC_INFO and MSG_INFO figures,
// MSG_STAT and MSG_STAT_ANY over every index, IPC_STAT and MSG_COPY of
// every message of every queue, msgget of every key, and IPC_STAT of ids
// that should be stale. Times are given in UTC.
type observation struct {
	Info, Usage       MsgInfo
	InfoMax, UsageMax int
	ByIndex           []string
	Queues            map[int]observedQueue
	Keys              map[Key]int
	Stale             map[int]error
}

type observedQueue struct {
	Stat     MsqidDS
	Messages []Message
	Past     error // MSG_COPY one past the last message
}

func observe(t testing.TB, ipc IPC, stale []int) observation {
	t.Helper()
	var o observation
	var err error
	o.InfoMax, err = ipc.MsgctlInfo(IPC_INFO, &o.Info)
	require.NoError(t, err)
	o.UsageMax, err = ipc.MsgctlInfo(MSG_INFO, &o.Usage)
	require.NoError(t, err)
	o.Queues = map[int]observedQueue{}
	o.Keys = map[Key]int{}
	for idx := 0; idx <= o.UsageMax+2; idx++ {
		for _, cmd := range []int{MSG_STAT, MSG_STAT_ANY} {
			var ds MsqidDS
			id, err := ipc.Msgctl(idx, cmd, &ds)
			o.ByIndex = append(o.ByIndex, fmt.Sprintf("%d/%d: %d %v %v", idx, cmd, id, err, utcDS(ds)))
			if err != nil || cmd != MSG_STAT_ANY {
				continue
			}
			var q observedQueue
			_, err = ipc.Msgctl(id, IPC_STAT, &q.Stat)
			require.NoError(t, err)
			q.Stat = utcDS(q.Stat)
			buf := make([]byte, o.Info.Msgmax)
			for k := int64(0); ; k++ {
				n, mtype, err := ipc.Msgrcv(id, buf, k, MSG_COPY|IPC_NOWAIT)
				if err != nil {
					q.Past = err
					break
				}
				q.Messages = append(q.Messages, Message{Type: mtype, Text: bytes.Clone(buf[:n])})
			}
			o.Queues[id] = q
			if k := q.Stat.Perm.Key; k != IPC_PRIVATE {
				o.Keys[k], err = ipc.Msgget(k, 0)
				require.NoError(t, err)
			}
		}
	}
	o.Stale = map[int]error{}
	for _, id := range stale {
		_, err := ipc.Msgctl(id, IPC_STAT, &MsqidDS{})
		o.Stale[id] = err
	}
	return o
}

func utcDS(ds MsqidDS) MsqidDS {
	ds.Stime, ds.Rtime, ds.Ctime = utc(ds.Stime), utc(ds.Rtime), utc(ds.Ctime)
	return ds
}

// future runs the same changing calls on a namespace and returns what
// they answered: receives in every selection mode, then msgget of new
// queues (the ids the allocator hands out) and removals.
func future(t testing.TB, ns *Namespace, ids []int) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 64)
	for _, id := range ids {
		for _, r := range []struct {
			typ int64
			flg int
		}{{-3, 0}, {1, MSG_EXCEPT}, {0, 0}, {9, 0}, {-(1 << 62), MSG_NOERROR}} {
			n, mtype, err := ns.As(Root).Msgrcv(id, buf[:8], r.typ, r.flg|IPC_NOWAIT)
			out = append(out, fmt.Sprintf("rcv %d %d %#x: %d %d %q %v", id, r.typ, r.flg, n, mtype, buf[:max(n, 0)], err))
		}
		err := ns.As(Root).Msgsnd(id, 3, []byte("after"), IPC_NOWAIT)
		out = append(out, fmt.Sprintf("snd %d: %v", id, err))
	}
	for i := range 80 {
		id, err := ns.Msgget(IPC_PRIVATE, 0o600)
		out = append(out, fmt.Sprintf("get: %d %v", id, err))
		if i%3 == 0 && err == nil {
			_, err = ns.Msgctl(id, IPC_RMID, nil)
			out = append(out, fmt.Sprintf("rmid %d: %v", id, err))
		}
	}
	return out
}

// The namespace a snapshot restores is indistinguishable by any call from
// the one it was taken of, through JSON and back.
func TestRestoreIndistinguishable(t *testing.T) {
	ns, clock, stale := snapshotScene(t)
	s := ns.Checkpoint()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, &back, "the snapshot survives JSON exactly")
	byValue, err := json.Marshal(struct{ S Snapshot }{*s})
	require.NoError(t, err)
	assert.Equal(t, `{"S":`+string(b)+`}`, string(byValue), "a Snapshot marshals the same by value")

	clock2 := &fakeClock{t: clock.now()}
	restored, err := Restore(&back, WithCred(owner), WithClock(clock2.now))
	require.NoError(t, err)
	require.NoError(t, checkInvariants(restored))
	assert.Equal(t, ns.Limits(), restored.Limits())
	assert.Equal(t, ns.String(), restored.String())
	want := observe(t, ns, stale)
	got := observe(t, restored, stale)
	require.Equal(t, want, got)
	for _, err := range got.Stale {
		assert.Equal(t, syscall.EINVAL, err, "stale ids stay stale")
	}
	assert.Equal(t, s, restored.Checkpoint(), "a checkpoint of the restored namespace is the snapshot")

	var ids []int
	for id := range want.Queues {
		ids = append(ids, id)
	}
	clock.advance(time.Hour)
	clock2.advance(time.Hour)
	assert.Equal(t, future(t, ns, ids), future(t, restored, ids), "both go on the same way")
	require.NoError(t, checkInvariants(restored))
	assert.Equal(t, observe(t, ns, stale), observe(t, restored, stale))
}

// An empty namespace, and one never used, round-trip too: the next id is
// the same.
func TestRestoreEmpty(t *testing.T) {
	for _, name := range []string{"never used", "all removed"} {
		t.Run(name, func(t *testing.T) {
			ns := newNS(t)
			if name == "all removed" {
				id := mustQueue(t, ns, 5, 0o600)
				_, err := ns.Msgctl(id, IPC_RMID, nil)
				require.NoError(t, err)
			}
			r, err := Restore(ns.Checkpoint(), WithCred(owner))
			require.NoError(t, err)
			a, err := ns.Msgget(5, IPC_CREAT|0o600)
			require.NoError(t, err)
			b, err := r.Msgget(5, IPC_CREAT|0o600)
			require.NoError(t, err)
			assert.Equal(t, a, b)
		})
	}
}

// The golden file pins the JSON format: the scene's snapshot must marshal
// to testdata/snapshot.json byte for byte (go test -run TestSnapshotGolden
// -update rewrites it), and the file must decode and restore.
func TestSnapshotGolden(t *testing.T) {
	ns, _, _ := snapshotScene(t)
	got, err := json.MarshalIndent(ns.Checkpoint(), "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "snapshot.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "the snapshot JSON changed: if on purpose, run with -update and say so in the format's doc")

	var s Snapshot
	require.NoError(t, json.Unmarshal(want, &s))
	r, err := Restore(&s)
	require.NoError(t, err)
	again, err := json.MarshalIndent(r.Checkpoint(), "", "  ")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(again)+"\n")
}

// validSnapshot is a small snapshot that Restore accepts; the rows of
// TestRestoreRefuses each break one rule in it.
func validSnapshot() *Snapshot {
	t0 := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	return &Snapshot{
		Format:    SnapshotFormat,
		Dialect:   Linux,
		Limits:    Limits{MsgMax: 100, MsgMnb: 1000, MsgMni: 10},
		Allocator: IDAllocator{LastIndex: 3, Seq: 1},
		Queues: []QueueSnapshot{
			{ID: 1<<15 | 1, Stat: MsqidDS{
				Perm:  IPCPerm{Key: 7, UID: 1, GID: 1, CUID: 1, CGID: 1, Mode: 0o600, Seq: 1},
				Ctime: t0, Qbytes: 1000,
			}, Messages: []Message{}},
			{ID: 0<<15 | 2, Stat: MsqidDS{
				Perm:  IPCPerm{Key: 8, Mode: 0o644},
				Ctime: t0, Stime: t0.Add(time.Second),
				Cbytes: 5, Qnum: 2, Qbytes: 1000, Lspid: 5,
			}, Messages: []Message{{Type: 1, Text: []byte("hello")}, {Type: 2, Text: []byte{}}}},
		},
	}
}

func TestRestoreRefuses(t *testing.T) {
	_, err := Restore(validSnapshot())
	require.NoError(t, err, "the base row is valid")
	q0 := func(s *Snapshot) *QueueSnapshot { return &s.Queues[0] }
	q1 := func(s *Snapshot) *QueueSnapshot { return &s.Queues[1] }
	for _, tc := range []struct {
		rule  string
		field string
		edit  func(s *Snapshot)
	}{
		{"unknown format", "format", func(s *Snapshot) { s.Format = "msgq-snapshot/2" }},
		{"missing format", "format", func(s *Snapshot) { s.Format = "" }},
		{"dialect not built", "dialect", func(s *Snapshot) { s.Dialect = OpenBSD }},
		{"unknown dialect", "dialect", func(s *Snapshot) { s.Dialect = 42 }},
		{"negative msgmax", "limits.msgmax", func(s *Snapshot) { s.Limits.MsgMax = -1 }},
		{"msgmnb above int32", "limits.msgmnb", func(s *Snapshot) { s.Limits.MsgMnb = 1 << 31 }},
		{"msgmni above 1<<24", "limits.msgmni", func(s *Snapshot) { s.Limits.MsgMni = 1<<24 + 1 }},
		{"more queues than msgmni", "queues", func(s *Snapshot) { s.Limits.MsgMni = 1 }},
		{"allocator index below -1", "allocator.last_index", func(s *Snapshot) { s.Allocator.LastIndex = -2 }},
		{"allocator index past the id space", "allocator.last_index", func(s *Snapshot) { s.Allocator.LastIndex = 1 << 15 }},
		{"allocator never used with queues", "allocator.last_index", func(s *Snapshot) { s.Allocator.LastIndex = -1 }},
		{"allocator seq negative", "allocator.seq", func(s *Snapshot) { s.Allocator.Seq = -1 }},
		{"allocator seq past the largest", "allocator.seq", func(s *Snapshot) { s.Allocator.Seq = 65535 }},
		{"negative id", "queues[0].id", func(s *Snapshot) { q0(s).ID = -1 }},
		{"id above int32", "queues[0].id", func(s *Snapshot) { q0(s).ID = 1 << 31 }},
		{"id with seq 65535", "queues[0].id", func(s *Snapshot) { q0(s).ID = 65535<<15 | 1; q0(s).Stat.Perm.Seq = 65535 }},
		{"duplicate id", "queues[1].id", func(s *Snapshot) { q1(s).ID = q0(s).ID; q1(s).Stat.Perm.Seq = 1 }},
		{"same index, other seq", "queues[1].id", func(s *Snapshot) { q1(s).ID = 1 }},
		{"not in index order", "queues[1].id", func(s *Snapshot) { q1(s).ID = 0 }},
		{"seq disagrees with the id", "queues[0].stat.perm.seq", func(s *Snapshot) { q0(s).Stat.Perm.Seq = 0 }},
		{"duplicate key", "queues[1].stat.perm.key", func(s *Snapshot) { q1(s).Stat.Perm.Key = 7 }},
		{"uid -1", "queues[0].stat.perm.uid", func(s *Snapshot) { q0(s).Stat.Perm.UID = 1<<32 - 1 }},
		{"cgid -1", "queues[0].stat.perm.cgid", func(s *Snapshot) { q0(s).Stat.Perm.CGID = 1<<32 - 1 }},
		{"mode above 0777", "queues[0].stat.perm.mode", func(s *Snapshot) { q0(s).Stat.Perm.Mode = 0o1600 }},
		{"a time with a fraction of a second", "queues[0].stat.rtime", func(s *Snapshot) { q0(s).Stat.Rtime = time.Unix(1e9, 5e8) }},
		{"a time at the epoch (0 is never)", "queues[0].stat.ctime", func(s *Snapshot) { q0(s).Stat.Ctime = time.Unix(0, 0) }},
		{"qbytes IPC_SET cannot set", "queues[0].stat.qbytes", func(s *Snapshot) { q0(s).Stat.Qbytes = 1 << 32 }},
		{"qnum disagrees", "queues[1].stat.qnum", func(s *Snapshot) { q1(s).Stat.Qnum = 3 }},
		{"cbytes disagrees", "queues[1].stat.cbytes", func(s *Snapshot) { q1(s).Stat.Cbytes = 4 }},
		{"type 0", "queues[1].messages[1].type", func(s *Snapshot) { q1(s).Messages[1].Type = 0 }},
		{"negative type", "queues[1].messages[0].type", func(s *Snapshot) { q1(s).Messages[0].Type = -5 }},
		{"text above msgmax", "queues[1].messages[1].text", func(s *Snapshot) {
			q1(s).Messages[1].Text = make([]byte, 101)
			q1(s).Stat.Cbytes += 101
		}},
		{"cbytes above qbytes with no IPC_SET since the send", "queues[1].stat.cbytes", func(s *Snapshot) { q1(s).Stat.Qbytes = 4 }},
		{"qnum above qbytes with no IPC_SET since the send", "queues[1].stat.qnum", func(s *Snapshot) { q1(s).Stat.Qbytes = 1; q1(s).Messages[0].Text = nil; q1(s).Stat.Cbytes = 0 }},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := validSnapshot()
			tc.edit(s)
			ns, err := Restore(s)
			require.Error(t, err)
			assert.Nil(t, ns)
			assert.ErrorIs(t, err, syscall.EINVAL)
			var se *SnapshotError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.field, se.Field, "%v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "msgq: snapshot: "+tc.field+": "), err.Error())
		})
	}
	_, err = Restore(nil)
	assert.ErrorIs(t, err, syscall.EINVAL, "a nil snapshot")
}

// What the rules allow, a namespace can reach: each row is accepted.
func TestRestoreAccepts(t *testing.T) {
	for _, tc := range []struct {
		rule string
		edit func(s *Snapshot)
	}{
		{"zero limits take the defaults", func(s *Snapshot) { s.Limits = Limits{} }},
		{"fuller than qbytes after an IPC_SET", func(s *Snapshot) {
			s.Queues[1].Stat.Qbytes = 1
			s.Queues[1].Stat.Ctime = s.Queues[1].Stat.Stime
		}},
		{"qbytes set to a negative int", func(s *Snapshot) { s.Queues[0].Stat.Qbytes = 1<<64 - 1 }},
		{"extended ids above 32768 queues", func(s *Snapshot) {
			s.Limits.MsgMni = 40000
			s.Queues[0].ID = 1<<24 | 1
			s.Allocator.LastIndex = 40000
		}},
		{"the id space's last index", func(s *Snapshot) { s.Queues[1].ID = 1<<15 - 1 }},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := validSnapshot()
			tc.edit(s)
			ns, err := Restore(s)
			require.NoError(t, err)
			require.NoError(t, checkInvariants(ns))
		})
	}
}

// Restore takes its limits from the snapshot, whatever the options say.
func TestRestoreLimitsWin(t *testing.T) {
	ns, err := Restore(validSnapshot(), WithLimits(Limits{MsgMax: 1}))
	require.NoError(t, err)
	assert.Equal(t, Limits{MsgMax: 100, MsgMnb: 1000, MsgMni: 10}, ns.Limits())
}

// Unknown keys and malformed JSON are refused with EINVAL when decoding.
func TestSnapshotUnmarshalRefuses(t *testing.T) {
	for _, tc := range []struct{ rule, json string }{
		{"unknown key", `{"format":"msgq-snapshot/1","queuez":[]}`},
		{"unknown dialect name", `{"format":"msgq-snapshot/1","dialect":"plan9"}`},
		{"text not base64", `{"queues":[{"messages":[{"type":1,"text":"!!"}]}]}`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			var s Snapshot
			assert.ErrorIs(t, json.Unmarshal([]byte(tc.json), &s), syscall.EINVAL)
		})
	}
	// Text that is not JSON at all fails in encoding/json's own check,
	// before the snapshot sees it.
	for _, bad := range []string{`{"format":`, `{} {}`} {
		var syn *json.SyntaxError
		assert.ErrorAs(t, json.Unmarshal([]byte(bad), &Snapshot{}), &syn, bad)
	}
}

// Each queue's part of a snapshot taken while goroutines send and receive
// is a state the queue was in: its figures agree with its messages, which
// are a contiguous run of what the sender sent, in order.
func TestCheckpointUnderTraffic(t *testing.T) {
	ns := newNS(t, WithLimits(Limits{MsgMnb: 64}))
	const queues = 3
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range queues {
		id := mustQueue(t, ns, Key(i+1), 0o600)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if ns.Msgsnd(id, int64(n%3+1), fmt.Appendf(nil, "%d", n), IPC_NOWAIT) != nil {
					n--
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for {
				select {
				case <-stop:
					return
				default:
				}
				ns.Msgrcv(id, buf, 0, IPC_NOWAIT)
			}
		}()
	}
	for range 200 {
		s := ns.Checkpoint()
		_, err := Restore(s)
		require.NoError(t, err, "every queue's part is consistent")
		for _, q := range s.Queues {
			var prev int
			for k, m := range q.Messages {
				var n int
				_, err := fmt.Sscan(string(m.Text), &n)
				require.NoError(t, err)
				if k > 0 {
					require.Equal(t, prev+1, n, "queue %d: messages are a contiguous run", q.ID)
				}
				require.Equal(t, int64(n%3+1), m.Type)
				prev = n
			}
		}
	}
	close(stop)
	wg.Wait()
}

// Restore returns a snapshot's state exactly, or refuses it with a named
// field; it never panics, and what it accepts it gives back.
//
//	go test -run '^$' -fuzz FuzzRestore -fuzztime 5m
func FuzzRestore(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "snapshot.json")); err == nil {
		f.Add(b)
	}
	b, _ := json.Marshal(validSnapshot())
	f.Add(b)
	f.Add([]byte(`{"format":"msgq-snapshot/1","queues":[{"id":1,"stat":{"qbytes":1}}],"allocator":{"last_index":5}}`))
	f.Add([]byte(`{"format":"msgq-snapshot/1","limits":{"msgmni":40000},"queues":[{"id":16777217,"stat":{"perm":{"seq":1}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			var syn *json.SyntaxError
			if !errors.Is(err, syscall.EINVAL) && !errors.As(err, &syn) {
				t.Fatalf("decode error neither EINVAL nor a syntax error: %v", err)
			}
			return
		}
		for _, q := range s.Queues {
			if q.ID&(1<<24-1) >= 1<<16 {
				// Valid, but a table that large costs hundreds of
				// megabytes: too slow for a fuzz iteration.
				t.Skip("index above 65535")
			}
		}
		ns, err := Restore(&s)
		if err != nil {
			var se *SnapshotError
			if !errors.As(err, &se) || !errors.Is(err, syscall.EINVAL) || ns != nil {
				t.Fatalf("refused without a *SnapshotError wrapping EINVAL: %v", err)
			}
			return
		}
		if err := checkInvariants(ns); err != nil {
			t.Fatal(err)
		}
		want := s
		want.Limits = s.Limits.withDefaults()
		for i := range want.Queues {
			q := &want.Queues[i].Stat
			q.Stime, q.Rtime, q.Ctime = utc(q.Stime), utc(q.Rtime), utc(q.Ctime)
		}
		got := ns.Checkpoint()
		if !snapshotsEqual(&want, got) {
			t.Fatalf("restored namespace checkpoints differently:\nwant %+v\n got %+v", want, *got)
		}
		// The restored namespace works: a few calls on it keep it sound.
		for range 3 {
			id, err := ns.As(Root).Msgget(IPC_PRIVATE, 0o600)
			if err == nil {
				ns.As(Root).Msgsnd(id, 1, []byte("x"), IPC_NOWAIT)
			}
		}
		for _, q := range s.Queues {
			ns.As(Root).Msgrcv(q.ID, make([]byte, 8), -3, IPC_NOWAIT|MSG_NOERROR)
		}
		if err := checkInvariants(ns); err != nil {
			t.Fatal(err)
		}
	})
}

// snapshotsEqual compares snapshots, times by instant.
func snapshotsEqual(a, b *Snapshot) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil && err2 != nil { // a time JSON cannot hold: compare by hand
		return reflect.DeepEqual(a.Queues, b.Queues) && a.Limits == b.Limits && a.Allocator == b.Allocator
	}
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// benchNS is 100 queues of 4 messages of 64 bytes (kernel's
// BenchmarkCheckpoint reads the same from the kernel).
func benchNS(b *testing.B) *Namespace {
	ns := newNS(b)
	for range 100 {
		id := mustQueue(b, ns, IPC_PRIVATE, 0o600)
		for range 4 {
			require.NoError(b, ns.Msgsnd(id, 1, make([]byte, 64), IPC_NOWAIT))
		}
	}
	return ns
}

func BenchmarkCheckpoint(b *testing.B) {
	ns := benchNS(b)
	for b.Loop() {
		ns.Checkpoint()
	}
}

func BenchmarkRestore(b *testing.B) {
	s := benchNS(b).Checkpoint()
	for b.Loop() {
		if _, err := Restore(s); err != nil {
			b.Fatal(err)
		}
	}
}
