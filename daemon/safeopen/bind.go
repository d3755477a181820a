package safeopen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Bind bind-mounts (recursively) what f refers to onto target, a path in a
// directory only podrund writes (the staging dir runc is then given). The
// mount source is /proc/self/fd/N, which the kernel resolves to f's own
// dentry: nothing a container renames afterwards changes what is mounted.
//
// A target that already holds a bind of the same file (device and inode) is
// kept, so preparing the same container twice does not stack mounts; one of
// anything else (a stale resolution of an earlier instance) is detached and
// replaced. The target is created as a directory or an empty file to match f.
func Bind(f *os.File, target string) error {
	st, err := Stat(f)
	if err != nil {
		return err
	}
	if same, err := boundTo(target, st); err != nil {
		return err
	} else if same {
		return nil
	}
	if err := Unbind(target); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("create staging directory: %w", err)
	}
	if IsDir(st) {
		err = os.Mkdir(target, 0o700)
	} else {
		var tf *os.File
		tf, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err == nil {
			err = tf.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("create staging target: %w", err)
	}
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		_ = os.Remove(target)
		return fmt.Errorf("bind %s onto %s: %w", f.Name(), target, err)
	}
	return nil
}

// boundTo tells whether target is a mount point whose root is the file st
// describes.
func boundTo(target string, st unix.Stat_t) (bool, error) {
	mounted, err := mountinfo.Mounted(target)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !mounted) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check staging mount %s: %w", target, err)
	}
	var cur unix.Stat_t
	if err := unix.Lstat(target, &cur); err != nil {
		return false, nil
	}
	return cur.Dev == st.Dev && cur.Ino == st.Ino && cur.Mode&unix.S_IFMT == st.Mode&unix.S_IFMT, nil
}

// Unbind detaches every mount stacked on target and removes the target
// entry; a missing target is fine. Nothing is removed while a mount stays.
func Unbind(target string) error {
	for range 16 {
		mounted, err := mountinfo.Mounted(target)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check staging mount %s: %w", target, err)
		}
		if !mounted {
			if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove staging target: %w", err)
			}
			return nil
		}
		if err := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount staging %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount staging %s: still mounted", target)
}
