package msgq

import (
	"fmt"
	"io"
	"strings"
)

// WriteTo writes a listing of the namespace's queues in the format of
// `ipcs -q`, one queue per line in index order, with owners as numeric
// uids and no padding after the last column: key, msqid, owner, perms, used-bytes, messages. It is meant for
// people debugging a test harness; see String.
func (ns *Namespace) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, ns.String())
	return int64(n), err
}

// String returns the listing that WriteTo writes, for example:
//
//	------ Message Queues --------
//	key        msqid      owner      perms      used-bytes   messages
//	0x0000002a 0          1000       600        12           2
//
// Under a dialect other than Linux the title names it, as in
// "------ Message Queues (openbsd) --------".
func (ns *Namespace) String() string {
	var b strings.Builder
	if d := ns.core.rules.dialect; d != Linux {
		fmt.Fprintf(&b, "------ Message Queues (%s) --------\n", d) // the dialect, where it is not the default
	} else {
		b.WriteString("------ Message Queues --------\n")
	}
	b.WriteString("key        msqid      owner      perms      used-bytes   messages\n")
	core := ns.core
	core.mu.Lock()
	defer core.mu.Unlock()
	core.ids.each(func(q *queue) {
		fmt.Fprintf(&b, "0x%08x %-10d %-10d %-10o %-12d %d\n",
			uint32(q.perm.key), int(q.id), q.perm.uid, q.perm.mode, q.cbytes, q.msgs.count)
	})
	return b.String()
}
