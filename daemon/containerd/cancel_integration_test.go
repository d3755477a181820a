package containerd

import (
	"context"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

// TestCreateCancelledHalfWay: the pod's sync context ends while the
// container is being created (its pod was deleted). CreateContainer fails
// and leaves no container, task, snapshot, mount or shim (checked at
// cleanup by checkNothingLeft).
func TestCreateCancelledHalfWay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newTestEnvWith(t, func(o *Options) {
		// Cancels the caller's context while containerd's spec is being
		// generated, i.e. after the snapshot exists and before the container does.
		o.Security = func(*corev1.Pod, *corev1.Container, ocispec.ImageConfig) ([]oci.SpecOpts, error) {
			return []oci.SpecOpts{func(context.Context, oci.Client, *containers.Container, *oci.Spec) error {
				cancel()
				return nil
			}}, nil
		}
	})
	pod := e.pod(busybox("c", "sleep", "60"))
	c := &pod.Spec.Containers[0]
	_, err := e.rt.CreateContainer(ctx, supervisor.CreateRequest{Pod: pod, Container: c,
		Class: supervisor.Regular, Sandbox: supervisor.Sandbox{PodIP: "10.1.2.3"}, ImageRef: c.Image})
	if err == nil {
		t.Fatal("CreateContainer succeeded on a cancelled context")
	}
}
