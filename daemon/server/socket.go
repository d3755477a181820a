package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// umaskMu serialises the umask changes of listenPrivate (the umask is the
// process's, not the goroutine's).
var umaskMu sync.Mutex

// listenPrivate binds the unix socket with umask 0177, so the socket file
// is born 0600 rather than open to everyone until a chmod. Files other
// goroutines create meanwhile are born no more open than they asked.
func listenPrivate(path string) (net.Listener, error) {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := unix.Umask(0o177)
	defer unix.Umask(old)
	return net.Listen("unix", path)
}

// LookupGroup resolves a group name or a numeric gid.
func LookupGroup(group string) (int, error) {
	if gid, err := strconv.Atoi(group); err == nil {
		if gid < 0 {
			return 0, fmt.Errorf("socketGroup %q: a gid is not negative", group)
		}
		return gid, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("socketGroup %q: %w", group, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("socketGroup %q: gid %q: %w", group, g.Gid, err)
	}
	return gid, nil
}

// ShareSocket lets group gid use the socket at path: the socket becomes
// root:gid 0660. When the socket sits directly in one of podrund's private
// directories (privateDirs; the default socket is in the state directory),
// that directory becomes root:gid 0710, so the group can reach the socket
// without listing or reading anything else there.
func ShareSocket(path string, gid int, privateDirs ...string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket %s: not a socket", path)
	}
	if err := os.Lchown(path, 0, gid); err != nil {
		return fmt.Errorf("chown socket %s to group %d: %w", path, gid, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		return fmt.Errorf("chmod socket %s: %w", path, err)
	}
	dir := filepath.Clean(filepath.Dir(path))
	for _, p := range privateDirs {
		if filepath.Clean(p) != dir {
			continue
		}
		if err := os.Chown(dir, 0, gid); err != nil {
			return fmt.Errorf("let group %d reach the socket in %s: %w", gid, dir, err)
		}
		if err := os.Chmod(dir, 0o710); err != nil {
			return fmt.Errorf("let group %d reach the socket in %s: %w", gid, dir, err)
		}
	}
	return nil
}

// ErrNoSocketPath means a listener is not a unix socket with a path.
var ErrNoSocketPath = errors.New("listener has no socket path")

// SocketPath is the file system path of a unix listener.
func SocketPath(ln net.Listener) (string, error) {
	a, ok := ln.Addr().(*net.UnixAddr)
	if !ok || a.Name == "" || a.Name[0] == '@' {
		return "", ErrNoSocketPath
	}
	return a.Name, nil
}
