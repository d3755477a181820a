package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// checkHostPath applies a hostPath volume's type as the kubelet's
// hostPathTypeChecker does, creating the path for the *OrCreate types.
// It is for hostPath volumes without a policy prefix (root trusts the
// spec); confined ones go through openHostPath.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	p := src.Path
	info, err := os.Stat(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hostPath type check failed: stat %s: %w", p, err)
	}
	if err != nil {
		switch t {
		case corev1.HostPathUnset:
			return nil
		case corev1.HostPathDirectoryOrCreate:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("hostPath type check failed: create directory %s: %w", p, err)
			}
			return os.Chmod(p, 0o755)
		case corev1.HostPathFileOrCreate:
			// Like the kubelet, the parent directory is not created.
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath type check failed: create file %s: %w", p, err)
			}
			return f.Close()
		}
		return checkHostPathMode(t, p, missing)
	}
	return checkHostPathMode(t, p, info.Mode())
}

// missing stands for a path that does not exist in checkHostPathMode.
const missing = fs.ModeIrregular | fs.ModeTemporary

// checkHostPathMode checks an existing path's mode (or missing) against a
// hostPath type.
func checkHostPathMode(t corev1.HostPathType, p string, mode fs.FileMode) error {
	exists := mode != missing
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory:
		if !exists || !mode.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", p)
		}
	case corev1.HostPathFileOrCreate, corev1.HostPathFile:
		if !exists || mode.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", p)
		}
	case corev1.HostPathSocket:
		if !exists || mode&fs.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", p)
		}
	case corev1.HostPathCharDev:
		if !exists || mode&fs.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", p)
		}
	case corev1.HostPathBlockDev:
		if !exists || mode&fs.ModeDevice == 0 || mode&fs.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", p)
		}
	default:
		return fmt.Errorf("hostPath type check failed: unknown type %q", t)
	}
	return nil
}

// fileMode converts an fstat mode to the fs.FileMode type bits the type
// check reads.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	}
	return mode
}
