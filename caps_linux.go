//go:build linux

package msgq

import (
	"syscall"
	"unsafe"
)

// Linux capability numbers (include/uapi/linux/capability.h).
const (
	capIPCOwner    = 15
	capSysAdmin    = 21
	capSysResource = 24
)

// effectiveCaps asks the kernel (capget(2)) which of the capabilities that
// SysV message queues consult this process holds in its effective set.
func effectiveCaps(uint32) Caps {
	hdr := struct {
		version uint32
		pid     int32
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	_, _, errno := syscall.RawSyscall(syscall.SYS_CAPGET,
		uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno != 0 {
		return 0
	}
	eff := uint64(data[1].effective)<<32 | uint64(data[0].effective)
	var caps Caps
	for _, c := range []struct {
		bit  uint
		caps Caps
	}{{capIPCOwner, CapIPCOwner}, {capSysAdmin, CapSysAdmin}, {capSysResource, CapSysResource}} {
		if eff&(1<<c.bit) != 0 {
			caps |= c.caps
		}
	}
	return caps
}
