package msgq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"syscall"
	"time"
)

// SnapshotFormat is the Format of the snapshots this package writes and
// the only one Restore accepts.
const SnapshotFormat = "msgq-snapshot/1"

// Snapshot is a namespace's queues: everything a restore needs to give the
// same ids, keys, owners, creators, modes, qbytes, limits, times, pids and
// messages, and to hand out the same ids afterwards. Checkpoint takes one
// and Restore brings it back; package kernel takes and restores them for
// the host's queues. It round-trips exactly through encoding/json (see
// "Snapshot JSON" below). Blocked callers are not part of a snapshot: as
// with CRIU, a blocked msgsnd or msgrcv is a call to restart, not state.
//
// # Snapshot JSON
//
// A Snapshot marshals as one JSON object whose keys are the lower-case
// names of the fields below (the Linux names without their msg_ prefix);
// testdata/snapshot.json is an example that a golden-file test keeps
// stable:
//
//	{
//	  "format": "msgq-snapshot/1",
//	  "dialect": "linux",
//	  "limits": {"msgmax": 8192, "msgmnb": 16384, "msgmni": 32000},
//	  "allocator": {"last_index": 1, "seq": 0},
//	  "queues": [
//	    {
//	      "id": 1,
//	      "stat": {
//	        "perm": {"key": 4660, "uid": 1000, "gid": 1000, "cuid": 1000, "cgid": 1000, "mode": 416, "seq": 0},
//	        "stime": "2026-12-02T14:00:01Z", "ctime": "2026-12-02T14:00:00Z",
//	        "cbytes": 5, "qnum": 1, "qbytes": 16384, "lspid": 11, "lrpid": 0
//	      },
//	      "messages": [{"type": 1, "text": "aGVsbG8="}]
//	    }
//	  ]
//	}
//
// Under a dialect other than Linux, "allocator" also holds "scheme", that
// system's allocator (DialectIDs), and "limits" the limits it has among
// "msgtql", "msgmnm", "msgssz" and "msgseg".
//
// Numbers are decimal (mode 416 is 0640). Times are RFC 3339 in UTC, in
// whole seconds as queues keep them (Restore refuses a fraction), and a
// time that was never stamped (a queue never sent to or received from) is
// left out. A message's text is
// base64 (encoding/json's encoding of []byte), so any bytes survive.
// Unknown keys are an error, so that a misspelt field is not silently
// dropped; a missing key is the field's zero value.
type Snapshot struct {
	Format    string          // SnapshotFormat
	Dialect   Dialect         // the namespace's rules (WithDialect)
	Limits    Limits          // the namespace's limits, defaults filled in
	Allocator IDAllocator     // where the id allocator stands
	Queues    []QueueSnapshot // in table-index order
}

// IDAllocator is the state of a namespace's id allocator, which with the
// ids of the queues alive decides the id the next msgget gives (see the
// package doc, "Ids"): indices are searched cyclically from the one after
// LastIndex, and a new id carries Seq, advanced first if the search wrapped
// to an index at or below LastIndex. The in-use map is not part of it: it
// is the set of the snapshot's queues' indices.
type IDAllocator struct {
	LastIndex int // the table index handed out last; -1 if none ever was
	Seq       int // the sequence number the id handed out last carries

	// Scheme is the allocator of a dialect other than Linux (see
	// DialectIDs); nil under Linux.
	Scheme *DialectIDs
}

// QueueSnapshot is one queue: its id, its msqid_ds as IPC_STAT reports it
// and its messages, oldest first. Stat.Qnum and Stat.Cbytes agree with
// Messages.
type QueueSnapshot struct {
	ID       int
	Stat     MsqidDS
	Messages []Message
}

// SnapshotError is the error Restore (and Snapshot's UnmarshalJSON)
// returns for a snapshot it refuses. It wraps syscall.EINVAL.
type SnapshotError struct {
	Field  string // the field at fault, as its JSON path: "queues[3].messages[7].type"
	Reason string
}

// Error reads "msgq: snapshot: FIELD: REASON".
func (e *SnapshotError) Error() string {
	if e.Field == "" {
		return "msgq: snapshot: " + e.Reason
	}
	return "msgq: snapshot: " + e.Field + ": " + e.Reason
}

// Unwrap returns syscall.EINVAL, so that errors.Is(err, syscall.EINVAL)
// holds for every refused snapshot.
func (e *SnapshotError) Unwrap() error { return syscall.EINVAL }

func snapErr(field, format string, args ...any) error {
	return &SnapshotError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// The JSON shapes of a Snapshot. Keeping them apart from the Go types
// keeps the JSON's lower-case keys and omitted zero times off MsqidDS,
// IPCPerm, Limits and Message, whose other uses need no tags.

type snapshotJSON struct {
	Format    string          `json:"format"`
	Dialect   Dialect         `json:"dialect"`
	Limits    limitsJSON      `json:"limits"`
	Allocator allocatorJSON   `json:"allocator"`
	Queues    []queueSnapJSON `json:"queues"`
}

type limitsJSON struct {
	MsgMax int `json:"msgmax"`
	MsgMnb int `json:"msgmnb"`
	MsgMni int `json:"msgmni"`
	MsgTql int `json:"msgtql,omitempty"` // the limits only other dialects have
	MsgMnm int `json:"msgmnm,omitempty"`
	MsgSsz int `json:"msgssz,omitempty"`
	MsgSeg int `json:"msgseg,omitempty"`
}

type allocatorJSON struct {
	LastIndex int         `json:"last_index"`
	Seq       int         `json:"seq"`
	Scheme    *DialectIDs `json:"scheme,omitempty"`
}

type queueSnapJSON struct {
	ID       int           `json:"id"`
	Stat     msqidDSJSON   `json:"stat"`
	Messages []messageJSON `json:"messages"`
}

type msqidDSJSON struct {
	Perm   ipcPermJSON `json:"perm"`
	Stime  time.Time   `json:"stime,omitzero"`
	Rtime  time.Time   `json:"rtime,omitzero"`
	Ctime  time.Time   `json:"ctime,omitzero"`
	Cbytes uint64      `json:"cbytes"`
	Qnum   uint64      `json:"qnum"`
	Qbytes uint64      `json:"qbytes"`
	Lspid  int32       `json:"lspid"`
	Lrpid  int32       `json:"lrpid"`
}

type ipcPermJSON struct {
	Key  Key    `json:"key"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	CUID uint32 `json:"cuid"`
	CGID uint32 `json:"cgid"`
	Mode uint16 `json:"mode"`
	Seq  uint16 `json:"seq"`
}

type messageJSON struct {
	Type int64  `json:"type"`
	Text []byte `json:"text"`
}

// MarshalJSON writes the snapshot as documented on Snapshot. It fails
// (wrapping EINVAL) only for a time that JSON cannot hold (a year outside
// 0 to 9999) or a dialect without a name. Its receiver is a value, so
// that a Snapshot marshals the same by value as through a pointer.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	j := snapshotJSON{
		Format:    s.Format,
		Dialect:   s.Dialect,
		Limits:    limitsJSON(s.Limits),
		Allocator: allocatorJSON(s.Allocator),
		Queues:    make([]queueSnapJSON, len(s.Queues)),
	}
	for i, q := range s.Queues {
		d := &q.Stat
		jq := queueSnapJSON{
			ID: q.ID,
			Stat: msqidDSJSON{
				Perm:  ipcPermJSON(d.Perm),
				Stime: d.Stime, Rtime: d.Rtime, Ctime: d.Ctime,
				Cbytes: d.Cbytes, Qnum: d.Qnum, Qbytes: d.Qbytes,
				Lspid: d.Lspid, Lrpid: d.Lrpid,
			},
			Messages: make([]messageJSON, len(q.Messages)),
		}
		for k, m := range q.Messages {
			jq.Messages[k] = messageJSON(m)
		}
		j.Queues[i] = jq
	}
	b, err := json.Marshal(&j)
	if err != nil {
		return nil, fmt.Errorf("msgq: snapshot: %v: %w", err, syscall.EINVAL)
	}
	return b, nil
}

// UnmarshalJSON reads a snapshot written as documented on Snapshot. A key
// it does not know, or malformed JSON, is an error wrapping EINVAL. It does
// not check that the snapshot makes sense: Restore does.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	var j snapshotJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("msgq: snapshot: %v: %w", err, syscall.EINVAL)
	}
	out := Snapshot{
		Format:    j.Format,
		Dialect:   j.Dialect,
		Limits:    Limits(j.Limits),
		Allocator: IDAllocator(j.Allocator),
		Queues:    make([]QueueSnapshot, len(j.Queues)),
	}
	for i, jq := range j.Queues {
		d := &jq.Stat
		q := QueueSnapshot{
			ID: jq.ID,
			Stat: MsqidDS{
				Perm:  IPCPerm(d.Perm),
				Stime: d.Stime, Rtime: d.Rtime, Ctime: d.Ctime,
				Cbytes: d.Cbytes, Qnum: d.Qnum, Qbytes: d.Qbytes,
				Lspid: d.Lspid, Lrpid: d.Lrpid,
			},
			Messages: make([]Message, len(jq.Messages)),
		}
		for k, m := range jq.Messages {
			if m.Text == nil {
				m.Text = []byte{} // "text": null or absent is an empty text
			}
			q.Messages[k] = Message(m)
		}
		out.Queues[i] = q
	}
	*s = out
	return nil
}

// Checkpoint returns a snapshot of the namespace: its limits, its id
// allocator and every queue in table-index order, each with its msqid_ds
// and a copy of its messages, oldest first. Nothing is consumed and no
// time is stamped. Times are given in UTC (the same instants the queue
// holds, to the nanosecond), and empty texts as empty, non-nil slices, so
// that the snapshot is equal to what its JSON decodes to.
//
// Checkpoint holds the namespace lock throughout, so msgget and IPC_RMID
// wait for it and the set of queues and the allocator's state are one
// consistent cut; it holds each queue's slot lock while it copies that
// queue, so each queue's part is a state the queue was in, even while
// other goroutines send and receive. Two queues may be copied at different
// moments, however: a message moved from one queue to another during a
// checkpoint may appear in both or in neither. A consistent cut of the
// whole namespace needs its users quiesced (no msgsnd or msgrcv running)
// while Checkpoint runs. Blocked callers are not part of the snapshot.
func (ns *Namespace) Checkpoint() *Snapshot {
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	t := core.ids
	s := &Snapshot{
		Format:    SnapshotFormat,
		Dialect:   core.rules.dialect,
		Limits:    core.limits,
		Allocator: IDAllocator{LastIndex: t.lastIdx, Seq: t.seq},
		Queues:    make([]QueueSnapshot, 0, t.inUse),
	}
	t.each(func(q *queue) { s.Queues = append(s.Queues, q.snapshot()) })
	if t.scheme != nil {
		s.Allocator = t.scheme.checkpoint(t)
	}
	return s
}

// snapshot copies the queue. Its slot lock must be held.
func (q *queue) snapshot() QueueSnapshot {
	ds := q.stat()
	if q.x != nil {
		ds.Perm.Mode &^= q.ns.rules.liveBits() // bits that say who waits: blocked callers are not part of a snapshot
	}
	ds.Stime, ds.Rtime, ds.Ctime = utc(ds.Stime), utc(ds.Rtime), utc(ds.Ctime)
	msgs := q.msgs.all()
	for i := range msgs {
		msgs[i].Text = append([]byte{}, msgs[i].Text...)
	}
	return QueueSnapshot{ID: int(q.id), Stat: ds, Messages: msgs}
}

// utc is t in UTC without its monotonic reading; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}
