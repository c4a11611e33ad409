package msgq

import (
	"encoding/binary"
	"slices"
	"syscall"
)

// Msgids mirrors illumos's msgids(2): it returns the number of queues in
// the namespace and, if buf can hold them all, writes their ids to
// buf[:total], the most recently created first (ILc ipc_ids copies the
// list that ipc_commit_end inserts at the head of). A buf too short for
// them all, or nil, is left untouched: the caller asks again with a longer
// one. Only the Illumos dialect has msgids: the others return ENOSYS.
func (ns *Namespace) Msgids(buf []int) (total int, err error) {
	core := ns.core
	if !core.rules.extras {
		return 0, syscall.ENOSYS
	}
	type entry struct {
		id    int
		order uint64
	}
	core.mu.Lock()
	all := make([]entry, 0, core.ids.inUse)
	core.ids.each(func(q *queue) { all = append(all, entry{int(q.id), q.x.order}) })
	core.mu.Unlock()
	if len(buf) < len(all) {
		return len(all), nil
	}
	slices.SortFunc(all, func(a, b entry) int {
		switch {
		case a.order > b.order:
			return -1
		case a.order < b.order:
			return 1
		}
		return 0
	})
	for i, e := range all {
		buf[i] = e.id
	}
	return len(all), nil
}

// Msgsnap mirrors illumos's msgsnap(2): it copies every message of queue
// msqid that msgtyp selects (0 all; > 0 that type; < 0 every type up to
// |msgtyp|), in queue order, into buf, without taking them. The layout is
// illumos's LP64 one in the host's byte order (binary.NativeEndian): a
// head of two uint64s, the bytes the whole snapshot needs and the number of
// messages written, then per message its length (uint64), its type
// (int64) and its text, the next entry starting at the next multiple of 8.
// If buf is shorter than the snapshot, only the head is written, with 0
// messages: the caller retries with the size it says. Padding and the bytes
// past the snapshot keep what buf held. msgflg is ignored (illumos's call
// has none).
//
// Errors: EINVAL (len(buf) < 16, before anything else; no queue has that
// id), EACCES (no read permission), ENOSYS (a dialect other than Illumos).
func (ns *Namespace) Msgsnap(msqid int, buf []byte, msgtyp int64, msgflg int) error {
	core := ns.core
	if !core.rules.extras {
		return syscall.ENOSYS
	}
	if len(buf) < 16 { // IL msgsnap: the head must fit
		return syscall.EINVAL
	}
	id, ok := cInt(msqid)
	if !ok {
		return syscall.EINVAL
	}
	q, err := core.ids.lockID(id)
	if err != nil {
		return err
	}
	defer q.mu.Unlock()
	if !core.rules.permits(&q.perm, &ns.cred, accessRead) {
		return syscall.EACCES
	}
	sel := func(mtype int64) bool {
		switch {
		case msgtyp == 0:
			return true
		case msgtyp > 0:
			return mtype == msgtyp
		}
		return msgtyp == -msgtyp || mtype <= -msgtyp // |math.MinInt64| bounds every type
	}
	msgs := q.msgs.all()
	size := uint64(16)
	n := uint64(0)
	for _, m := range msgs {
		if sel(m.Type) {
			size += 16 + (uint64(len(m.Text))+7)&^7
			n++
		}
	}
	put := binary.NativeEndian.PutUint64
	put(buf[0:], size)
	if size > uint64(len(buf)) {
		put(buf[8:], 0)
		return nil
	}
	put(buf[8:], n)
	off := 16
	for _, m := range msgs {
		if !sel(m.Type) {
			continue
		}
		put(buf[off:], uint64(len(m.Text)))
		put(buf[off+8:], uint64(m.Type))
		copy(buf[off+16:], m.Text)
		off += 16 + (len(m.Text)+7)&^7
	}
	return nil
}
