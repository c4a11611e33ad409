//go:build !linux

package msgq

// effectiveCaps stands in for capabilities where the system has none:
// the super-user holds all of them, everyone else none.
func effectiveCaps(euid uint32) Caps {
	if euid == 0 {
		return AllCaps
	}
	return 0
}
