package containerd

import (
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

// R86: an OOM kill is reported as an OOM event before the exit, and Reap
// says OOMKilled.
func TestOOMKill(t *testing.T) {
	e := newTestEnvWith(t, func(o *Options) {
		// Stands in for secopts: a 32 MiB memory limit.
		o.Security = func(*corev1.Pod, *corev1.Container, ocispec.ImageConfig) ([]oci.SpecOpts, error) {
			return []oci.SpecOpts{oci.WithMemoryLimit(32 << 20)}, nil
		}
	})
	// tail buffers /dev/zero, which has no newline, until the limit.
	inst := e.createAndStart(e.pod(busybox("hog", "tail", "/dev/zero")))
	oom := e.waitEvent(supervisor.EventOOM)
	if oom.ContainerID != inst.ID {
		t.Fatalf("OOM event for %s, want %s", oom.ContainerID, inst.ID)
	}
	ev := e.waitExit(inst.ID)
	st, err := e.rt.Reap(e.ctx, inst.ID)
	if err != nil || !st.OOMKilled || st.ExitCode != 137 || ev.ExitCode != 137 {
		t.Fatalf("OOM-killed instance: event %+v, status %+v, %v; want 137 OOMKilled", ev, st, err)
	}
}
