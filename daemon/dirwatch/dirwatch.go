// Package dirwatch tells when the files of one directory may have changed.
// It watches the directory with inotify, and its parent too, so that a
// directory created after podrund started, or replaced as a whole (a new
// one renamed over it), is noticed; and it debounces: a burst of events
// (a file written in several writes, an editor's save, a tmp file renamed
// over the old one) gives one call once the directory has been quiet for
// a moment. What changed is not reported: the caller re-reads the whole
// directory, so a lost or merged event never loses a change.
package dirwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"
)

// Options configure Run.
type Options struct {
	// Quiet is how long the directory must be still before Changed runs
	// (default 200ms).
	Quiet time.Duration
	// MaxDelay bounds how long a directory that never goes quiet holds
	// Changed back (default 10 × Quiet).
	MaxDelay time.Duration
	// Relevant filters the names of changed entries; nil takes them all.
	// An event about the directory itself always counts.
	Relevant func(name string) bool
	// Retry is how often a directory whose parent does not exist either
	// is looked for again (default 10s): there is nothing to watch yet.
	Retry  time.Duration
	Clock  clock.Clock
	Logger *zap.Logger
}

func (o *Options) defaults() {
	if o.Quiet <= 0 {
		o.Quiet = 200 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * o.Quiet
	}
	if o.Retry <= 0 {
		o.Retry = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// dirMask is what is watched on the directory: every way a file in it can
// appear, change or go, and the directory itself going.
const dirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR

// parentMask is what is watched on the parent: the directory appearing or
// going under its name.
const parentMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ONLYDIR

// Run watches dir until ctx ends and calls changed (never concurrently)
// after each quiet burst of changes. It does not call changed at start:
// the caller makes its first pass itself.
func Run(ctx context.Context, dir string, o Options, changed func(ctx context.Context)) error {
	o.defaults()
	w, err := newWatcher(dir, o.Logger)
	if err != nil {
		return err
	}
	raw := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		w.read(ctx, o, raw)
	}()
	go func() {
		<-ctx.Done()
		_ = w.f.Close() // unblocks read
	}()
	debounce(ctx, o.Clock, o.Quiet, o.MaxDelay, raw, func() { changed(ctx) })
	<-readDone
	return nil
}

// debounce calls fire once in has been silent for quiet after a signal,
// or maxDelay after the first unserved signal, whichever comes first.
func debounce(ctx context.Context, clk clock.Clock, quiet, maxDelay time.Duration, in <-chan struct{}, fire func()) {
	d := debouncer{quiet: quiet, maxDelay: maxDelay}
	var timer clock.Timer
	var timerC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-in:
			if !ok {
				return
			}
			if timer != nil {
				timer.Stop()
			}
			timer = clk.NewTimer(d.signal(clk.Now()))
			timerC = timer.C()
		case <-timerC:
			timer, timerC = nil, nil
			d.fired()
			fire()
		}
	}
}

// debouncer is debounce's arithmetic: when, after a change at a given
// time, the burst counts as over.
type debouncer struct {
	quiet, maxDelay time.Duration
	pending         bool
	first           time.Time // the first change not yet served
}

// signal records a change at now and returns how long to wait before the
// pass: quiet, cut short so that the pass never comes later than
// maxDelay after the burst's first change.
func (d *debouncer) signal(now time.Time) time.Duration {
	if !d.pending {
		d.pending, d.first = true, now
	}
	wait := d.quiet
	if rest := d.first.Add(d.maxDelay).Sub(now); rest < wait {
		wait = max(rest, 0)
	}
	return wait
}

// fired records that the pass ran.
func (d *debouncer) fired() { d.pending = false }

// watcher is one inotify instance on the directory and its parent.
type watcher struct {
	dir, parent string
	fd          int
	f           *os.File
	dirWD       int // -1 while the directory is not watched
	parentWD    int // -1 while the parent is not watched
	log         *zap.Logger
}

func newWatcher(dir string, log *zap.Logger) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// A non-blocking fd goes to Go's poller, so Close ends a pending Read.
	w := &watcher{dir: filepath.Clean(dir), parent: filepath.Dir(filepath.Clean(dir)), fd: fd,
		f: os.NewFile(uintptr(fd), "inotify"), dirWD: -1, parentWD: -1, log: log}
	w.addWatches()
	return w, nil
}

// addWatches (re)adds the watches that are missing; a missing directory
// or parent is not an error, it is watched for once it exists.
func (w *watcher) addWatches() {
	if w.parentWD < 0 {
		if wd, err := unix.InotifyAddWatch(w.fd, w.parent, parentMask); err == nil {
			w.parentWD = wd
		} else if !errors.Is(err, unix.ENOENT) {
			w.log.Warn("cannot watch the directory's parent", zap.String("dir", w.parent), zap.Error(err))
		}
	}
	if w.dirWD < 0 {
		if wd, err := unix.InotifyAddWatch(w.fd, w.dir, dirMask); err == nil {
			w.dirWD = wd
		} else if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			w.log.Warn("cannot watch the directory", zap.String("dir", w.dir), zap.Error(err))
		}
	}
}

// read turns inotify events into signals on raw until the fd is closed.
func (w *watcher) read(ctx context.Context, o Options, raw chan<- struct{}) {
	defer close(raw)
	buf := make([]byte, 64<<10)
	signal := func() {
		select {
		case raw <- struct{}{}:
		default: // one pending signal is enough: the pass reads everything
		}
	}
	for {
		if w.parentWD < 0 {
			// Nothing to wait on: look again later.
			select {
			case <-o.Clock.After(o.Retry):
			case <-ctx.Done():
				return
			}
			w.addWatches()
			if w.dirWD >= 0 {
				signal()
			}
			continue
		}
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.log.Error("read inotify events", zap.Error(err))
			}
			return
		}
		if w.handle(buf[:n], o.Relevant) {
			signal()
		}
	}
}

// handle reads a buffer of events and reports whether one of them may
// change what the directory holds.
func (w *watcher) handle(buf []byte, relevant func(string) bool) bool {
	changed := false
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			break
		}
		name := cString(buf[unix.SizeofInotifyEvent:end])
		buf = buf[end:]
		wd, mask := int(ev.Wd), ev.Mask
		switch {
		case mask&unix.IN_Q_OVERFLOW != 0:
			changed = true
		case wd == w.dirWD:
			if mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
				// Gone or moved away: whatever is at the path now counts.
				if mask&unix.IN_IGNORED == 0 {
					_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
				}
				w.dirWD = -1
				w.addWatches()
				changed = true
			} else if relevant == nil || name == "" || relevant(name) {
				changed = true
			}
		case wd == w.parentWD:
			if mask&unix.IN_IGNORED != 0 {
				w.parentWD = -1
				w.addWatches()
				changed = true
			} else if name == filepath.Base(w.dir) {
				if w.dirWD >= 0 && mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
					// Replaced: drop the watch on the old inode.
					_, _ = unix.InotifyRmWatch(w.fd, uint32(w.dirWD))
					w.dirWD = -1
				}
				w.addWatches()
				changed = true
			}
		}
	}
	return changed
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
