package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/safeopen"

	securejoin "github.com/cyphar/filepath-securejoin"
	corev1 "k8s.io/api/core/v1"
)

// containerEnv resolves the container's env for subPathExpr: literal values,
// fieldRefs, resourceFieldRefs and configMap/secret keys, earlier variables
// usable in later ones.
func (m *Manager) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (map[string]string, error) {
	vars := map[string]string{}
	for _, e := range c.Env {
		v, err := m.envValue(ctx, pod, c, e, vars)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		vars[e.Name] = v
	}
	return vars, nil
}

func (m *Manager) envValue(ctx context.Context, pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar, vars map[string]string) (string, error) {
	vf := e.ValueFrom
	switch {
	case vf == nil:
		return api.Expand(e.Value, api.MapLookup(vars)), nil
	case vf.FieldRef != nil:
		return FieldRefValue(pod, vf.FieldRef.FieldPath)
	case vf.ResourceFieldRef != nil:
		name := vf.ResourceFieldRef.ContainerName
		if name == "" {
			name = c.Name
		}
		return ResourceFieldValue(pod, name, vf.ResourceFieldRef, m.node)
	case vf.ConfigMapKeyRef != nil:
		out := map[string]file{}
		r := vf.ConfigMapKeyRef
		src := &corev1.ConfigMapVolumeSource{LocalObjectReference: r.LocalObjectReference, Optional: r.Optional,
			Items: []corev1.KeyToPath{{Key: r.Key, Path: "v"}}}
		err := m.configMapPayload(ctx, pod.Namespace, src, 0o644, out)
		return string(out["v"].Data), err
	case vf.SecretKeyRef != nil:
		out := map[string]file{}
		r := vf.SecretKeyRef
		err := m.secretPayload(ctx, pod.Namespace, r.Name, []corev1.KeyToPath{{Key: r.Key, Path: "v"}}, isTrue(r.Optional), 0o644, out)
		return string(out["v"].Data), err
	}
	return "", nil
}

// openSubPath opens subPath beneath the volume whose root is base (opened
// from basePath) as the kubelet's doBindSubPath does: symlinks are first
// evaluated (ones staying inside the volume are allowed; one leading out
// is an error, as the kubelet's "not within volume path"), then the
// result is opened with no symlink in any component, so a container that
// swaps a directory for a symlink between the two steps gets an error,
// never the symlink's target. A missing subPath of a writable volume is
// created fd-relative with the volume root's mode, as the kubelet's
// doSafeMakeDir.
func openSubPath(base *os.File, basePath, sub string, writable bool) (*os.File, error) {
	if _, err := safeopen.SplitRelative(sub); err != nil || filepath.IsAbs(sub) || !filepath.IsLocal(sub) {
		return nil, fmt.Errorf("subPath %q must be a relative path inside the volume without '..'", sub)
	}
	rel, err := evalSubPath(basePath, sub)
	if err != nil {
		return nil, err
	}
	f, err := safeopen.Open(base, rel)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open subPath %q: %w", sub, err)
	}
	if !writable {
		return nil, fmt.Errorf("subPath %q does not exist in the volume", sub)
	}
	st, err := safeopen.Stat(base)
	if err != nil {
		return nil, err
	}
	if f, err = safeopen.MkdirAll(base, rel, st.Mode&0o7777); err != nil {
		return nil, fmt.Errorf("create subPath %q: %w", sub, err)
	}
	return f, nil
}

// evalSubPath evaluates the symlinks of subPath on the host and returns
// the result relative to the volume. Only a check: the caller opens the
// result without following symlinks. A subPath that does not exist (yet)
// is evaluated inside the volume (securejoin), for creation.
func evalSubPath(basePath, sub string) (string, error) {
	realBase, err := filepath.EvalSymlinks(basePath)
	if err != nil {
		return "", fmt.Errorf("resolve volume path: %w", err)
	}
	evaluated, err := filepath.EvalSymlinks(filepath.Join(realBase, sub))
	if errors.Is(err, os.ErrNotExist) {
		evaluated, err = securejoin.SecureJoin(realBase, sub)
	}
	if err != nil {
		return "", fmt.Errorf("resolve subPath %q: %w", sub, err)
	}
	rel, err := filepath.Rel(realBase, evaluated)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("subPath %q is not within the volume (a symlink leads out of it)", sub)
	}
	return rel, nil
}

// propagation maps mountPropagation to bind-mount options.
func propagation(p *corev1.MountPropagationMode) (string, error) {
	if p == nil {
		return "rprivate", nil
	}
	switch *p {
	case corev1.MountPropagationNone:
		return "rprivate", nil
	case corev1.MountPropagationHostToContainer:
		return "rslave", nil
	case corev1.MountPropagationBidirectional:
		return "rshared", nil
	}
	return "", fmt.Errorf("unknown mountPropagation %q", *p)
}
