package msgq

import (
	"fmt"
	"syscall"
)

// Dialect names one of the systems whose System V message queues msgq is
// built from. Linux is the one msgq follows exactly; the others are the
// seed systems of the project's dialects specification.
type Dialect uint8

const (
	Linux   Dialect = iota // Linux ipc/msg.c: the default
	OpenBSD                // OpenBSD sys/kern/sysv_msg.c
	FreeBSD                // FreeBSD sys/kern/sysv_msg.c
	Illumos                // illumos and Solaris uts/common/os/msg.c
	SVR4                   // System V Release 4 and SunOS 4
	AIX                    // IBM AIX, as documented
)

var dialectNames = [...]string{
	Linux:   "linux",
	OpenBSD: "openbsd",
	FreeBSD: "freebsd",
	Illumos: "illumos",
	SVR4:    "svr4",
	AIX:     "aix",
}

// String returns the dialect's name in lower case: "linux", "openbsd",
// "freebsd", "illumos", "svr4" or "aix". An unknown value prints as
// "dialect(N)".
func (d Dialect) String() string {
	if int(d) < len(dialectNames) {
		return dialectNames[d]
	}
	return fmt.Sprintf("dialect(%d)", uint8(d))
}

// ParseDialect returns the dialect String names. It is the inverse of
// String for the six known dialects; any other text is an error wrapping
// EINVAL.
func ParseDialect(s string) (Dialect, error) {
	for d, name := range dialectNames {
		if s == name {
			return Dialect(d), nil
		}
	}
	return 0, fmt.Errorf("msgq: unknown dialect %q: %w", s, syscall.EINVAL)
}

// MarshalText encodes d as its name, so that a Snapshot's JSON says
// "linux" rather than 0. An unknown dialect is an error wrapping EINVAL.
func (d Dialect) MarshalText() ([]byte, error) {
	if int(d) >= len(dialectNames) {
		return nil, fmt.Errorf("msgq: unknown dialect %d: %w", uint8(d), syscall.EINVAL)
	}
	return []byte(dialectNames[d]), nil
}

// UnmarshalText is ParseDialect.
func (d *Dialect) UnmarshalText(b []byte) error {
	v, err := ParseDialect(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
