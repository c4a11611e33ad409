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
