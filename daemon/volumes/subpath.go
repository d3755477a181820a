package volumes

import (
	"context"
	"errors"
	"fmt"
	"github.com/podrun/podrun/api"
	"os"
	"path/filepath"

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

// resolveSubPath returns the host path for subPath inside the volume at
// base, resolving symlinks within the volume so a container cannot point
// the mount outside it. A missing subPath of a writable volume is created
// as a directory, as the kubelet does.
func resolveSubPath(base, sub string, writable bool) (string, error) {
	if filepath.IsAbs(sub) || !filepath.IsLocal(sub) {
		return "", fmt.Errorf("subPath %q must be a relative path inside the volume", sub)
	}
	p, err := securejoin.SecureJoin(base, sub)
	if err != nil {
		return "", fmt.Errorf("resolve subPath %q: %w", sub, err)
	}
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		if !writable {
			return "", fmt.Errorf("subPath %q does not exist in the volume", sub)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("create subPath %q: %w", sub, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("stat subPath %q: %w", sub, err)
	}
	return p, nil
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
