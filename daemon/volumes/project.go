package volumes

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ObjectSource gives access to the ConfigMaps and Secrets of the store.
// "Not found" is an apierrors NotFound error (apierrors.IsNotFound).
type ObjectSource interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// Default file modes of the API (corev1.*VolumeSourceDefaultMode).
const (
	defaultConfigMapMode = 0o644
	defaultSecretMode    = 0o644
)

func modeOr(m *int32, def int32) os.FileMode {
	if m != nil {
		return os.FileMode(*m) & os.ModePerm
	}
	return os.FileMode(def)
}

func isTrue(b *bool) bool { return b != nil && *b }

// keyToPath projects data (key -> bytes) through items: every key when items
// is empty, else only the listed keys at their paths and modes. A listed key
// that does not exist is an error unless optional, as in the kubelet.
func keyToPath(kind, name string, data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode, optional bool, out map[string]file) error {
	if len(items) == 0 {
		for k, v := range data {
			out[k] = file{Data: v, Mode: mode}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s %q: references non-existent key %q", kind, name, it.Key)
		}
		out[it.Path] = file{Data: v, Mode: modeOr(it.Mode, int32(mode))}
	}
	return nil
}

// configMapPayload projects a configMap source into out; a missing object is
// an error naming it unless optional (then nothing is projected).
func (m *Manager) configMapPayload(ctx context.Context, ns string, src *corev1.ConfigMapVolumeSource, mode os.FileMode, out map[string]file) error {
	cm, err := m.objects.ConfigMap(ctx, ns, src.Name)
	if apierrors.IsNotFound(err) {
		if isTrue(src.Optional) {
			return nil
		}
		return fmt.Errorf("configmap %q not found", src.Name)
	}
	if err != nil {
		return fmt.Errorf("get configmap %q: %w", src.Name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyToPath("configmap", src.Name, data, src.Items, mode, isTrue(src.Optional), out)
}

// secretPayload is configMapPayload for Secrets (stringData is merged into
// data by API defaulting).
func (m *Manager) secretPayload(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional bool, mode os.FileMode, out map[string]file) error {
	s, err := m.objects.Secret(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		if optional {
			return nil
		}
		return fmt.Errorf("secret %q not found", name)
	}
	if err != nil {
		return fmt.Errorf("get secret %q: %w", name, err)
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	for k, v := range s.Data {
		data[k] = v
	}
	return keyToPath("secret", name, data, items, mode, optional, out)
}

// downwardPayload renders downwardAPI items.
func (m *Manager) downwardPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode os.FileMode, out map[string]file) error {
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = FieldRefValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			v, err = ResourceFieldValue(pod, it.ResourceFieldRef.ContainerName, it.ResourceFieldRef, m.node)
		default:
			err = fmt.Errorf("downwardAPI item %q has neither fieldRef nor resourceFieldRef", it.Path)
		}
		if err != nil {
			return err
		}
		out[it.Path] = file{Data: []byte(v), Mode: modeOr(it.Mode, int32(mode))}
	}
	return nil
}

// payloadOf computes the files of a configMap, secret, downwardAPI or
// projected volume; ok is false for other volume types.
func (m *Manager) payloadOf(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (map[string]file, bool, error) {
	out := map[string]file{}
	ns := pod.Namespace
	var err error
	switch {
	case v.ConfigMap != nil:
		err = m.configMapPayload(ctx, ns, v.ConfigMap, modeOr(v.ConfigMap.DefaultMode, defaultConfigMapMode), out)
	case v.Secret != nil:
		s := v.Secret
		err = m.secretPayload(ctx, ns, s.SecretName, s.Items, isTrue(s.Optional), modeOr(s.DefaultMode, defaultSecretMode), out)
	case v.DownwardAPI != nil:
		err = m.downwardPayload(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, defaultConfigMapMode), out)
	case v.Projected != nil:
		err = m.projectedPayload(ctx, pod, v.Projected, out)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return out, true, nil
}

func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, out map[string]file) error {
	mode := modeOr(p.DefaultMode, defaultConfigMapMode)
	for _, src := range p.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			c := src.ConfigMap
			err = m.configMapPayload(ctx, pod.Namespace, &corev1.ConfigMapVolumeSource{
				LocalObjectReference: c.LocalObjectReference, Items: c.Items, Optional: c.Optional}, mode, out)
		case src.Secret != nil:
			s := src.Secret
			err = m.secretPayload(ctx, pod.Namespace, s.Name, s.Items, isTrue(s.Optional), mode, out)
		case src.DownwardAPI != nil:
			err = m.downwardPayload(pod, src.DownwardAPI.Items, mode, out)
		case src.ServiceAccountToken != nil:
			err = fmt.Errorf("projected serviceAccountToken is not supported: podrun has no API server to issue tokens")
		default:
			err = fmt.Errorf("projected volume source not supported by podrun")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
