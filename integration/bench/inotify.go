package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileWatch notes when files appear in a directory (inotify IN_CREATE),
// on the host's clock, as soon as the kernel reports them. Containers
// create such files from a signal trap with a shell builtin (no fork), so
// the time is that of the signal's handling inside the container.
type fileWatch struct {
	f       *os.File
	mu      sync.Mutex
	seen    map[string]time.Time
	changed chan struct{}
}

func watchDir(dir string) (*fileWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify init: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// Non-blocking, so the os.File reads through the poller and Close
	// wakes the reader.
	w := &fileWatch{f: os.NewFile(uintptr(fd), "inotify"), seen: map[string]time.Time{}, changed: make(chan struct{})}
	go w.read()
	return w, nil
}

func (w *fileWatch) read() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		at := time.Now()
		if err != nil {
			return
		}
		w.mu.Lock()
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			name := unix.ByteSliceToString(nameBytes)
			if _, ok := w.seen[name]; !ok && name != "" {
				w.seen[name] = at
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// wait returns when file name was first seen.
func (w *fileWatch) wait(ctx context.Context, name string) (time.Time, error) {
	for {
		w.mu.Lock()
		at, ok := w.seen[name]
		ch := w.changed
		w.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("file %s never appeared: %w", name, ctx.Err())
		}
	}
}

func (w *fileWatch) Close() error { return w.f.Close() }
