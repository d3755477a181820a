package supervisor

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestResumeAfterCancelledShutdown: a host shutdown stops the pod in pod
// order; when it is cancelled, Resume runs the pod again as adoption after
// a reboot would (R95: sidecar before app, restart counts incremented), and
// a second Resume finds nothing more to do.
func TestResumeAfterCancelledShutdown(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	if err := h.m.Shutdown(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if h.rt.running("s") != "" || h.rt.running("r") != "" {
		t.Fatalf("containers still running after shutdown; calls %v", h.rt.callLog())
	}
	mark := len(h.rt.callLog())
	n, err := h.m.Resume(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v; want 1 pod", n, err)
	}
	h.waitRunning("s")
	h.waitRunning("r")
	h.waitPhase(pod.UID, corev1.PodRunning)
	calls := h.rt.callsSince(mark)
	if is, ir := indexOf(calls, "start s"), indexOf(calls, "start r"); is < 0 || ir < is {
		t.Fatalf("sidecar must start before the app again; calls %v", calls)
	}
	st := h.status(pod.UID)
	for _, cs := range append(st.InitContainerStatuses, st.ContainerStatuses...) {
		if cs.RestartCount != 1 || cs.State.Running == nil {
			t.Errorf("%s after resume: restarts %d, state %+v", cs.Name, cs.RestartCount, cs.State)
		}
	}
	if n, err := h.m.Resume(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Resume = %d, %v; want 0", n, err)
	}
}
