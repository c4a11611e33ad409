package msgq

import (
	"math"
	"strconv"
	"time"
)

// Restore returns a new namespace in the state s describes: the same
// limits, queues (ids, sequence numbers, keys, owners, creators, modes,
// qbytes, times, lspid and lrpid) and messages in order, and an id
// allocator that gives the next msgget the id the checkpointed namespace
// would have given. Ids that named no queue there name none here (EINVAL).
// opts configure the namespace as for NewNamespace (its credentials, clock
// and removal hook); the limits are the snapshot's, and WithLimits among
// opts is overridden. A zero limit in s takes the default, as WithLimits
// does.
//
// Restore checks everything before it builds anything, and refuses a
// snapshot that no namespace can be in with a *SnapshotError wrapping
// syscall.EINVAL that names the field at fault (for instance
// "queues[3].messages[7].type: 0 is below 1"): a Format other than
// SnapshotFormat; an unknown dialect; limits out of the ranges the sysctls
// take (the other dialects' snapshots are checked by their own rules: see
// dialect_snapshot.go); more queues
// than MsgMni; ids that are negative, not in table-index order, that share
// an index, or whose sequence bits disagree with stat.perm.seq or exceed
// the largest sequence number; two queues with one key; uids or gids of
// 0xffffffff; modes with bits above 0777; a qbytes that IPC_SET cannot
// set (above 0x7fffffff and not a sign-extended negative int, as the
// kernel stores one); qnum or cbytes that disagree with the messages;
// cbytes or qnum above qbytes without an IPC_SET (ctime) since the last
// send (stime), the only way a queue gets fuller than its qbytes;
// message types below 1 and texts longer than MsgMax; and an allocator
// state out of range, or "never allocated" with queues present.
//
// A snapshot of a namespace whose limits were lowered after messages were
// queued (a kernel's, through sysctl) can hold a text longer than its
// msgmax, which a namespace, whose limits are fixed, cannot: raise
// limits.msgmax in the snapshot to restore it.
func Restore(s *Snapshot, opts ...Option) (*Namespace, error) {
	if s == nil {
		return nil, snapErr("", "nil snapshot")
	}
	if s.Format == SnapshotFormat && s.Dialect != Linux && int(s.Dialect) < len(dialectRules) {
		return restoreDialect(s, opts) // dialect_snapshot.go
	}
	limits, err := s.check()
	if err != nil {
		return nil, err
	}
	ns := NewNamespace(append(opts[:len(opts):len(opts)], WithDialect(s.Dialect), WithLimits(limits))...) // the snapshot's dialect wins over an option's
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	t := core.ids
	for i := range s.Queues {
		qs := &s.Queues[i]
		q := restoredQueue(core, qs)
		t.place(q, qs.ID)
		if q.perm.key != IPC_PRIVATE {
			core.keys[q.perm.key] = q
		}
	}
	t.lastIdx = s.Allocator.LastIndex
	t.next = s.Allocator.LastIndex + 1
	t.seq = s.Allocator.Seq
	return ns, nil
}

// restoredQueue builds the queue qs describes, not yet in the table.
func restoredQueue(core *nsCore, qs *QueueSnapshot) *queue {
	d := &qs.Stat
	q := &queue{
		ns: core,
		perm: ipcPerm{
			key: d.Perm.Key,
			uid: d.Perm.UID, gid: d.Perm.GID,
			cuid: d.Perm.CUID, cgid: d.Perm.CGID,
			mode: d.Perm.Mode,
			seq:  d.Perm.Seq,
		},
		stime:  stampOf(d.Stime),
		rtime:  stampOf(d.Rtime),
		ctime:  stampOf(d.Ctime),
		lspid:  d.Lspid,
		lrpid:  d.Lrpid,
		qbytes: d.Qbytes,
	}
	for _, m := range qs.Messages {
		q.msgs.push(q.msgs.newMessage(m.Type, m.Text))
		q.cbytes += uint64(len(m.Text))
	}
	return q
}

// place puts q into the table with the given id, as add does for a new
// queue but at the snapshot's index and sequence number, without touching
// the allocator's cursor. The namespace lock must be held and the index
// must be free.
func (t *idTable) place(q *queue, id int) {
	t.install(q, t.index(int32(id)), id, q.perm.seq)
}

// check validates the snapshot and returns the limits the namespace gets.
func (s *Snapshot) check() (Limits, error) {
	if s.Format != SnapshotFormat {
		return Limits{}, snapErr("format", "%q is not %q", s.Format, SnapshotFormat)
	}
	if s.Dialect != Linux {
		if int(s.Dialect) >= len(dialectNames) {
			return Limits{}, snapErr("dialect", "unknown dialect %d", uint8(s.Dialect))
		}
		return Limits{}, snapErr("dialect", "%v is not supported by this build", s.Dialect)
	}
	if s.Allocator.Scheme != nil {
		return Limits{}, snapErr("allocator.scheme", "linux has none (the other dialects' allocators)")
	}
	l, err := checkLimits(s.Limits)
	if err != nil {
		return Limits{}, err
	}
	t := newIDTable(l.MsgMni) // for the id layout only
	if len(s.Queues) > l.MsgMni {
		return Limits{}, snapErr("queues", "%d queues, more than limits.msgmni (%d)", len(s.Queues), l.MsgMni)
	}
	a := s.Allocator
	if a.LastIndex < -1 || a.LastIndex >= t.mni {
		return Limits{}, snapErr("allocator.last_index", "%d is outside -1 to %d", a.LastIndex, t.mni-1)
	}
	if a.Seq < 0 || a.Seq >= t.seqMax {
		return Limits{}, snapErr("allocator.seq", "%d is outside 0 to %d", a.Seq, t.seqMax-1)
	}
	if a.LastIndex == -1 && len(s.Queues) > 0 {
		return Limits{}, snapErr("allocator.last_index", "-1 (no id ever handed out) with %d queues", len(s.Queues))
	}
	keys := make(map[Key]int)
	prev := -1 // index of the previous queue
	for i := range s.Queues {
		at := "queues[" + strconv.Itoa(i) + "]"
		idx, err := s.Queues[i].check(at, t, l, prev)
		if err != nil {
			return Limits{}, err
		}
		prev = idx
		if k := s.Queues[i].Stat.Perm.Key; k != IPC_PRIVATE {
			if j, dup := keys[k]; dup {
				return Limits{}, snapErr(at+".stat.perm.key", "key %#x is also queues[%d]'s", uint32(k), j)
			}
			keys[k] = i
		}
	}
	return l, nil
}

// checkLimits checks the snapshot's limits against the ranges Linux's
// sysctls accept and fills in the defaults for zero fields.
func checkLimits(l Limits) (Limits, error) {
	for _, f := range []struct {
		name string
		v    int
		most int
	}{
		{"limits.msgmax", l.MsgMax, math.MaxInt32},
		{"limits.msgmnb", l.MsgMnb, math.MaxInt32},
		{"limits.msgmni", l.MsgMni, maxMsgMni},
	} {
		if f.v < 0 || f.v > f.most {
			return Limits{}, snapErr(f.name, "%d is outside 0 (the default) to %d", f.v, f.most)
		}
	}
	return l.withDefaults(), nil
}

// check validates one queue, at path at, whose predecessor in the snapshot
// has table index prev (-1 for the first), and returns its index.
func (qs *QueueSnapshot) check(at string, t *idTable, l Limits, prev int) (int, error) {
	if qs.ID < 0 || qs.ID > math.MaxInt32 {
		return 0, snapErr(at+".id", "%d is not an id", qs.ID)
	}
	idx, seq := t.index(int32(qs.ID)), qs.ID>>t.shift
	if idx == prev {
		return 0, snapErr(at+".id", "%d has the table index of the queue before it (%d)", qs.ID, idx)
	}
	if idx < prev {
		return 0, snapErr(at+".id", "%d has table index %d, below the index of the queue before it (%d): queues are in table-index order", qs.ID, idx, prev)
	}
	if seq >= t.seqMax {
		return 0, snapErr(at+".id", "%d carries sequence number %d, above the largest (%d)", qs.ID, seq, t.seqMax-1)
	}
	d := &qs.Stat
	p := &d.Perm
	if int(p.Seq) != seq {
		return 0, snapErr(at+".stat.perm.seq", "%d, but id %d carries sequence number %d", p.Seq, qs.ID, seq)
	}
	for _, f := range []struct {
		name string
		v    uint32
	}{{"uid", p.UID}, {"gid", p.GID}, {"cuid", p.CUID}, {"cgid", p.CGID}} {
		if f.v == math.MaxUint32 {
			return 0, snapErr(at+".stat.perm."+f.name, "4294967295 ((uid_t)-1) names nobody")
		}
	}
	if p.Mode&^0o777 != 0 {
		return 0, snapErr(at+".stat.perm.mode", "%#o has bits above 0777", p.Mode)
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"stime", d.Stime}, {"rtime", d.Rtime}, {"ctime", d.Ctime}} {
		switch {
		case f.t.IsZero():
		case f.t.Nanosecond() != 0:
			return 0, snapErr(at+".stat."+f.name, "%s is not a whole second: queues keep time_t seconds", f.t.Format(timeLayout))
		case f.t.Unix() < 1:
			return 0, snapErr(at+".stat."+f.name, "%s is not after 1970-01-01T00:00:00Z (0 means never: leave it out)", f.t.Format(timeLayout))
		}
	}
	if d.Qbytes > math.MaxInt32 && d.Qbytes < 1<<64-1<<31 {
		return 0, snapErr(at+".stat.qbytes", "%d is no value IPC_SET can set", d.Qbytes)
	}
	var cbytes uint64
	for k, m := range qs.Messages {
		mat := at + ".messages[" + strconv.Itoa(k) + "]"
		if m.Type < 1 {
			return 0, snapErr(mat+".type", "%d is below 1", m.Type)
		}
		if len(m.Text) > l.MsgMax {
			return 0, snapErr(mat+".text", "%d bytes, more than limits.msgmax (%d)", len(m.Text), l.MsgMax)
		}
		cbytes += uint64(len(m.Text))
	}
	if d.Qnum != uint64(len(qs.Messages)) {
		return 0, snapErr(at+".stat.qnum", "%d, but the queue has %d messages", d.Qnum, len(qs.Messages))
	}
	if d.Cbytes != cbytes {
		return 0, snapErr(at+".stat.cbytes", "%d, but the messages hold %d bytes", d.Cbytes, cbytes)
	}
	// A send needs room: cbytes+len ≤ qbytes and qnum+1 ≤ qbytes. Only an
	// IPC_SET lowering qbytes after the last send leaves a queue fuller.
	if (d.Cbytes > d.Qbytes || d.Qnum > d.Qbytes) && d.Ctime.Before(d.Stime) {
		field, v := at+".stat.cbytes", d.Cbytes
		if d.Cbytes <= d.Qbytes {
			field, v = at+".stat.qnum", d.Qnum
		}
		return 0, snapErr(field, "%d is above qbytes (%d), and no IPC_SET (ctime %s) followed the last send (stime %s)",
			v, d.Qbytes, d.Ctime.Format(timeLayout), d.Stime.Format(timeLayout))
	}
	return idx, nil
}

const timeLayout = "2006-01-02T15:04:05.999999999Z07:00"
