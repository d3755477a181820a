package crilog

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
)

// releaseWait bounds how long release keeps knocking for a Read that has
// not yet reached its open.
const releaseWait = time.Second

// fifoReader reads one stream of a container from the FIFO the shim writes
// (Serve). It opens the FIFO on its first Read: the open waits for the
// shim's write end, so a stream never ends before the shim had it open,
// and a writer that restarts reopens a live FIFO at once. The shim keeps a
// read end of its own, so while no writer reads the container's output
// waits in the pipe instead of failing with EPIPE.
type fifoReader struct {
	path   string
	opened chan struct{} // closed once the open returned

	mu     sync.Mutex
	f      *os.File
	closed bool
}

func newFifoReader(path string) *fifoReader {
	return &fifoReader{path: path, opened: make(chan struct{})}
}

// Read is called by one goroutine only (CopyStream).
func (r *fifoReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	f := r.f
	r.mu.Unlock()
	if f == nil {
		var err error
		if f, err = r.open(); err != nil {
			return 0, err
		}
	}
	return f.Read(p)
}

func (r *fifoReader) open() (*os.File, error) {
	// Go registers a FIFO with its poller: reads wait without a thread.
	f, err := os.OpenFile(r.path, os.O_RDONLY, 0)
	close(r.opened)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		f.Close()
		return nil, os.ErrClosed
	}
	r.f = f
	return f, nil
}

// release ends a Read still waiting in open for a write end that will
// never come (the task is gone, or was never created): it opens and closes
// a write end itself, so the open returns and the next read sees EOF.
func (r *fifoReader) release() {
	deadline := time.Now().Add(releaseWait)
	for {
		select {
		case <-r.opened:
			return
		default:
		}
		w, err := os.OpenFile(r.path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		switch {
		case err == nil:
			w.Close()
		case errors.Is(err, fs.ErrNotExist):
			return // the open fails too
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close ends a pending Read (os.ErrClosed, which CopyStream takes as the
// stream's end).
func (r *fifoReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}
