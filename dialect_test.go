package msgq

import (
	"encoding/json"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialectNames(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		name string
	}{
		{Linux, "linux"}, {OpenBSD, "openbsd"}, {FreeBSD, "freebsd"},
		{Illumos, "illumos"}, {SVR4, "svr4"}, {AIX, "aix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.d.String())
			d, err := ParseDialect(tc.name)
			require.NoError(t, err)
			assert.Equal(t, tc.d, d)

			b, err := json.Marshal(tc.d)
			require.NoError(t, err)
			assert.Equal(t, `"`+tc.name+`"`, string(b))
			var back Dialect
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, tc.d, back)
		})
	}
}

func TestDialectUnknown(t *testing.T) {
	assert.Equal(t, "dialect(6)", Dialect(6).String())
	for _, s := range []string{"", "Linux", "solaris", "linux "} {
		_, err := ParseDialect(s)
		assert.True(t, errors.Is(err, syscall.EINVAL), "ParseDialect(%q) = %v", s, err)
	}
	_, err := json.Marshal(Dialect(200))
	assert.Error(t, err)
	var d Dialect
	assert.Error(t, json.Unmarshal([]byte(`"vms"`), &d))
	assert.Error(t, json.Unmarshal([]byte(`3`), &d), "a dialect is written by name")
}

// A dialect's snapshot names its dialect and its ids.
func TestDialectCheckpointNamesDialect(t *testing.T) {
	ns := NewNamespace(WithDialect(OpenBSD), WithCred(owner))
	_, err := ns.Msgget(1, IPC_CREAT|0o600)
	require.NoError(t, err)
	s := ns.Checkpoint()
	assert.Equal(t, OpenBSD, s.Dialect)
	assert.Equal(t, 131073, s.Queues[0].ID)
	assert.Equal(t, 2, s.Allocator.Scheme.Counter)
}

// Restore builds the namespace under the snapshot's dialect, whatever
// WithDialect an option passes.
func TestRestoreKeepsSnapshotDialect(t *testing.T) {
	ns := NewNamespace(WithCred(owner))
	id, err := ns.Msgget(1, IPC_CREAT|0o600)
	require.NoError(t, err)
	back, err := Restore(ns.Checkpoint(), WithDialect(OpenBSD), WithCred(owner))
	require.NoError(t, err)
	assert.Equal(t, Linux, back.Dialect())
	assert.NoError(t, back.Msgsnd(id, 1, []byte("x"), IPC_NOWAIT))
}
