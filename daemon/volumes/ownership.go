package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// The modes the kubelet's SetVolumeOwnership gives an fsGroup: group read
// (and write unless read-only) on everything, and on directories group
// search plus setgid so that new files inherit the group.
const (
	fsGroupRW   = 0o660
	fsGroupRO   = 0o440
	fsGroupExec = 0o110
)

// applyFSGroup gives fsGroup gid the tree at root the way the kubelet's
// SetVolumeOwnership does, but walking by file descriptor: every entry is
// opened relative to its parent's fd with O_NOFOLLOW, and its owner and
// mode are changed through that fd. A symlink is never followed (only the
// link itself gets the group), so a container that swaps an entry for a
// link to a host path while the walk runs cannot make podrund chmod or
// chown that host path; a swapped entry is at worst skipped. The walk
// stays on root's filesystem and leaves files with more than one hard link
// alone: either could be a host inode reached from inside the volume.
//
// policy OnRootMismatch skips the walk when root already has the group,
// the modes and setgid (the kubelet's requiresPermissionChange); nil or
// Always walks.
func applyFSGroup(root string, gid int64, readOnly bool, policy *corev1.PodFSGroupChangePolicy) error {
	fd, st, err := openVolumeRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	mask := fsGroupMask(readOnly)
	if policy != nil && *policy == corev1.FSGroupChangeOnRootMismatch && !rootMismatch(st, gid, mask) {
		return nil
	}
	w := ownershipWalk{gid: int(gid), mask: mask, dev: st.Dev}
	if err := w.dir(fd, st); err != nil {
		return fmt.Errorf("apply fsGroup %d to %s: %w", gid, root, err)
	}
	return nil
}

// applyFSGroupToRoot gives fsGroup gid the directory root alone, by file
// descriptor, without walking what is below it.
func applyFSGroupToRoot(root string, gid int64, readOnly bool) error {
	fd, st, err := openVolumeRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	mask := fsGroupMask(readOnly)
	w := ownershipWalk{gid: int(gid), mask: mask, dev: st.Dev}
	if err := w.apply(fd, st.Mode|mask|fsGroupExec|unix.S_ISGID); err != nil {
		return fmt.Errorf("apply fsGroup %d to %s: %w", gid, root, err)
	}
	return nil
}

// fsGroupMask is the group permission fsGroup grants: read and write, or
// read only for volumes mounted read-only.
func fsGroupMask(readOnly bool) uint32 {
	if readOnly {
		return fsGroupRO
	}
	return fsGroupRW
}

// openVolumeRoot opens a volume's directory as an O_PATH fd, refusing a
// symlink in its place.
func openVolumeRoot(root string) (int, *unix.Stat_t, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("open volume %s: %w", root, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("stat volume %s: %w", root, err)
	}
	return fd, &st, nil
}

// rootMismatch reports whether root lacks the fsGroup's group, modes or
// setgid bit, the kubelet's test for OnRootMismatch.
func rootMismatch(st *unix.Stat_t, gid int64, mask uint32) bool {
	want := mask | fsGroupExec
	return int64(st.Gid) != gid || st.Mode&want != want || st.Mode&unix.S_ISGID == 0
}

type ownershipWalk struct {
	gid  int
	mask uint32
	dev  uint64 // root's filesystem: the walk does not leave it
}

// dir applies the group to the directory open as fd (an O_PATH fd) and
// then to its entries.
func (w ownershipWalk) dir(fd int, st *unix.Stat_t) error {
	if err := w.apply(fd, st.Mode|w.mask|fsGroupExec|unix.S_ISGID); err != nil {
		return err
	}
	// O_PATH fds cannot list a directory: reopen this very inode (not a
	// path) through its fd to read it.
	rd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	f := os.NewFile(uintptr(rd), "volume directory")
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("list directory: %w", err)
	}
	for _, name := range names {
		if err := w.entry(fd, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// entry applies the group to one directory entry, opened without following
// a symlink. An entry that vanished meanwhile is skipped.
func (w ownershipWalk) entry(parent int, name string) error {
	fd, err := unix.Openat(parent, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	switch {
	case st.Dev != w.dev:
		return nil // a mount inside the volume: not the volume's files
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		// The link itself (O_PATH|O_NOFOLLOW opened it, not its target)
		// takes the group, as under the kubelet; its mode means nothing.
		if err := unix.Fchownat(fd, "", -1, w.gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set group of symlink: %w", err)
		}
		return nil
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return w.dir(fd, &st)
	case st.Nlink > 1:
		return nil // a hard link: the same inode may live outside the volume
	}
	return w.apply(fd, st.Mode|w.mask)
}

// apply sets the group and mode of the inode open as the O_PATH fd. fchown
// and fchmod refuse O_PATH fds, so the inode is named by its
// /proc/self/fd link, which resolves to that inode and nothing else.
func (w ownershipWalk) apply(fd int, mode uint32) error {
	if err := unix.Fchownat(fd, "", -1, w.gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set group: %w", err)
	}
	// chown clears setuid/setgid on non-directories; mode is applied after.
	if err := unix.Chmod(procFD(fd), mode&07777); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	return nil
}

func procFD(fd int) string { return filepath.Join("/proc/self/fd", strconv.Itoa(fd)) }
