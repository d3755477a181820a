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
	// The phase stayed Running through the shutdown (R95 keeps the pod),
	// so wait for the status the resumed sync publishes, not the phase.
	h.waitFor("both containers running again with restart count 1 in the status", func() bool {
		st := h.status(pod.UID)
		all := append(st.InitContainerStatuses, st.ContainerStatuses...)
		for _, cs := range all {
			if cs.RestartCount != 1 || cs.State.Running == nil {
				return false
			}
		}
		return len(all) == 2 && st.Phase == corev1.PodRunning
	})
	calls := h.rt.callsSince(mark)
	if is, ir := indexOf(calls, "start s"), indexOf(calls, "start r"); is < 0 || ir < is {
		t.Fatalf("sidecar must start before the app again; calls %v", calls)
	}
	if n, err := h.m.Resume(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Resume = %d, %v; want 0", n, err)
	}
}

// TestFirstSyncRemovesOrphans: a podrund SIGKILLed during a pod's first
// sync stored the pod without engine state, while the runtime went on to
// create the instance it asked for. The next podrund's first sync of that
// pod removes the never-started orphan and starts the container anew: one
// instance, no shim left behind. (A started one is adopted instead:
// adopt_unrecorded_test.go.)
func TestFirstSyncRemovesOrphans(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.rt.mu.Lock()
	h.rt.containers["orphan"] = &fakeContainer{id: "orphan", podUID: string(pod.UID), name: "r",
		sandbox: 1, state: InstanceCreated, exited: make(chan struct{})}
	h.rt.mu.Unlock()
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodRunning)
	h.settle()
	h.rt.mu.Lock()
	var ids []string
	for id := range h.rt.containers {
		ids = append(ids, id)
	}
	h.rt.mu.Unlock()
	if len(ids) != 1 || ids[0] == "orphan" {
		t.Fatalf("runtime holds %v, want one new instance; calls %v", ids, h.rt.callLog())
	}
	if cs := h.status(pod.UID).ContainerStatuses[0]; cs.ContainerID == "orphan" || cs.State.Running == nil {
		t.Fatalf("status %+v", cs)
	}
}
