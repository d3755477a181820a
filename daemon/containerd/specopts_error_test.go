package containerd

import (
	"context"
	"errors"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

// TestSecurityErrorIsConfigError: an error of the security options (e.g.
// runAsNonRoot with a root image) is the kubelet's CreateContainerConfigError.
func TestSecurityErrorIsConfigError(t *testing.T) {
	r := &Runtime{opts: Options{Security: func(*corev1.Pod, *corev1.Container, ocispec.ImageConfig) ([]oci.SpecOpts, error) {
		return nil, errors.New("container has runAsNonRoot and image will run as root")
	}}}
	_, err := r.podSpecOpts(context.Background(), &corev1.Pod{}, &corev1.Container{Name: "c"}, ocispec.ImageConfig{})
	var se *supervisor.StartError
	if !errors.As(err, &se) || se.Reason != "CreateContainerConfigError" ||
		se.Message != "security context: container has runAsNonRoot and image will run as root" {
		t.Fatalf("podSpecOpts error = %#v, want a CreateContainerConfigError StartError", err)
	}
}
