package msgq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// TraceEntry is one finished call on a namespace, as WithTrace reports it.
type TraceEntry struct {
	Call // the call as it was made

	// Text is msgsnd's text, or the text msgrcv copied out (at most its
	// buffer's size), each a copy; nil otherwise.
	Text []byte
	// MType is the type of the message msgrcv took or copied.
	MType int64
	// NilBuf records a msgctl made with a nil buffer (C's NULL).
	NilBuf bool

	// Result is what the call returned: msgget's id, the bytes msgrcv
	// copied, msgctl's int, 0 for msgsnd and for a Queue method that
	// returns no int; -1 when it failed.
	Result int
	// Err is the error the call returned, nil if it succeeded.
	Err error
	// Injected reports that Err came from a WithFaults hook: the call did
	// nothing else.
	Injected bool

	// Start is when the call began, by time.Now (a bubble's time in a
	// testing/synctest bubble).
	Start time.Time
	// Blocked is how long the call waited in msgsnd or msgrcv for room, a
	// message, or whatever else ended the wait; 0 for a call that did not
	// wait.
	Blocked time.Duration
}

// String renders the entry as strace renders the system call, for
// example
//
//	[pid 11] msgsnd(32768, {mtype=2, mtext="hello"}, 5, IPC_NOWAIT) = -1 EAGAIN (Resource temporarily unavailable)
//	[pid 11] msgrcv(32768, {mtype=2, mtext="hello"}, 8192, 0, 0) = 5 <1.250000>
//
// with strace's conventions: texts cut at 32 bytes (followed by ...),
// flags by name, an injected fault marked (INJECTED), and the time a call
// waited, in seconds, at the end as strace -T shows it. The pid prefix is
// the call's Cred.PID, as strace -f shows it; an error that is no errno
// (a context's end) shows its text where strace shows the errno's.
func (e TraceEntry) String() string {
	var b strings.Builder
	sent := "{mtype=" + strconv.FormatInt(e.Type, 10) + ", mtext=" + quote(e.Text) + "}"
	got := "{...}" // strace shows the address of a buffer it did not fill
	if e.Err == nil {
		got = "{mtype=" + strconv.FormatInt(e.MType, 10) + ", mtext=" + quote(e.Text) + "}"
	}
	e.Call.write(&b, sent, got, e.NilBuf)
	b.WriteString(" = ")
	if e.Err == nil {
		b.WriteString(strconv.Itoa(e.Result))
	} else {
		b.WriteString("-1 ")
		b.WriteString(errString(e.Err))
	}
	if e.Injected {
		b.WriteString(" (INJECTED)")
	}
	if e.Blocked > 0 {
		fmt.Fprintf(&b, " <%.6f>", e.Blocked.Seconds())
	}
	return b.String()
}

// String renders the call as strace shows it, with the buffers it does
// not carry as {...}, for example
//
//	[pid 11] msgrcv(32768, {...}, 8192, 0, 0)
//	[pid 11] msgsnd(32768, {mtype=2, ...}, 5, IPC_NOWAIT)
func (c Call) String() string {
	var b strings.Builder
	c.write(&b, "{mtype="+strconv.FormatInt(c.Type, 10)+", ...}", "{...}", false)
	return b.String()
}

// write renders the call with sent as msgsnd's buffer, got as msgrcv's,
// and msgctl's as NULL if nilBuf.
func (c Call) write(b *strings.Builder, sent, got string, nilBuf bool) {
	if c.Cred.PID != 0 {
		fmt.Fprintf(b, "[pid %d] ", c.Cred.PID)
	}
	switch c.Op {
	case "msgget":
		fmt.Fprintf(b, "msgget(%s, %s)", keyString(c.Key), getFlags(c.Flags))
	case "msgsnd":
		fmt.Fprintf(b, "msgsnd(%d, %s, %d, %s)", c.ID, sent, c.Size, flagString(c.Flags, sndFlagNames, false))
	case "msgrcv":
		fmt.Fprintf(b, "msgrcv(%d, %s, %d, %d, %s)", c.ID, got, c.Size, c.Type, flagString(c.Flags, rcvFlagNames, false))
	case "msgctl":
		buf := "{...}"
		if nilBuf {
			buf = "NULL"
		}
		fmt.Fprintf(b, "msgctl(%d, %s, %s)", c.ID, cmdString(c.Cmd), buf)
	default:
		fmt.Fprintf(b, "%s(...)", c.Op)
	}
}

// traceStrsize is how many bytes of a text a trace line shows, as strace's
// default -s 32.
const traceStrsize = 32

// quote renders text as strace renders a string argument: C escapes, octal
// for other bytes, cut at traceStrsize bytes with ... after the quote.
func quote(text []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	shown := text[:min(len(text), traceStrsize)]
	for i, c := range shown {
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c >= ' ' && c < 0x7f {
				b.WriteByte(c)
				continue
			}
			// The shortest octal escape, unless a digit follows it.
			if i+1 < len(shown) && shown[i+1] >= '0' && shown[i+1] <= '7' {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				fmt.Fprintf(&b, `\%o`, c)
			}
		}
	}
	b.WriteByte('"')
	if len(text) > traceStrsize {
		b.WriteString("...")
	}
	return b.String()
}

func keyString(k Key) string {
	if k == IPC_PRIVATE {
		return "IPC_PRIVATE"
	}
	return fmt.Sprintf("%#x", uint32(k))
}

type flagName struct {
	bit  int
	name string
}

var (
	getFlagNames = []flagName{{IPC_CREAT, "IPC_CREAT"}, {IPC_EXCL, "IPC_EXCL"}, {IPC_NOWAIT, "IPC_NOWAIT"}}
	sndFlagNames = []flagName{{IPC_NOWAIT, "IPC_NOWAIT"}}
	rcvFlagNames = []flagName{{IPC_NOWAIT, "IPC_NOWAIT"}, {MSG_NOERROR, "MSG_NOERROR"},
		{MSG_EXCEPT, "MSG_EXCEPT"}, {MSG_COPY, "MSG_COPY"}}
)

// getFlags renders msgget's flags as strace does: the flags by name, then
// the mode in octal (IPC_CREAT|IPC_EXCL|0600).
func getFlags(flg int) string {
	s := flagString(flg&^0o777, getFlagNames, true)
	mode := fmt.Sprintf("%#03o", flg&0o777)
	if s == "" {
		return mode
	}
	return s + "|" + mode
}

// flagString renders flags by name, with the bits it has no name for in
// hex; 0 is "0" unless empty is set, when it is "".
func flagString(flg int, names []flagName, empty bool) string {
	var parts []string
	for _, n := range names {
		if flg&n.bit != 0 {
			parts = append(parts, n.name)
			flg &^= n.bit
		}
	}
	if flg != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(flg)))
	}
	if len(parts) == 0 && !empty {
		return "0"
	}
	return strings.Join(parts, "|")
}

var cmdNames = map[int]string{
	IPC_RMID: "IPC_RMID", IPC_SET: "IPC_SET", IPC_STAT: "IPC_STAT", IPC_INFO: "IPC_INFO",
	MSG_STAT: "MSG_STAT", MSG_INFO: "MSG_INFO", MSG_STAT_ANY: "MSG_STAT_ANY",
}

func cmdString(cmd int) string {
	if name, ok := cmdNames[cmd]; ok {
		return name
	}
	return fmt.Sprintf("%#x /* MSG_??? */", cmd)
}

// errnoNames are the errno values msgq's calls return, by their C names.
var errnoNames = map[syscall.Errno]string{
	syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.EINTR: "EINTR",
	syscall.E2BIG: "E2BIG", syscall.EAGAIN: "EAGAIN", syscall.ENOMEM: "ENOMEM",
	syscall.EACCES: "EACCES", syscall.EFAULT: "EFAULT", syscall.EEXIST: "EEXIST",
	syscall.EINVAL: "EINVAL", syscall.ENOSPC: "ENOSPC", syscall.ENOSYS: "ENOSYS",
	syscall.ENOMSG: "ENOMSG", syscall.EIDRM: "EIDRM",
}

// errString renders an error as strace renders errno: its name and, in
// parentheses, strerror's text. An error that is no errno is shown by its
// text, in parentheses.
func errString(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		name, ok := errnoNames[errno]
		if !ok {
			name = fmt.Sprintf("errno %d", uintptr(errno))
		}
		return name + " (" + capitalize(errno.Error()) + ")"
	}
	return "(" + err.Error() + ")"
}

func capitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}
