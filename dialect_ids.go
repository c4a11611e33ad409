package msgq

import "math"

// idScheme is a dialect's id allocation (dialects.md §2) over the shared
// slot table of idtable.go: which index a new queue takes, the id it gets
// and the sequence numbers that make a reused index carry a new id. Linux
// has none: idTable.add is Linux's ipc_idr_alloc. All fields are guarded by
// the namespace lock (nsCore.mu).
type idScheme struct {
	kind idKind
	mni  int // MsgMni: SVR4's and AIX's id formula, FreeBSD's slot count

	counter int      // OpenBSD: the namespace-wide sequence counter (OB msginit: sequence = 1)
	seqs    []uint16 // FreeBSD, illumos, SVR4, AIX: each slot's sequence number
	size    int      // illumos: the id space's current size (starts at 64, doubles when full)
	last    int      // illumos: the index handed out last (next fit), -1 before the first
	order   uint64   // creations so far: msgids lists the newest first
}

// newIDScheme returns the scheme of kind k for MsgMni mni, and sets up the
// table's id-to-index mapping for it.
func newIDScheme(t *idTable, k idKind, mni int) *idScheme {
	s := &idScheme{kind: k, mni: mni, counter: 1, size: 64, last: -1}
	switch k {
	case idsOpenBSD:
		t.shift, t.mni, t.loose = 16, 1<<16, true // OBp ipc.h IPCID_TO_IX: id & 0xffff
	case idsFreeBSD:
		t.shift, t.mni = 16, 1<<16 // FB IPCID_TO_IX; the seq test is q.id == id
	case idsIllumos:
		t.shift, t.mni = 24, 1<<24 // ILc ipc_lookup: id & (size-1), then id == ipc_id
	case idsSVR4, idsAIX:
		t.mod = mni // S4 msgconv: slot id % MsgMni, seq id / MsgMni
	}
	return s
}

// seqAt returns slot idx's sequence number, growing the slice as needed.
func (s *idScheme) seqAt(idx int) *uint16 {
	for idx >= len(s.seqs) {
		s.seqs = append(s.seqs, 0)
	}
	return &s.seqs[idx]
}

// next chooses the index and id of a new queue; the table has room (the
// caller checked MsgMni).
func (s *idScheme) next(t *idTable) (idx, id int, seq uint16) {
	s.order++
	switch s.kind {
	case idsOpenBSD:
		// OB que_create: the lowest free ix ≥ 1; seq = ++sequence & 0x7fff.
		idx = t.findFree(1, math.MaxInt)
		s.counter++
		seq = uint16(s.counter & 0x7fff)
		return idx, int(seq)<<16 | idx, seq
	case idsFreeBSD:
		// FB sys_msgget: the lowest free slot; its seq moves on at allocation.
		idx = t.findFree(0, s.mni)
		p := s.seqAt(idx)
		*p = (*p + 1) & 0x7fff
		return idx, int(*p)<<16 | idx, *p
	case idsIllumos:
		// id_space.c id_alloc: next fit above the last index, else from 0;
		// ILc ipc_commit_end: the id space doubles while it is full.
		if t.inUse >= s.size && s.size < 1<<24 {
			s.size *= 2
		}
		idx = t.findFree(s.last+1, s.size)
		if idx < 0 {
			idx = t.findFree(0, s.size)
		}
		s.last = idx
		seq = *s.seqAt(idx)
		return idx, int(seq)<<24 | idx, seq
	default: // SVR4, AIX: S4 msgget takes the lowest free slot
		idx = t.findFree(0, s.mni)
		seq = *s.seqAt(idx)
		return idx, int(seq)*s.mni + idx, seq
	}
}

// removed moves the sequence number of a freed slot on where the system
// does it at removal.
func (s *idScheme) removed(idx, id int) {
	switch s.kind {
	case idsIllumos:
		p := s.seqAt(idx) // ILc ipc_remove: seq wraps from 127 to 0
		*p = (*p + 1) & 0x7f
	case idsSVR4:
		p := s.seqAt(idx) // S4 msgctl IPC_RMID: reset when the next id would pass 32767
		if id+s.mni > 32767 {
			*p = 0
		} else {
			*p++
		}
	case idsAIX:
		p := s.seqAt(idx) // [I] SVR4's, wrapping past 2^31−1
		if id+s.mni > math.MaxInt32 {
			*p = 0
		} else {
			*p++
		}
	}
}
