package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// setupEmptyDir creates the volume directory (mode 0777, so that non-root
// containers can write, as the kubelet does) and, for medium: Memory, mounts
// a tmpfs limited to sizeLimit. It is idempotent: contents survive container
// restarts.
func setupEmptyDir(dir string, src *corev1.EmptyDirVolumeSource, fsGroup *int64) error {
	if src.Medium != corev1.StorageMediumDefault && src.Medium != corev1.StorageMediumMemory {
		return fmt.Errorf("emptyDir medium %q is not supported", src.Medium)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create emptyDir: %w", err)
	}
	if src.Medium == corev1.StorageMediumMemory {
		opts := "mode=0777"
		if src.SizeLimit != nil && !src.SizeLimit.IsZero() {
			opts += ",size=" + strconv.FormatInt(src.SizeLimit.Value(), 10)
		}
		if err := ensureTmpfs(dir, opts); err != nil {
			return fmt.Errorf("emptyDir: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("chmod emptyDir: %w", err)
	}
	if fsGroup != nil {
		return setOwnership(dir, *fsGroup, false)
	}
	return nil
}

// ensureTmpfs mounts a tmpfs on dir unless one is mounted there already.
func ensureTmpfs(dir, opts string) error {
	mounted, err := mountinfo.Mounted(dir)
	if err != nil {
		return fmt.Errorf("check mount on %s: %w", dir, err)
	}
	if mounted {
		return nil
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// setOwnership gives the fsGroup the volume's files as the kubelet's
// SetVolumeOwnership does: group fsGroup, group read (and write unless
// readOnly), directories setgid and group-searchable so new files inherit
// the group.
func setOwnership(root string, fsGroup int64, readOnly bool) error {
	mask := os.FileMode(0o660)
	if readOnly {
		mask = 0o440
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return os.Lchown(p, -1, int(fsGroup))
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(fsGroup)); err != nil {
			return fmt.Errorf("set fsGroup of %s: %w", p, err)
		}
		mode := info.Mode() | mask
		if d.IsDir() {
			mode |= os.ModeSetgid | 0o110
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("set fsGroup mode of %s: %w", p, err)
		}
		return nil
	})
}

// unmountUnder unmounts every mount at or below dir, deepest first, and
// reports whether any remain (then nothing below dir may be deleted).
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("list mounts under %s: %w", dir, err)
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i].Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", mounts[i].Mountpoint, err)
		}
	}
	left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("list mounts under %s: %w", dir, err)
	}
	if len(left) > 0 {
		return fmt.Errorf("%d mounts remain under %s", len(left), dir)
	}
	return nil
}
