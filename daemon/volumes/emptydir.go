package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// setupEmptyDir creates the volume directory (mode 0777, so that non-root
// containers can write, as the kubelet does) and, for medium: Memory, mounts
// a tmpfs limited to sizeLimit. Mode and fsGroup are applied once, when the
// volume is set up, as the kubelet does at SetUp: marker records that, and
// later calls (each container start) only check the tmpfs is still there.
// Walking the tree again on a container restart would let a running
// container race the walk with planted symlinks; a podrund restart that
// re-adopts the pod finds the marker and does not walk either. A volume
// that exists without a marker (made by a podrund that kept none, or one
// killed between creating it and the marker) may have running containers:
// only its root, podrund's own directory, is given the group then.
func setupEmptyDir(dir, marker string, src *corev1.EmptyDirVolumeSource, sc *corev1.PodSecurityContext) error {
	if src.Medium != corev1.StorageMediumDefault && src.Medium != corev1.StorageMediumMemory {
		return fmt.Errorf("emptyDir medium %q is not supported", src.Medium)
	}
	_, err := os.Lstat(dir)
	fresh := errors.Is(err, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create emptyDir: %w", err)
	}
	if src.Medium == corev1.StorageMediumMemory {
		mounted, err := mountinfo.Mounted(dir)
		if err != nil {
			return fmt.Errorf("check mount on %s: %w", dir, err)
		}
		if !mounted {
			// A new tmpfs (first start, or after a host reboot) is a new
			// volume: set it up again.
			if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("emptyDir: %w", err)
			}
			opts := "mode=0777"
			if src.SizeLimit != nil && !src.SizeLimit.IsZero() {
				opts += ",size=" + strconv.FormatInt(src.SizeLimit.Value(), 10)
			}
			if err := ensureTmpfs(dir, opts); err != nil {
				return fmt.Errorf("emptyDir: %w", err)
			}
			fresh = true
		}
	}
	if _, err := os.Lstat(marker); err == nil {
		return nil
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("chmod emptyDir: %w", err)
	}
	if sc != nil && sc.FSGroup != nil {
		if fresh {
			err = applyFSGroup(dir, *sc.FSGroup, false, sc.FSGroupChangePolicy)
		} else {
			err = applyFSGroupToRoot(dir, *sc.FSGroup, false)
		}
		if err != nil {
			return err
		}
	}
	return markSetUp(marker)
}

// markSetUp records that a volume is set up. The marker lives beside the
// volumes, where no container reaches it.
func markSetUp(marker string) error {
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		return fmt.Errorf("record volume set-up: %w", err)
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("record volume set-up: %w", err)
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
