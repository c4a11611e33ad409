package msgq

import (
	"os"
	"slices"
)

// Cred is the identity a call acts with: the effective user and group, the
// supplementary groups, the process id recorded in msg_lspid and msg_lrpid,
// and the capabilities that override the permission bits.
type Cred struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	PID      int32    // recorded as msg_lspid / msg_lrpid
	Caps     Caps     // privileges, as Linux capabilities
}

// Caps is a set of the Linux capabilities that SysV message queues consult.
// As in Linux, privilege comes from capabilities, not from UID 0 itself.
type Caps uint8

const (
	CapIPCOwner    Caps = 1 << iota // bypass read/write permission checks (CAP_IPC_OWNER)
	CapSysAdmin                     // IPC_SET / IPC_RMID any queue (CAP_SYS_ADMIN)
	CapSysResource                  // raise msg_qbytes above MsgMnb (CAP_SYS_RESOURCE)

	AllCaps = CapIPCOwner | CapSysAdmin | CapSysResource
)

// Root is the usual super-user: UID 0 with every capability.
var Root = Cred{UID: 0, GID: 0, Caps: AllCaps}

// CurrentCred describes this process: its effective uid and gid, its
// supplementary groups, its pid and, on Linux, its effective capabilities
// as capget(2) reports them (elsewhere: AllCaps for uid 0, none else). A
// process running as root without CAP_SYS_RESOURCE gets a Cred without
// CapSysResource, exactly as the kernel would treat it.
func CurrentCred() Cred {
	c := Cred{PID: int32(os.Getpid())}
	if uid := os.Geteuid(); uid >= 0 {
		c.UID = uint32(uid)
	}
	if gid := os.Getegid(); gid >= 0 {
		c.GID = uint32(gid)
	}
	if groups, err := os.Getgroups(); err == nil {
		for _, g := range groups {
			c.Groups = append(c.Groups, uint32(g))
		}
		slices.Sort(c.Groups)
	}
	c.Caps = effectiveCaps(c.UID)
	return c
}

// Has reports whether c holds every capability in caps.
func (c *Cred) Has(caps Caps) bool { return c.Caps&caps == caps }

// inGroup reports whether gid is c's group or one of its supplementary
// groups (Linux in_group_p).
func (c *Cred) inGroup(gid uint32) bool {
	return c.GID == gid || slices.Contains(c.Groups, gid)
}

// clone returns a copy of c that shares no memory with it, so that a caller
// changing its Groups slice later cannot change a namespace's identity.
func (c Cred) clone() Cred {
	c.Groups = slices.Clone(c.Groups)
	return c
}

// ipcPerm is Linux's kern_ipc_perm for one queue. key, cuid, cgid and seq
// never change; uid, gid and mode change under IPC_SET and are guarded by
// the lock of the queue's slot.
type ipcPerm struct {
	key        Key
	uid, gid   uint32
	cuid, cgid uint32
	mode       uint16 // the low 9 bits (S_IRWXUGO); nothing else is kept
	seq        uint16
}

// Access bits in the "other" position, as ipcperms(9) compares them.
const (
	accessRead  = 0o4 // S_IRUGO folded to one triplet
	accessWrite = 0o2 // S_IWUGO folded to one triplet
)

// permits is Linux ipcperms: flag carries the requested mode bits in any of
// the three triplets; the caller is checked against the owner triplet if it
// owns or created the queue, else the group triplet if its groups include
// the owner's or creator's group, else the other triplet. CAP_IPC_OWNER
// grants what the bits deny.
func (p *ipcPerm) permits(c *Cred, flag int32) bool {
	requested := (flag>>6 | flag>>3 | flag) & 0o7
	granted := int32(p.mode)
	switch {
	case c.UID == p.cuid || c.UID == p.uid:
		granted >>= 6
	case c.inGroup(p.cgid) || c.inGroup(p.gid):
		granted >>= 3
	}
	return requested&^granted == 0 || c.Caps&CapIPCOwner != 0
}

// mayControl is the check Linux's ipcctl_obtain_check makes for IPC_SET and
// IPC_RMID: the caller must be the owner or the creator, or hold
// CAP_SYS_ADMIN; otherwise EPERM.
func (p *ipcPerm) mayControl(c *Cred) bool {
	return c.UID == p.cuid || c.UID == p.uid || c.Has(CapSysAdmin)
}
