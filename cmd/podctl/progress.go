package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// progress shows the STATUS of every object apply --wait waits for. In a
// terminal it redraws one line per object in place; piped, it prints a
// plain line per change.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	order  []string
	status map[string]string
	drawn  int // lines of the last redraw
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd())), status: map[string]string{}}
}

// update records that ref now shows status.
func (p *progress) update(ref, status string) {
	if status == "" {
		status = "Pending" // a pod the engine has not reported on yet
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.status[ref]; ok && old == status {
		return
	} else if !ok {
		p.order = append(p.order, ref)
	}
	p.status[ref] = status
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", ref, status)
		return
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn) // back to the first line drawn
	}
	width := 0
	if f, ok := p.w.(*os.File); ok {
		width, _, _ = term.GetSize(int(f.Fd()))
	}
	for _, r := range p.order {
		line := r + ": " + p.status[r]
		// A wrapped line would throw off the cursor-up count of the next redraw.
		if width > 1 && len(line) >= width {
			line = line[:width-1]
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
	}
	p.drawn = len(p.order)
}
