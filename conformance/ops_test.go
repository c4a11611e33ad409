//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/sysvmsg/msgq"
)

// The limits both sides run with: small, so that a sequence of 40
// operations reaches every limit.
var limits = msgq.Limits{MsgMax: 64, MsgMnb: 256, MsgMni: 6}

// idents are the identities operations run as. Queues made by one and
// handed to another by IPC_SET give every owner/creator/group/other case.
var idents = []ident{
	{name: "root"},
	{name: "u1000", uid: 1000, gid: 1000},
	{name: "u1001", uid: 1001, gid: 1001},
	{name: "u2000g1000", uid: 2000, gid: 1000},
	{name: "u2001suppl1000", uid: 2001, gid: 2001, groups: []uint32{1000}},
	{name: "u2002g1001", uid: 2002, gid: 1001},
	{name: "u3000", uid: 3000, gid: 3000},
	{name: "root-nocaps", drop: msgq.AllCaps},
	{name: "root-noipcowner", drop: msgq.CapIPCOwner},
	{name: "root-nosysadmin", drop: msgq.CapSysAdmin},
	{name: "u3000+ipcowner", uid: 3000, gid: 3000, caps: msgq.CapIPCOwner},
	{name: "u3000+sysadmin", uid: 3000, gid: 3000, caps: msgq.CapSysAdmin},
}

type kind uint8

const (
	opGet  kind = iota // msgget
	opSnd              // msgsnd
	opRcv              // msgrcv
	opCtl              // msgctl: IPC_STAT, MSG_STAT, MSG_STAT_ANY, IPC_RMID, IPC_INFO, or a bad cmd
	opSet              // msgctl IPC_SET
	opInfo             // msgctl IPC_INFO / MSG_INFO into a msginfo
	nKinds
)

var kindNames = [...]string{"msgget", "msgsnd", "msgrcv", "msgctl", "IPC_SET", "info"}

// op is one call. Queues are named by q, the position of the queue among
// those the sequence has made so far (modulo their number, removed ones
// included), or, if lit is set, by the literal id lit.
type op struct {
	kind   kind
	who    int // index into idents
	key    msgq.Key
	q      int
	lit    bool
	id     int  // the literal id
	index  bool // name the queue by its table index (MSG_STAT), plus id's bits
	mtype  int64
	size   int // text length (msgsnd) or buffer length (msgrcv)
	msgtyp int64
	flags  int
	cmd    int
	nilBuf bool
	block  bool // msgsnd or msgrcv without IPC_NOWAIT: see run
	// IPC_SET's buffer, taken from IPC_STAT of the queue first: these
	// replace its fields when set.
	mode   uint16
	qbytes uint64
	setUID bool
	uid    uint32
	setGID bool
	gid    uint32
}

func (o op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{%s as %s ", kindNames[o.kind], idents[o.who].name)
	if o.lit {
		fmt.Fprintf(&b, "id=%d ", o.id)
	} else if o.index {
		fmt.Fprintf(&b, "index of q#%d + %d ", o.q, o.id)
	} else if o.kind != opGet && o.kind != opInfo {
		fmt.Fprintf(&b, "q#%d ", o.q)
	}
	switch o.kind {
	case opGet:
		fmt.Fprintf(&b, "key=%d flags=%#o", o.key, o.flags)
	case opSnd:
		fmt.Fprintf(&b, "mtype=%d size=%d flags=%s", o.mtype, o.size, flagNames(o.flags))
	case opRcv:
		fmt.Fprintf(&b, "msgtyp=%d size=%d flags=%s", o.msgtyp, o.size, flagNames(o.flags))
	case opCtl, opInfo:
		fmt.Fprintf(&b, "cmd=%s nilbuf=%v", cmdName(o.cmd), o.nilBuf)
	case opSet:
		fmt.Fprintf(&b, "mode=%#o qbytes=%d", o.mode, o.qbytes)
		if o.setUID {
			fmt.Fprintf(&b, " uid=%d", o.uid)
		}
		if o.setGID {
			fmt.Fprintf(&b, " gid=%d", o.gid)
		}
		if o.nilBuf {
			b.WriteString(" nilbuf")
		}
	}
	b.WriteString("}")
	return b.String()
}

func flagNames(f int) string {
	var names []string
	for _, n := range []struct {
		bit  int
		name string
	}{{msgq.IPC_NOWAIT, "IPC_NOWAIT"}, {msgq.MSG_NOERROR, "MSG_NOERROR"}, {msgq.MSG_EXCEPT, "MSG_EXCEPT"}, {msgq.MSG_COPY, "MSG_COPY"}} {
		if f&n.bit != 0 {
			names = append(names, n.name)
			f &^= n.bit
		}
	}
	if f != 0 || len(names) == 0 {
		names = append(names, fmt.Sprintf("%#o", f))
	}
	return strings.Join(names, "|")
}

func cmdName(c int) string {
	switch c {
	case msgq.IPC_RMID:
		return "IPC_RMID"
	case msgq.IPC_SET:
		return "IPC_SET"
	case msgq.IPC_STAT:
		return "IPC_STAT"
	case msgq.IPC_INFO:
		return "IPC_INFO"
	case msgq.MSG_STAT:
		return "MSG_STAT"
	case msgq.MSG_INFO:
		return "MSG_INFO"
	case msgq.MSG_STAT_ANY:
		return "MSG_STAT_ANY"
	}
	return fmt.Sprint(c)
}

// chooser draws the parts of operations, from a PRNG or from fuzz input.
type chooser interface {
	intn(n int) int
}

type prng struct{ r *rand.Rand }

func (p prng) intn(n int) int { return p.r.IntN(n) }

// bytesChooser reads choices from fuzz input, then zeros.
type bytesChooser struct{ b []byte }

func (c *bytesChooser) intn(n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	if n > 256 {
		if len(c.b) > 0 {
			v = v<<8 | int(c.b[0])
			c.b = c.b[1:]
		}
	}
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.intn(len(xs))] }

// genSequence draws a sequence of n operations.
func genSequence(c chooser, n int) []op {
	ops := make([]op, 0, n)
	for range n {
		ops = append(ops, genOp(c))
	}
	return ops
}

var (
	modes  = []uint16{0o600, 0o666, 0o640, 0o604, 0o660, 0o644, 0o400, 0o200, 0o000, 0o777, 0o060, 0o006, 0o070}
	types  = []int64{1, 2, 3, 4, 5, 1, 2, 3, 1, 2, 3, 4, 5, 0, -1, math.MaxInt64, math.MinInt64}
	msgtyp = []int64{0, 1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, math.MinInt64, math.MaxInt64, -math.MaxInt64}
)

func genOp(c chooser) op {
	o := op{kind: kind(pick(c, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 5)), who: genWho(c)}
	if o.kind != opGet && o.kind != opInfo {
		o.q = c.intn(8)
		if c.intn(20) == 0 {
			o.lit = true
			o.id = pick(c, -1, 12345, math.MaxInt32, 1<<15, 2<<15+1, 63, 1<<32, 1<<32+1, math.MinInt64, math.MaxInt32+1)
		}
	}
	switch o.kind {
	case opGet:
		o.key = pick[msgq.Key](c, msgq.IPC_PRIVATE, msgq.IPC_PRIVATE, 1, 2, 3, -7)
		o.flags = pick(c, 0, msgq.IPC_CREAT, msgq.IPC_CREAT, msgq.IPC_CREAT, msgq.IPC_CREAT|msgq.IPC_EXCL, msgq.IPC_EXCL)
		o.flags |= int(pick(c, modes...))
		if c.intn(10) == 0 {
			o.flags = c.intn(1 << 16)
		}
	case opSnd:
		o.mtype = pick(c, types...)
		o.size = pick(c, 0, 1, 7, 32, 32, limits.MsgMax, limits.MsgMax, limits.MsgMax+1, c.intn(limits.MsgMax+1))
		o.flags = msgq.IPC_NOWAIT
		if c.intn(5) == 0 {
			o.flags, o.block = 0, true
		}
		if c.intn(8) == 0 {
			o.flags |= pick(c, msgq.MSG_NOERROR, msgq.MSG_EXCEPT, msgq.MSG_COPY, 1<<20)
		}
	case opRcv:
		o.msgtyp = pick(c, msgtyp...)
		o.size = pick(c, 0, 1, 6, 32, limits.MsgMax, limits.MsgMax, limits.MsgMax+5)
		o.flags = msgq.IPC_NOWAIT
		if c.intn(5) == 0 {
			o.flags, o.block = 0, true
		}
		for _, f := range []struct{ flag, oneIn int }{{msgq.MSG_NOERROR, 3}, {msgq.MSG_EXCEPT, 4}, {msgq.MSG_COPY, 6}} {
			if c.intn(f.oneIn) == 0 {
				o.flags |= f.flag
			}
		}
		if o.flags&msgq.MSG_COPY != 0 && c.intn(2) == 0 {
			o.msgtyp = int64(c.intn(6)) // an index
		}
	case opCtl:
		o.cmd = pick(c, msgq.IPC_STAT, msgq.IPC_STAT, msgq.MSG_STAT, msgq.MSG_STAT_ANY, msgq.IPC_RMID, msgq.IPC_RMID, msgq.IPC_INFO, msgq.MSG_INFO, 99, -1, msgq.IPC_STAT|0x100)
		if o.cmd == msgq.MSG_STAT || o.cmd == msgq.MSG_STAT_ANY {
			if c.intn(4) == 0 {
				o.lit, o.id = true, pick(c, 0, 1, 2, 3, 5, 7, 1<<15+1, -1, 70)
			} else {
				o.index, o.id = true, pick(c, 0, 0, 0, 1<<15, 5<<15)
			}
		}
		o.nilBuf = c.intn(10) == 0
	case opSet:
		o.mode = pick(c, modes...)
		if c.intn(6) == 0 {
			o.mode |= 0o7000
		}
		o.qbytes = pick[uint64](c, 0, 1, 2, 40, 64, 100, 256, 257, 1<<31, 1<<32+5, 1<<32+300)
		if c.intn(3) == 0 {
			o.setUID, o.uid = true, pick[uint32](c, 0, 1000, 1001, 3000, math.MaxUint32)
		}
		if c.intn(3) == 0 {
			o.setGID, o.gid = true, pick[uint32](c, 0, 1000, 2000, 3000, math.MaxUint32)
		}
		o.nilBuf = c.intn(15) == 0
	case opInfo:
		o.cmd = pick(c, msgq.IPC_INFO, msgq.MSG_INFO, msgq.MSG_INFO, msgq.IPC_STAT)
		o.nilBuf = c.intn(10) == 0
	}
	return o
}

// genWho favours root and the first user, who make and own most queues.
func genWho(c chooser) int {
	if c.intn(2) == 0 {
		return c.intn(2)
	}
	return c.intn(len(idents))
}

// text is the payload of the i-th operation of a sequence.
func text(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*7 + j*13 + 1)
	}
	return b
}
