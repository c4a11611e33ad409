package msgq

import (
	"math"
	"slices"
	"strconv"
)

// DialectIDs is the id allocator's state under a dialect other than Linux
// (dialects.md §2: "checkpoint snapshots must carry the allocator state"),
// so that a restored namespace hands out the ids the checkpointed one
// would have. Under illumos, IDAllocator.LastIndex is the next-fit
// allocator's last index; under the others it is -1 and IDAllocator.Seq
// is 0.
type DialectIDs struct {
	Counter int      `json:"counter,omitempty"` // OpenBSD: the namespace-wide sequence counter (OB que_create's sequence)
	Seqs    []uint16 `json:"seqs,omitempty"`    // FreeBSD, illumos, SVR4, AIX: each table index's sequence number
	Size    int      `json:"size,omitempty"`    // illumos: the id space's size (64, doubling)
	Newest  []int    `json:"newest,omitempty"`  // illumos: the queues' ids, most recently created first (msgids' order)
}

// checkpoint returns the allocator's state. The namespace lock must be
// held.
func (s *idScheme) checkpoint(t *idTable) IDAllocator {
	a := IDAllocator{LastIndex: -1, Scheme: &DialectIDs{}}
	d := a.Scheme
	switch s.kind {
	case idsOpenBSD:
		d.Counter = s.counter
	case idsIllumos:
		a.LastIndex, d.Size = s.last, s.size
		type entry struct {
			id    int
			order uint64
		}
		var all []entry
		t.each(func(q *queue) { all = append(all, entry{int(q.id), q.x.order}) })
		slices.SortFunc(all, func(x, y entry) int { return -cmpUint(x.order, y.order) })
		for _, e := range all {
			d.Newest = append(d.Newest, e.id)
		}
	}
	if s.kind != idsOpenBSD && len(s.seqs) > 0 {
		d.Seqs = slices.Clone(s.seqs)
	}
	return a
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seqOf returns the sequence number id carries under scheme k and the
// largest one the scheme has.
func seqOf(k idKind, id, mni int) (seq, most int) {
	switch k {
	case idsOpenBSD, idsFreeBSD:
		return id >> 16, 0x7fff
	case idsIllumos:
		return id >> 24, 0x7f
	}
	return id / mni, (math.MaxInt32 - (mni - 1)) / mni
}

// restoreDialect is Restore for a snapshot of a dialect other than Linux:
// it checks the snapshot against that system's rules, then builds the
// namespace with the queues, their messages, the pool's accounting and
// the allocator's state.
func restoreDialect(s *Snapshot, opts []Option) (*Namespace, error) {
	r := rulesOf(s.Dialect)
	l, err := r.checkLimits(s.Limits)
	if err != nil {
		return nil, err
	}
	probe := newIDTable(l.MsgMni)
	newIDScheme(probe, r.ids, l.MsgMni) // for the id layout only
	if err := s.checkDialect(r, l, probe); err != nil {
		return nil, err
	}
	ns := NewNamespace(append(opts[:len(opts):len(opts)], WithDialect(s.Dialect), WithLimits(l))...)
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	t := core.ids
	a := s.Allocator
	sch := t.scheme
	sch.counter = max(a.Scheme.Counter, 1)
	sch.seqs = slices.Clone(a.Scheme.Seqs)
	if r.ids == idsIllumos {
		sch.size, sch.last = a.Scheme.Size, a.LastIndex
	}
	order := map[int]uint64{}
	for i, id := range a.Scheme.Newest {
		order[id] = uint64(len(a.Scheme.Newest) - i)
	}
	sch.order = uint64(len(s.Queues))
	var msgs, segs uint64
	for i := range s.Queues {
		qs := &s.Queues[i]
		q := restoredQueue(core, qs)
		seq, _ := seqOf(r.ids, qs.ID, l.MsgMni)
		q.perm.mode &= 0o777
		q.perm.seq = uint16(seq)
		q.x = &qDialect{order: order[qs.ID]}
		if q.x.order == 0 {
			q.x.order = uint64(i + 1) // no msgids order kept: table order
		}
		if r.stat == statSticky {
			q.x.flags = qs.Stat.Perm.Mode & (modeMsgRWait | modeMsgWWait) // S4's sticky bits are state
		}
		for _, m := range qs.Messages {
			q.x.segs += int(core.pool.segsOf(len(m.Text)))
		}
		msgs += uint64(len(qs.Messages))
		segs += uint64(q.x.segs)
		t.place(q, qs.ID)
		if q.perm.key != IPC_PRIVATE {
			core.keys[q.perm.key] = q
		}
	}
	if core.pool != nil {
		core.pool.used.Store(msgs<<32 | segs)
	}
	return ns, nil
}

// checkLimits checks a dialect snapshot's limits: none negative, none set
// that the system does not have; the zero ones take the defaults.
func (r *rules) checkLimits(l Limits) (Limits, error) {
	d := r.limits
	for _, f := range []struct {
		name string
		v    int
		def  int
	}{
		{"msgmax", l.MsgMax, d.MsgMax}, {"msgmnb", l.MsgMnb, d.MsgMnb}, {"msgmni", l.MsgMni, d.MsgMni},
		{"msgtql", l.MsgTql, d.MsgTql}, {"msgmnm", l.MsgMnm, d.MsgMnm}, {"msgssz", l.MsgSsz, d.MsgSsz}, {"msgseg", l.MsgSeg, d.MsgSeg},
	} {
		switch {
		case f.v < 0:
			return Limits{}, snapErr("limits."+f.name, "%d is negative", f.v)
		case f.v != 0 && f.def == 0:
			return Limits{}, snapErr("limits."+f.name, "%d, but %v has no %s", f.v, r.dialect, f.name)
		}
	}
	return r.fill(l), nil
}

// checkDialect validates a dialect snapshot against the system's rules.
func (s *Snapshot) checkDialect(r *rules, l Limits, t *idTable) error {
	a := s.Allocator
	d := a.Scheme
	if d == nil {
		return snapErr("allocator.scheme", "missing: a %v snapshot carries its allocator", r.dialect)
	}
	if len(s.Queues) > l.MsgMni {
		return snapErr("queues", "%d queues, more than limits.msgmni (%d)", len(s.Queues), l.MsgMni)
	}
	if a.Seq != 0 {
		return snapErr("allocator.seq", "%d: only Linux uses it", a.Seq)
	}
	if r.ids != idsOpenBSD && d.Counter != 0 {
		return snapErr("allocator.scheme.counter", "%d: only OpenBSD has it", d.Counter)
	}
	if d.Counter < 0 {
		return snapErr("allocator.scheme.counter", "%d is negative", d.Counter)
	}
	if r.ids == idsOpenBSD && len(d.Seqs) > 0 {
		return snapErr("allocator.scheme.seqs", "OpenBSD keeps no per-slot seq")
	}
	if len(d.Seqs) > r.mniMax {
		return snapErr("allocator.scheme.seqs", "%d entries, more than %d slots", len(d.Seqs), r.mniMax)
	}
	if r.ids == idsIllumos {
		if d.Size < 64 || d.Size > 1<<24 || d.Size&(d.Size-1) != 0 {
			return snapErr("allocator.scheme.size", "%d is not a power of two from 64 to 2^24", d.Size)
		}
		if a.LastIndex < -1 || a.LastIndex >= d.Size {
			return snapErr("allocator.last_index", "%d is outside -1 to %d", a.LastIndex, d.Size-1)
		}
		if len(d.Newest) != len(s.Queues) {
			return snapErr("allocator.scheme.newest", "%d ids for %d queues", len(d.Newest), len(s.Queues))
		}
	} else {
		switch {
		case a.LastIndex != -1:
			return snapErr("allocator.last_index", "%d: %v keeps none (-1)", a.LastIndex, r.dialect)
		case d.Size != 0 || len(d.Newest) != 0:
			return snapErr("allocator.scheme", "size and newest are illumos's")
		}
	}
	_, most := seqOf(r.ids, 0, l.MsgMni)
	for i, v := range d.Seqs {
		if int(v) > most {
			return snapErr("allocator.scheme.seqs["+strconv.Itoa(i)+"]", "%d is above the largest sequence number (%d)", v, most)
		}
	}
	// The upper mode bits a checkpoint of this system shows: IPC_ALLOC
	// always (illumos, SVR4), SVR4's sticky bits as they stand; the bits
	// that only say who waits are not part of a snapshot.
	allowed, always := uint16(0o777), uint16(0)
	switch r.stat {
	case statLive:
		always = modeIPCAlloc
	case statSticky:
		always = modeIPCAlloc
		allowed |= modeMsgRWait | modeMsgWWait
	}
	allowed |= always
	keys := map[Key]int{}
	ids := map[int]bool{}
	prev := -1
	var msgs, segs uint64
	pool := newNSPool(l)
	for i := range s.Queues {
		qs := &s.Queues[i]
		at := "queues[" + strconv.Itoa(i) + "]"
		if qs.ID < 0 || qs.ID > math.MaxInt32 {
			return snapErr(at+".id", "%d is not an id", qs.ID)
		}
		idx := t.index(int32(qs.ID))
		if idx <= prev {
			return snapErr(at+".id", "%d has table index %d, not above the queue before it (%d)", qs.ID, idx, prev)
		}
		prev = idx
		seq, most := seqOf(r.ids, qs.ID, l.MsgMni)
		slotSeq := -1
		if idx < len(d.Seqs) {
			slotSeq = int(d.Seqs[idx])
		}
		p := &qs.Stat.Perm
		switch {
		case seq > most:
			return snapErr(at+".id", "%d carries sequence number %d, above the largest (%d)", qs.ID, seq, most)
		case r.ids == idsOpenBSD && idx == 0:
			return snapErr(at+".id", "%d has index 0, which OpenBSD never uses", qs.ID)
		case (r.ids == idsFreeBSD || r.ids == idsSVR4 || r.ids == idsAIX) && idx >= l.MsgMni:
			return snapErr(at+".id", "%d has index %d, not below limits.msgmni", qs.ID, idx)
		case r.ids == idsIllumos && idx >= d.Size:
			return snapErr(at+".id", "%d has index %d, outside the id space (%d)", qs.ID, idx, d.Size)
		case r.ids != idsOpenBSD && seq != slotSeq:
			return snapErr(at+".id", "%d carries sequence number %d, but its slot's is %d", qs.ID, seq, slotSeq)
		case r.seqZero && p.Seq != 0:
			return snapErr(at+".stat.perm.seq", "%d, but %v reports 0", p.Seq, r.dialect)
		case !r.seqZero && int(p.Seq) != seq:
			return snapErr(at+".stat.perm.seq", "%d, but id %d carries %d", p.Seq, qs.ID, seq)
		case p.UID > r.uidMax || p.GID > r.uidMax:
			return snapErr(at+".stat.perm.uid", "uid %d or gid %d is above %d", p.UID, p.GID, r.uidMax)
		case p.Mode&^allowed != 0 || p.Mode&always != always:
			return snapErr(at+".stat.perm.mode", "%#o is no mode a %v checkpoint shows", p.Mode, r.dialect)
		}
		ids[qs.ID] = true
		if k := p.Key; k != IPC_PRIVATE {
			if j, dup := keys[k]; dup {
				return snapErr(at+".stat.perm.key", "key %#x is also queues[%d]'s", uint32(k), j)
			}
			keys[k] = i
		}
		st := &qs.Stat
		for _, f := range []struct {
			name string
			ns   int
		}{{"stime", st.Stime.Nanosecond()}, {"rtime", st.Rtime.Nanosecond()}, {"ctime", st.Ctime.Nanosecond()}} {
			if f.ns != 0 {
				return snapErr(at+".stat."+f.name, "not a whole second")
			}
		}
		var cbytes uint64
		for k, m := range qs.Messages {
			mat := at + ".messages[" + strconv.Itoa(k) + "]"
			if m.Type < 1 || r.mtype32 && m.Type > math.MaxInt32 {
				return snapErr(mat+".type", "%d is no type %v stores", m.Type, r.dialect)
			}
			if l.MsgMax > 0 && len(m.Text) > l.MsgMax {
				return snapErr(mat+".text", "%d bytes, more than limits.msgmax (%d)", len(m.Text), l.MsgMax)
			}
			cbytes += uint64(len(m.Text))
			segs += pool.segsOf(len(m.Text))
		}
		msgs += uint64(len(qs.Messages))
		if st.Qnum != uint64(len(qs.Messages)) {
			return snapErr(at+".stat.qnum", "%d, but the queue has %d messages", st.Qnum, len(qs.Messages))
		}
		if st.Cbytes != cbytes {
			return snapErr(at+".stat.cbytes", "%d, but the messages hold %d bytes", st.Cbytes, cbytes)
		}
		if l.MsgMnm > 0 && len(qs.Messages) > l.MsgMnm {
			return snapErr(at+".stat.qnum", "%d, more than limits.msgmnm (%d)", len(qs.Messages), l.MsgMnm)
		}
	}
	if l.MsgTql > 0 && msgs > uint64(l.MsgTql) {
		return snapErr("queues", "%d messages, more than limits.msgtql (%d)", msgs, l.MsgTql)
	}
	if l.MsgSeg > 0 && segs > uint64(l.MsgSeg) {
		return snapErr("queues", "%d segments, more than limits.msgseg (%d)", segs, l.MsgSeg)
	}
	for i, id := range d.Newest {
		if !ids[id] {
			return snapErr("allocator.scheme.newest["+strconv.Itoa(i)+"]", "%d is no queue's id, or is listed twice", id)
		}
		delete(ids, id)
	}
	if r.ids == idsOpenBSD {
		for i := range s.Queues {
			if seq, _ := seqOf(r.ids, s.Queues[i].ID, l.MsgMni); seq > d.Counter&0x7fff && d.Counter <= 0x7fff {
				return snapErr("allocator.scheme.counter", "%d, below queues[%d]'s seq %d", d.Counter, i, seq)
			}
		}
	}
	return nil
}

// liveBits are the upper mode bits IPC_STAT shows only while callers wait
// (illumos's MSG_RWAIT and MSG_WWAIT, FreeBSD's MSG_LOCKED).
func (r *rules) liveBits() uint16 {
	switch r.stat {
	case statLive:
		return modeMsgRWait | modeMsgWWait
	case statLocked:
		return modeMsgLocked
	}
	return 0
}
