//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sysvmsg/msgq"
)

// fixture writes a snapshot of two queues to dir and returns its path.
func fixture(t *testing.T, dir string) string {
	clock := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ns := msgq.NewNamespace(msgq.WithCred(msgq.Cred{UID: 0, GID: 0, PID: 42}), msgq.WithClock(func() time.Time { return clock }))
	jobs, err := ns.Msgget(0x4a4f4253, msgq.IPC_CREAT|0o640)
	require.NoError(t, err)
	for _, m := range []msgq.Message{{Type: 1, Text: []byte("resize cat.png")}, {Type: 5, Text: []byte("shutdown")}, {Type: 2, Text: []byte("\x00\x01\xff frame")}, {Type: 1, Text: []byte("again")}} {
		require.NoError(t, ns.Msgsnd(jobs, m.Type, m.Text, 0))
	}
	_, err = ns.Msgget(msgq.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	b, err := json.Marshal(ns.Checkpoint())
	require.NoError(t, err)
	path := filepath.Join(dir, "fixture.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// The built command restores a snapshot, lists, peeks and dumps it, in a
// private IPC namespace, as a user would run it.
func TestCommandInPrivateNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "msgq")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	snap := fixture(t, dir)
	script := fmt.Sprintf(`
m=%[1]s; f=%[2]s
echo "== restore"; $m restore $f; echo "rc=$?"
echo "== ls"; $m ls; echo "rc=$?"
echo "== peek"; $m peek 0; echo "rc=$?"
echo "== peek -f"; $m peek -f $f -x 0; echo "rc=$?"
echo "== dump"; $m dump -o %[3]s/dump.json; echo "rc=$?"
echo "== again"; $m restore $f; echo "rc=$?"
echo "== missing"; $m peek 99; echo "rc=$?"
echo "== bad id"; $m peek x; echo "rc=$?"
echo "== help"; $m dump -h; echo "rc=$?"
echo "== unknown"; $m frob; echo "rc=$?"
if command -v setpriv >/dev/null; then
  echo "== ls as nobody"; setpriv --reuid=65534 --regid=65534 --clear-groups $m ls; echo "rc=$?"
fi
`, bin, snap, dir)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWIPC}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		if strings.Contains(err.Error(), "operation not permitted") || strings.Contains(err.Error(), "permission denied") {
			t.Skipf("cannot start a process in a new IPC namespace: %v", err)
		}
		t.Fatalf("%v\n%s", err, buf.String())
	}
	got := buf.String()
	t.Log(got)
	sections := map[string]string{}
	for _, part := range strings.Split(got, "== ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		sections[name] = body
	}
	if strings.Contains(sections["restore"], "msg_next_id") {
		t.Skipf("msg_next_id not writable here: %s", sections["restore"])
	}
	assert.Contains(t, sections["restore"], "restored queue 0, key 0x4a4f4253: 4 messages, 36 bytes")
	assert.Contains(t, sections["restore"], "restored queue 1, key 0x00000000: 0 messages, 0 bytes")
	assert.Contains(t, sections["restore"], "not carried (the kernel does not let a restore set these):")
	assert.Contains(t, sections["restore"], "queues[0].stat.lspid: snapshot 42, kernel ")
	assert.Contains(t, sections["restore"], "rc=0")
	assert.Regexp(t, `0x4a4f4253 0 +\S+ +640 +36 +4 +1:2 2:1 5:1\n`, sections["ls"])
	assert.Regexp(t, `0x00000000 1 +\S+ +600 +0 +0 +-\n`, sections["ls"])
	assert.Contains(t, sections["peek"], `0     1                    14     "resize cat.png"`)
	assert.Contains(t, sections["peek"], `2     2                    9      hex 0001ff206672616d65`)
	assert.Contains(t, sections["peek -f"], `1     5                    8      hex 73687574646f776e`)
	assert.Contains(t, sections["dump"], "msgq dump: 2 queues, 4 messages written to")
	assert.Contains(t, sections["again"], "already holds queue 0")
	assert.Contains(t, sections["again"], "rc=1")
	assert.Contains(t, sections["missing"], "no queue has id 99 (msgq ls lists them)")
	assert.Contains(t, sections["bad id"], "rc=2")
	assert.Contains(t, sections["help"], "usage: msgq dump [-o FILE]")
	assert.Contains(t, sections["help"], "rc=0")
	assert.Contains(t, sections["unknown"], `unknown command "frob"`)

	if nobody, ok := sections["ls as nobody"]; ok {
		assert.Contains(t, nobody, "no read permission for MSG_COPY: run as its owner or with CAP_IPC_OWNER")
		assert.Regexp(t, `0x4a4f4253 0 +\S+ +640 +36 +4 +\?\n`, nobody, "listed as ipcs lists it, types unknown")
		assert.Contains(t, nobody, "rc=0")
	}

	b, err := os.ReadFile(filepath.Join(dir, "dump.json"))
	require.NoError(t, err)
	var dumped msgq.Snapshot
	require.NoError(t, json.Unmarshal(b, &dumped))
	require.Len(t, dumped.Queues, 2)
	assert.Equal(t, []msgq.Message{{Type: 1, Text: []byte("resize cat.png")}, {Type: 5, Text: []byte("shutdown")}, {Type: 2, Text: []byte("\x00\x01\xff frame")}, {Type: 1, Text: []byte("again")}}, dumped.Queues[0].Messages)
}

func TestShowText(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		text  string
		most  int
		hex   bool
		shown string
	}{
		{"text is quoted", "hello", 64, false, `"hello"`},
		{"newlines are escaped in the quote", "a\nb", 64, false, `"a\nb"`},
		{"UTF-8 stays readable", "héllo", 64, false, `"héllo"`},
		{"control bytes make it hex", "a\x00b", 64, false, "hex 610062"},
		{"invalid UTF-8 makes it hex", "\xff\xfe", 64, false, "hex fffe"},
		{"an escape sequence is not text", "\x1b[2J", 64, false, "hex 1b5b324a"},
		{"long texts are cut", "abcdefgh", 4, false, `"abcd" … (4 more bytes)`},
		{"a cut does not split a character", "aéé", 2, false, `"a" … (4 more bytes)`},
		{"binary is cut at the byte", "\xff\xfe\xfd", 2, false, "hex fffe … (1 more bytes)"},
		{"-x forces hex", "hi", 64, true, "hex 6869"},
		{"0 shows all", "abcdefgh", 0, false, `"abcdefgh"`},
		{"empty", "", 64, false, `""`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			assert.Equal(t, tc.shown, showText([]byte(tc.text), tc.most, tc.hex))
		})
	}
}

func TestHint(t *testing.T) {
	assert.Contains(t, hint(fmt.Errorf("x: %w", syscall.ENOSYS)), "CONFIG_SYSVIPC")
	assert.Contains(t, hint(fmt.Errorf("x: %w", syscall.EPERM)), "unshare -Ur -i")
	assert.Contains(t, hint(syscall.EACCES), "CAP_IPC_OWNER")
	assert.Empty(t, hint(syscall.EINVAL))
	assert.Empty(t, hint(&os.PathError{Op: "open", Path: "f.json", Err: syscall.EACCES}), "a file's error needs no IPC hint")
}
