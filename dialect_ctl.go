package msgq

import "syscall"

// set is IPC_SET after the id lookup (dialects.md §6; Linux msgctl_down):
// it makes the dialect's checks in the dialect's order and, if all pass,
// sets uid, gid, the low 9 mode bits, qbytes and ctime. Under Linux it
// then fails the blocked receivers that lost read permission with EACCES
// and lets through the blocked senders that now fit; the other systems
// wake nobody (FreeBSD's senders find out when they next poll).
func (q *queue) set(c *Cred, ds *MsqidDS) error {
	r := q.ns.rules
	l := &q.ns.limits
	qbytes, cmp := ds.Qbytes, ds.Qbytes
	if r.qbytesCInt {
		// The kernel passes msg_qbytes on as a C int and compares it
		// with the unsigned msgmnb: only the low 32 bits count, and the
		// int widens with its sign when it is stored.
		v := int32(uint32(ds.Qbytes))
		qbytes, cmp = uint64(int64(v)), uint64(uint32(v))
	}
	for _, k := range r.setOrder {
		switch k {
		case setOwner:
			if !r.mayControl(&q.perm, c) {
				return r.notOwner
			}
		case setAboveMnb:
			if cmp > uint64(l.MsgMnb) && !r.priv(c, CapSysResource) {
				return syscall.EPERM
			}
		case setRaise:
			if cmp > q.qbytes && !r.priv(c, CapSysResource) {
				return syscall.EPERM
			}
		case setClamp:
			if cmp > uint64(l.MsgMnb) {
				qbytes, cmp = uint64(l.MsgMnb), uint64(l.MsgMnb)
			}
		case setZero:
			if cmp == 0 {
				return syscall.EINVAL
			}
		case setIDs:
			if ds.Perm.UID > r.uidMax || ds.Perm.GID > r.uidMax {
				return syscall.EINVAL
			}
		}
	}
	q.perm.uid, q.perm.gid = ds.Perm.UID, ds.Perm.GID
	q.perm.mode = ds.Perm.Mode & 0o777
	q.qbytes = qbytes
	q.ctime = q.ns.seconds()
	if !r.setWakes {
		return nil
	}
	if ws := q.waits; ws != nil {
		ws.receivers.each(func(w *waiter) {
			if !r.permits(&q.perm, w.cred, accessRead) {
				ws.receivers.remove(w)
				q.finish(w, syscall.EACCES)
			}
		})
	}
	q.wakeSenders()
	return nil
}

// dstat adds what a dialect's IPC_STAT shows beyond Linux's (§8): the
// upper mode bits and illumos's zero seq.
func (q *queue) dstat(ds *MsqidDS) {
	r := q.ns.rules
	x := q.x
	switch r.stat {
	case statLive:
		ds.Perm.Mode |= modeIPCAlloc // ILc ipc_commit_end
		if q.waits != nil && q.waits.receivers.n > 0 {
			ds.Perm.Mode |= modeMsgRWait // IL msgctl: msg_rcv_cnt
		}
		if q.waits != nil && q.waits.senders.head != nil {
			ds.Perm.Mode |= modeMsgWWait // IL msgctl: msg_snd_cnt
		}
	case statSticky:
		ds.Perm.Mode |= modeIPCAlloc | x.flags // S4c ipcget, S4 msgctl
	case statLocked:
		if x.owner != nil {
			ds.Perm.Mode |= modeMsgLocked // FB kern_msgctl copies the stored mode
		}
	}
	if r.seqZero {
		ds.Perm.Seq = 0 // ILc ipcperm_stat
	}
}
