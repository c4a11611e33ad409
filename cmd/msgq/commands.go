//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/sysvmsg/msgq"
	"github.com/sysvmsg/msgq/kernel"
)

var lsCommand = &command{
	name: "ls", args: "[-f FILE]", short: "the queues, like ipcs -q, with their message types",
	summary: "List the queues like ipcs -q, with each queue's message types (type:count).\nNothing is taken from the queues.",
	flags: func(fs *flag.FlagSet) {
		fs.String("f", "", "read a snapshot `FILE` (from msgq dump) instead of the kernel")
	},
	run: func(fs *flag.FlagSet, args []string, w io.Writer) error {
		if len(args) != 0 {
			return usageError("ls takes no arguments")
		}
		s, err := load(fs.Lookup("f").Value.String())
		if err != nil && (errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EACCES)) && fs.Lookup("f").Value.String() == "" {
			// No MSG_COPY, or a queue this user may not read: list what
			// msgctl shows, as ipcs does, with the types of the queues
			// it can read.
			fmt.Fprintf(os.Stderr, "msgq ls: %v\nmsgq ls: types shown as ? where the messages cannot be read\n", err)
			s, err = statOnly()
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "------ Message Queues --------")
		fmt.Fprintf(w, "%-10s %-10s %-10s %-10s %-12s %-11s %s\n", "key", "msqid", "owner", "perms", "used-bytes", "messages", "types")
		for _, q := range s.Queues {
			fmt.Fprintf(w, "0x%08x %-10d %-10s %-10o %-12d %-11d %s\n",
				uint32(q.Stat.Perm.Key), q.ID, owner(q.Stat.Perm.UID), q.Stat.Perm.Mode, q.Stat.Cbytes, q.Stat.Qnum, types(q))
		}
		return nil
	},
}

var peekCommand = &command{
	name: "peek", args: "[-f FILE] [-x] [-n BYTES] ID", short: "a queue's messages, without taking them",
	summary: "Show the messages of queue ID, oldest first, without taking them (MSG_COPY):\nposition, type, length and text, quoted when it is text and in hex when it is not.",
	flags: func(fs *flag.FlagSet) {
		fs.String("f", "", "read a snapshot `FILE` (from msgq dump) instead of the kernel")
		fs.Bool("x", false, "show every text in hex")
		fs.Int("n", 64, "show at most `BYTES` bytes of each text (0: all)")
	},
	run: func(fs *flag.FlagSet, args []string, w io.Writer) error {
		if len(args) != 1 {
			return usageError("peek takes one queue id")
		}
		id, err := strconv.ParseInt(args[0], 0, 32)
		if err != nil || id < 0 {
			return usageError(fmt.Sprintf("%q is not a queue id", args[0]))
		}
		s, err := load(fs.Lookup("f").Value.String())
		if err != nil {
			return err
		}
		i := slices.IndexFunc(s.Queues, func(q msgq.QueueSnapshot) bool { return q.ID == int(id) })
		if i < 0 {
			return fmt.Errorf("no queue has id %d (msgq ls lists them): %w", id, syscall.EINVAL)
		}
		q := s.Queues[i]
		most, _ := strconv.Atoi(fs.Lookup("n").Value.String())
		forceHex := fs.Lookup("x").Value.String() == "true"
		fmt.Fprintf(w, "queue %d, key 0x%08x: %s, %s\n", q.ID, uint32(q.Stat.Perm.Key), count(q.Stat.Qnum, "message"), count(q.Stat.Cbytes, "byte"))
		if len(q.Messages) > 0 {
			fmt.Fprintf(w, "%-5s %-20s %-6s %s\n", "#", "type", "len", "text")
		}
		for k, m := range q.Messages {
			fmt.Fprintf(w, "%-5d %-20d %-6d %s\n", k, m.Type, len(m.Text), showText(m.Text, most, forceHex))
		}
		return nil
	},
}

var dumpCommand = &command{
	name: "dump", args: "[-o FILE]", short: "every queue and message as a JSON snapshot",
	summary: "Write every queue and message of this IPC namespace as a JSON snapshot\n(msgq-snapshot/1; texts in base64). Nothing is taken from the queues.",
	flags: func(fs *flag.FlagSet) {
		fs.String("o", "", "write to `FILE` (mode 0600) instead of standard output")
	},
	run: func(fs *flag.FlagSet, args []string, w io.Writer) error {
		if len(args) != 0 {
			return usageError("dump takes no arguments")
		}
		s, err := kernel.Checkpoint()
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		out := fs.Lookup("o").Value.String()
		if out == "" {
			_, err = w.Write(b)
			return err
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			return err
		}
		var n int
		for _, q := range s.Queues {
			n += len(q.Messages)
		}
		fmt.Fprintf(os.Stderr, "msgq dump: %s, %s written to %s\n", count(uint64(len(s.Queues)), "queue"), count(uint64(n), "message"), out)
		return nil
	},
}

var restoreCommand = &command{
	name: "restore", args: "FILE", short: "recreate a snapshot's queues with their ids",
	summary: "Recreate the queues of a snapshot FILE (from msgq dump) in this IPC namespace,\nwith their ids, keys, owners, modes, qbytes and messages, and list what the\nkernel could not carry (creators, times, pids, the id allocator; qbytes above\nkernel.msgmnb without CAP_SYS_RESOURCE). Nothing is created if a key or id is\ntaken. Needs a writable /proc/sys/kernel/msg_next_id (root); try\nunshare -i msgq restore FILE for a namespace of its own.",
	run: func(fs *flag.FlagSet, args []string, w io.Writer) error {
		if len(args) != 1 {
			return usageError("restore takes one snapshot file")
		}
		s, err := load(args[0])
		if err != nil {
			return err
		}
		r, err := kernel.RestoreReport(s)
		if err != nil {
			return err
		}
		for i, q := range s.Queues {
			fmt.Fprintf(w, "restored queue %d, key 0x%08x: %s, %s\n", r.Created[i], uint32(q.Stat.Perm.Key), count(q.Stat.Qnum, "message"), count(q.Stat.Cbytes, "byte"))
		}
		var always, lost []kernel.Loss
		for _, l := range r.Lost {
			if l.Always {
				always = append(always, l)
			} else {
				lost = append(lost, l)
			}
		}
		if len(always) > 0 {
			fmt.Fprintln(w, "not carried (the kernel does not let a restore set these):")
			for _, l := range always {
				fmt.Fprintf(w, "  %v\n", l)
			}
		}
		if len(lost) > 0 {
			fmt.Fprintln(w, "NOT CARRIED (this restore could not):")
			for _, l := range lost {
				fmt.Fprintf(w, "  %v\n", l)
			}
			// What this restore can miss is qbytes above kernel.msgmnb;
			// the advice is specific, so no errno hint follows.
			return fmt.Errorf("%s not restored (the queues stay): raise kernel.msgmnb to the qbytes wanted, or run with CAP_SYS_RESOURCE, and restore into an empty namespace", count(uint64(len(lost)), "field"))
		}
		return nil
	},
}

// load reads a snapshot file, or the kernel's queues for "".
func load(file string) (*msgq.Snapshot, error) {
	if file == "" {
		return kernel.Checkpoint()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var s msgq.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if _, err := msgq.Restore(&s); err != nil { // the same checks a restore makes
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &s, nil
}

// statOnly lists the kernel's queues with msgctl, as ipcs does, and the
// messages of those it can copy with MSG_COPY; the others are left
// without messages.
func statOnly() (*msgq.Snapshot, error) {
	k := kernel.New()
	var info msgq.MsgInfo
	if _, err := k.MsgctlInfo(msgq.IPC_INFO, &info); err != nil {
		return nil, err
	}
	maxIdx, err := k.MsgctlInfo(msgq.MSG_INFO, &msgq.MsgInfo{})
	if err != nil {
		return nil, err
	}
	s := &msgq.Snapshot{}
	buf := make([]byte, info.Msgmax)
	for idx := 0; idx <= maxIdx; idx++ {
		var ds msgq.MsqidDS
		id, err := k.Msgctl(idx, msgq.MSG_STAT_ANY, &ds)
		if err != nil {
			continue
		}
		q := msgq.QueueSnapshot{ID: id, Stat: ds}
		for n := int64(0); n < int64(ds.Qnum); n++ {
			_, mtype, err := k.Msgrcv(id, buf, n, msgq.MSG_COPY|msgq.IPC_NOWAIT)
			if err != nil {
				q.Messages = nil
				break
			}
			q.Messages = append(q.Messages, msgq.Message{Type: mtype})
		}
		s.Queues = append(s.Queues, q)
	}
	return s, nil
}

// count is "1 message", "2 messages".
func count(n uint64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// owner is the user name of uid, or the number if it has none.
func owner(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

// types summarises a queue's messages as "type:count" in type order, at
// most eight of them.
func types(q msgq.QueueSnapshot) string {
	if q.Stat.Qnum > 0 && len(q.Messages) == 0 {
		return "?"
	}
	count := map[int64]int{}
	for _, m := range q.Messages {
		count[m.Type]++
	}
	var ts []int64
	for t := range count {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	var parts []string
	for i, t := range ts {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("+%d more types", len(ts)-8))
			break
		}
		parts = append(parts, fmt.Sprintf("%d:%d", t, count[t]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// showText shows a text safely on a terminal: as a Go-quoted string when
// it is UTF-8 text (escapes for what is not printable), else in hex; at
// most most bytes of it (0: all).
func showText(b []byte, most int, forceHex bool) string {
	more := ""
	if most > 0 && len(b) > most {
		all, text := len(b), !forceHex && isText(b)
		b = b[:most]
		for text && !utf8.Valid(b) {
			b = b[:len(b)-1] // do not cut a character in two
		}
		more = fmt.Sprintf(" … (%d more bytes)", all-len(b))
	}
	if forceHex || !isText(b) {
		return "hex " + hex.EncodeToString(b) + more
	}
	return strconv.Quote(string(b)) + more
}

// isText reports whether b is UTF-8 made of printable characters and
// white space.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !strconv.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}
