package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// floorNetNS is a network namespace pinned by a bind mount, for the CNI
// floor (what containerd's CRI plugin makes for a pod sandbox).
type floorNetNS struct{ path string }

func newNetNS(dir, name string) (*floorNetNS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread ends up in the new namespace: never unlock it, so the
		// Go runtime discards it when this goroutine returns.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare netns: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("pin netns: %w", err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return nil, err
	}
	return &floorNetNS{path: path}, nil
}

func (n *floorNetNS) remove() error {
	err := unix.Unmount(n.path, unix.MNT_DETACH)
	if errors.Is(err, unix.EINVAL) {
		err = nil
	}
	return errors.Join(err, os.Remove(n.path))
}
