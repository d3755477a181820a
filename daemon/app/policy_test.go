package app

import (
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/config"
	corev1 "k8s.io/api/core/v1"
)

// TestPolicyFromConfig: the config file's policy reaches the admission
// check whole (level, namespaces, both allowedHostPaths forms).
func TestPolicyFromConfig(t *testing.T) {
	if p, err := policy(nil); p != nil || err != nil {
		t.Fatalf("no policy block: %v %v", p, err)
	}
	c, err := config.Parse([]byte(`policy:
  level: baseline
  namespaces: {infra: privileged}
  allowedHostPaths:
  - /srv
  - {pathPrefix: /etc/ssl, readOnly: true}
`), config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy(c.Policy)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "srv", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/a"}}},
			{Name: "ssl", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/ssl/certs"}}},
		},
		Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{
			{Name: "srv", MountPath: "/srv"}, {Name: "ssl", MountPath: "/ssl", ReadOnly: true}}}},
	}}
	pod.Namespace = "default"
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err != nil {
		t.Fatalf("pod within the allowed host paths: %v", err)
	}
	pod.Spec.Containers[0].VolumeMounts[1].ReadOnly = false
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err == nil || !strings.Contains(err.Error(), "readOnly") {
		t.Fatalf("writable mount under a readOnly prefix: %v", err)
	}
	pod.Spec.Containers[0].VolumeMounts[1].ReadOnly = true
	pod.Spec.HostNetwork = true
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err == nil || !strings.Contains(err.Error(), "host namespaces") {
		t.Fatalf("hostNetwork at baseline: %v", err)
	}
	pod.Namespace = "infra"
	if err := p.Forbidden(&pod.ObjectMeta, &pod.Spec); err != nil {
		t.Fatalf("hostNetwork in a privileged namespace: %v", err)
	}
}
