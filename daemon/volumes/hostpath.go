package volumes

import (
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// checkHostPath applies a hostPath volume's type as the kubelet's
// hostPathTypeChecker does, creating the path for the *OrCreate types.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	p := src.Path
	info, err := os.Stat(p)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hostPath type check failed: stat %s: %w", p, err)
	}
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("hostPath type check failed: create directory %s: %w", p, err)
			}
			return os.Chmod(p, 0o755)
		}
		if !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", p)
		}
	case corev1.HostPathDirectory:
		if !exists || !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", p)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			// Like the kubelet, the parent directory is not created.
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath type check failed: create file %s: %w", p, err)
			}
			return f.Close()
		}
		if info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", p)
		}
	case corev1.HostPathFile:
		if !exists || info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", p)
		}
	case corev1.HostPathSocket:
		if !exists || info.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", p)
		}
	case corev1.HostPathCharDev:
		if !exists || info.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", p)
		}
	case corev1.HostPathBlockDev:
		if !exists || info.Mode()&os.ModeDevice == 0 || info.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", p)
		}
	default:
		return fmt.Errorf("hostPath type check failed: unknown type %q", t)
	}
	return nil
}
