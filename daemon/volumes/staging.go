package volumes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/daemon/safeopen"
	"github.com/podrun/podrun/daemon/secopts"
)

// HostPathPrefix is a directory below which hostPath volumes may be used:
// the policy's allowed host paths, the same values the admission checks.
// ReadOnly makes every mount of a hostPath below it read-only.
type HostPathPrefix = secopts.HostPathPrefix

// Option configures a Manager.
type Option func(*Manager)

// WithHostPathPrefixes confines hostPath volumes to the given prefixes:
// each path is then resolved beneath its longest matching prefix with no
// symlink in any component and bound by file descriptor, so a pod cannot
// plant a symlink under an allowed prefix that leads another pod out of it.
// Without prefixes (no policy: root trusts the spec) hostPath volumes are
// used as written.
func WithHostPathPrefixes(prefixes ...HostPathPrefix) Option {
	return func(m *Manager) {
		for _, p := range prefixes {
			m.hostPathPrefixes = append(m.hostPathPrefixes, HostPathPrefix{Prefix: filepath.Clean(p.Prefix), ReadOnly: p.ReadOnly})
		}
	}
}

// subpathsDir holds the staging binds of a pod's containers, as the
// kubelet's volume-subpaths directory: runc is given these paths, which
// only podrund writes, never a path inside a volume.
func (m *Manager) subpathsDir(uid types.UID) string {
	return filepath.Join(m.root, "pods", string(uid), "volume-subpaths")
}

func (m *Manager) stagingPath(uid types.UID, volume, container string, index int) string {
	return filepath.Join(m.subpathsDir(uid), volume, container, strconv.Itoa(index))
}

// confined tells whether v is a hostPath volume the prefixes apply to.
func (m *Manager) confined(v *corev1.Volume) bool {
	return v.HostPath != nil && len(m.hostPathPrefixes) > 0
}

// stage opens what the mount at index of container names (the volume at
// basePath, a hostPath beneath its prefix, then the subPath) without
// following symlinks and binds it onto the mount's staging path, which it
// returns. readOnly reports a prefix that forces a read-only mount.
func (m *Manager) stage(uid types.UID, container string, index int, v *corev1.Volume, basePath, sub string, writable bool) (string, bool, error) {
	var base *os.File
	var readOnly bool
	var err error
	if m.confined(v) {
		base, readOnly, err = m.openHostPath(v.HostPath)
		basePath = filepath.Clean(v.HostPath.Path)
	} else {
		base, err = safeopen.OpenDir(basePath)
	}
	if err != nil {
		return "", false, err
	}
	defer base.Close()
	f := base
	if sub != "" {
		if f, err = openSubPath(base, basePath, sub, writable && !readOnly); err != nil {
			return "", false, err
		}
		defer f.Close()
	}
	target := m.stagingPath(uid, v.Name, container, index)
	if err := safeopen.Bind(f, target); err != nil {
		return "", false, err
	}
	return target, readOnly, nil
}

// matchPrefix returns the longest prefix path lies beneath (element-wise:
// "/var/logs" is not beneath "/var/log").
func (m *Manager) matchPrefix(path string) (HostPathPrefix, bool) {
	var best HostPathPrefix
	found := false
	for _, p := range m.hostPathPrefixes {
		if path == p.Prefix || p.Prefix == "/" || strings.HasPrefix(path, p.Prefix+"/") {
			if !found || len(p.Prefix) > len(best.Prefix) {
				best, found = p, true
			}
		}
	}
	return best, found
}

// openHostPath opens a hostPath beneath its allowed prefix with no symlink
// in any component, creating it for the *OrCreate types fd-relative, and
// applies the type check to what it opened.
func (m *Manager) openHostPath(src *corev1.HostPathVolumeSource) (*os.File, bool, error) {
	path := filepath.Clean(src.Path)
	pre, ok := m.matchPrefix(path)
	if !ok {
		return nil, false, fmt.Errorf("hostPath %s is not under a path allowed by the podrund policy", src.Path)
	}
	root, err := safeopen.OpenDir(pre.Prefix)
	if err != nil {
		return nil, false, fmt.Errorf("allowed hostPath prefix %s: %w", pre.Prefix, err)
	}
	defer root.Close()
	rel, err := filepath.Rel(pre.Prefix, path)
	if err != nil {
		return nil, false, fmt.Errorf("hostPath %s: %w", src.Path, err)
	}
	t := corev1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	var f *os.File
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		f, err = safeopen.MkdirAll(root, rel, 0o755)
	case corev1.HostPathFileOrCreate:
		f, err = safeopen.Open(root, rel)
		if errors.Is(err, os.ErrNotExist) {
			// Like the kubelet, the parent directory is not created.
			var cf *os.File
			if cf, err = safeopen.CreateFile(root, rel, 0o644, false); err == nil {
				cf.Close()
				f, err = safeopen.Open(root, rel)
			}
		}
	default:
		f, err = safeopen.Open(root, rel)
	}
	if errors.Is(err, os.ErrNotExist) && t != corev1.HostPathUnset {
		return nil, false, checkHostPathMode(t, src.Path, missing)
	}
	if err != nil {
		return nil, false, fmt.Errorf("hostPath %s: %w", src.Path, err)
	}
	st, err := safeopen.Stat(f)
	if err == nil {
		err = checkHostPathMode(t, src.Path, fileMode(st.Mode))
	}
	if err != nil {
		f.Close()
		return nil, false, err
	}
	return f, pre.ReadOnly, nil
}

// unstage removes the staging binds of a pod: every mount below its
// volume-subpaths directory is detached before anything is deleted, so a
// bound host directory is never emptied.
func (m *Manager) unstage(uid types.UID) error {
	dir := m.subpathsDir(uid)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}
