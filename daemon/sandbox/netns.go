package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsfsMagic is NSFS_MAGIC: the filesystem type of a bind-mounted namespace file.
const nsfsMagic = 0x6e736673

// nsFlag maps a namespace file name under <state>/sandboxes/<uid>/ to its
// unshare flag.
func nsFlag(kind string) int {
	switch kind {
	case "net":
		return unix.CLONE_NEWNET
	case "ipc":
		return unix.CLONE_NEWIPC
	case "uts":
		return unix.CLONE_NEWUTS
	}
	return 0
}

// createNamespaces creates the requested namespaces (names as in nsFlag) on a
// fresh OS thread and pins each one with a bind mount of the thread's
// namespace file into dir. No process holds them: the mounts do, until
// unmounted. The thread is never returned to the Go scheduler, because it no
// longer lives in the process's namespaces; the runtime ends it when the
// goroutine exits while still locked.
func createNamespaces(dir string, kinds []string, hostname string) error {
	if len(kinds) == 0 {
		return nil
	}
	flags := 0
	for _, k := range kinds {
		flags |= nsFlag(k)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// deliberately no UnlockOSThread: the thread dies with this goroutine.
		errc <- unshareAndPin(dir, kinds, flags, hostname)
	}()
	return <-errc
}

// unshareAndPin runs on a locked thread that is discarded afterwards.
func unshareAndPin(dir string, kinds []string, flags int, hostname string) error {
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare namespaces %v: %w", kinds, err)
	}
	if flags&unix.CLONE_NEWUTS != 0 && hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", hostname, err)
		}
	}
	if flags&unix.CLONE_NEWNET != 0 {
		if err := loopbackUp(); err != nil {
			return err
		}
		if err := podNetSysctls(); err != nil {
			return err
		}
	}
	tid := unix.Gettid()
	for _, k := range kinds {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, k)
		if err := bindNamespace(src, filepath.Join(dir, k)); err != nil {
			return err
		}
	}
	return nil
}

// loopbackUp brings up lo in the calling thread's network namespace (netlink
// opens its socket in the thread's current namespace).
func loopbackUp() error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("open netlink in pod netns: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in pod netns: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up in pod netns: %w", err)
	}
	return nil
}

// podNetSysctls applies what containerd's CRI sets in every pod network
// namespace by default (enable_unprivileged_ports, enable_unprivileged_icmp):
// a non-root container may bind ports below 1024 and ping. /proc/sys/net
// shows the network namespace of the thread that opens it. Pod sysctls from
// the spec are applied later by runc and win.
func podNetSysctls() error {
	for file, val := range map[string]string{
		"/proc/sys/net/ipv4/ip_unprivileged_port_start": "0",
		"/proc/sys/net/ipv4/ping_group_range":           "0 2147483647",
	} {
		if err := os.WriteFile(file, []byte(val), 0o644); err != nil {
			return fmt.Errorf("set %s in pod netns: %w", file, err)
		}
	}
	return nil
}

// bindNamespace pins the namespace file src by bind-mounting it onto target.
func bindNamespace(src, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create namespace file %s: %w", target, err)
	}
	f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s onto %s: %w", src, target, err)
	}
	return nil
}

// isNamespaceMount reports whether path is a bind-mounted namespace file.
// After a reboot the state directory is empty, so this is false.
func isNamespaceMount(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Type) == nsfsMagic, nil
}

// unpinNamespace unmounts and deletes a namespace file; absent is fine.
func unpinNamespace(path string) error {
	// A file may carry stacked mounts (a crash between mount and record);
	// peel them off, bounded so a kernel surprise cannot spin forever.
	for i := 0; i < 8; i++ {
		ok, err := isNamespaceMount(path)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		// MNT_DETACH: a process still inside keeps the namespace, we only
		// drop our reference.
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
