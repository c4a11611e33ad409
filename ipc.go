package msgq

// IPC is the syscall-shaped surface of SysV message queues. *Namespace
// satisfies it, and so does the host kernel's implementation in package
// github.com/sysvmsg/msgq/kernel: code written against IPC runs on the
// kernel in production and on a Namespace in tests.
type IPC interface {
	Msgget(key Key, msgflg int) (int, error)
	Msgsnd(msqid int, mtype int64, mtext []byte, msgflg int) error
	Msgrcv(msqid int, mtext []byte, msgtyp int64, msgflg int) (n int, mtype int64, err error)
	Msgctl(msqid int, cmd int, buf *MsqidDS) (int, error)
	MsgctlInfo(cmd int, buf *MsgInfo) (int, error)
}

var _ IPC = (*Namespace)(nil)
