//go:build linux && (amd64 || arm64 || riscv64 || loong64)

// Command msgq looks at, saves and restores the host's System V message
// queues, which ipcs(1) lists but never opens:
//
//	msgq ls [-f FILE]           the queues, like ipcs -q, with their message types
//	msgq peek [-f FILE] ID      a queue's messages, without taking them
//	msgq dump [-o FILE]         every queue and message as a JSON snapshot
//	msgq restore FILE           recreate a snapshot's queues with their ids
//
// It acts on the IPC namespace it runs in; `unshare -i msgq restore FILE`
// restores into a fresh one (which is gone when the command exits), and
// ls and peek read a snapshot file instead of the kernel with -f. The
// snapshot format is package msgq's (see msgq.Snapshot): JSON, with
// message texts in base64.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
)

type command struct {
	name, args string
	short      string // one line, for the command list
	summary    string // the whole description, for -h
	run        func(fs *flag.FlagSet, args []string, stdout io.Writer) error
	flags      func(fs *flag.FlagSet)
}

var commands = []*command{lsCommand, peekCommand, dumpCommand, restoreCommand}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: msgq COMMAND [ARGS]: look at, save and restore the host's SysV message queues")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  msgq %-7s %-30s %s\n", c.name, c.args, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run msgq COMMAND -h for a command's options.")
}

// run is main without the exit: it returns the exit status (0 fine, 1 an
// error, 2 a usage error).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		usage(w)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("msgq "+c.name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: msgq %s %s\n\n%s\n", c.name, c.args, c.summary)
			if c.flags != nil {
				fmt.Fprintln(fs.Output())
				fs.PrintDefaults()
			}
		}
		if c.flags != nil {
			c.flags(fs)
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if err := c.run(fs, fs.Args(), stdout); err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				fmt.Fprintf(stderr, "msgq %s: %v\n", c.name, err)
				fs.Usage()
				return 2
			}
			fmt.Fprintf(stderr, "msgq %s: %v\n", c.name, err)
			if hint := hint(err); hint != "" {
				fmt.Fprintf(stderr, "msgq %s: %s\n", c.name, hint)
			}
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "msgq: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

type usageError string

func (e usageError) Error() string { return string(e) }

// hint says what the user can do about the errno at the root of err.
func hint(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "" // a file's error (the snapshot's, or msg_next_id's, which says what to do)
	}
	switch {
	case errors.Is(err, syscall.ENOSYS):
		return "this kernel lacks a feature msgq needs (System V IPC itself, CONFIG_SYSVIPC, or MSG_COPY and msg_next_id, CONFIG_CHECKPOINT_RESTORE), or a sandbox (seccomp) blocks the calls: run it on a kernel that has them, outside the sandbox"
	case errors.Is(err, syscall.EPERM):
		return "not permitted: run it as root (sudo msgq ...), or as root of namespaces of your own: unshare -Ur -i msgq ..."
	case errors.Is(err, syscall.EACCES):
		return "permission denied: run it as the queue's owner, or as root (it needs CAP_IPC_OWNER to read queues it has no read permission on)"
	}
	return ""
}
