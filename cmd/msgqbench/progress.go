package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// progress reports what msgqbench is running. On a terminal it keeps one
// line up to date, rewriting it with a carriage return and an erase-line
// escape; anywhere else (a pipe, a file, a CI log) it writes one plain line
// per step, which reads well in a log and holds no escape codes.
type progress struct {
	w   io.Writer
	tty bool // rewrite one line in place
}

// newProgress reports on f, in place if f is a terminal.
func newProgress(f *os.File) *progress {
	return &progress{w: f, tty: term.IsTerminal(int(f.Fd()))}
}

// step reports the step now running.
func (p *progress) step(format string, args ...any) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K"+format, args...)
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// done ends the report with a last line.
func (p *progress) done(format string, args ...any) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K"+format+"\n", args...)
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}
