package main

import (
	"bytes"
	"os"
	"testing"
)

func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		want string
	}{
		{"a terminal keeps one line, rewritten in place", true,
			"\r\033[K[1/2] W1 on msgq\r\033[K[2/2] W1 on chan\r\033[Kdone in 3s\n"},
		{"a log gets one plain line per step", false,
			"[1/2] W1 on msgq\n[2/2] W1 on chan\ndone in 3s\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := &progress{w: &b, tty: tc.tty}
			p.step("[%d/%d] %s on %s", 1, 2, "W1", "msgq")
			p.step("[%d/%d] %s on %s", 2, 2, "W1", "chan")
			p.done("done in %v", "3s")
			if b.String() != tc.want {
				t.Errorf("wrote %q, want %q", b.String(), tc.want)
			}
		})
	}
}

func TestProgressDetectsAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if newProgress(w).tty {
		t.Error("a pipe was taken for a terminal")
	}
}
