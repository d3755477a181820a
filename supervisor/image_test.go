package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func (h *harness) waitingReason(uid string, name string) string {
	for _, cs := range append(h.status(types.UID(uid)).InitContainerStatuses, h.status(types.UID(uid)).ContainerStatuses...) {
		if cs.Name == name && cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return ""
}

func countCalls(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}

// TestImagePolicies_R27_R99: IfNotPresent with a present image does not
// pull ("already present"), Always pulls ("Successfully pulled"), Never
// with a missing image is ErrImageNeverPull.
func TestImagePolicies_R27_R99(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b", "c")
	pod.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	pod.Spec.Containers[1].ImagePullPolicy = corev1.PullAlways
	pod.Spec.Containers[1].Image = "nginx:1"
	pod.Spec.Containers[2].ImagePullPolicy = corev1.PullNever
	pod.Spec.Containers[2].Image = "missing:1"
	h.start(pod)
	h.waitRunning("b")
	h.waitFor("ErrImageNeverPull", func() bool { return h.waitingReason(string(pod.UID), "c") == "ErrImageNeverPull" })
	// The events of a sync are sent after its status is published (Get
	// sees the status first), so they are waited for, not looked up once.
	h.waitEvent("Pulled", `Container image "busybox:1.28" already present on machine`)
	h.waitEvent("Pulling", `Pulling image "nginx:1"`)
	h.waitFor("'Successfully pulled' event", func() bool {
		for _, e := range h.sink.eventList() {
			if e.Reason == "Pulled" && strings.HasPrefix(e.Message, `Successfully pulled image "nginx:1"`) {
				return true
			}
		}
		return false
	})
	if n := countCalls(h.rt.callLog(), "pull busybox:1.28"); n != 0 {
		t.Errorf("IfNotPresent pulled a present image %d times", n)
	}
	if h.status(pod.UID).Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending while c cannot start", h.status(pod.UID).Phase)
	}
}

// TestImagePullBackOff_R34_R87: a failing pull reports ErrImagePull, then
// ImagePullBackOff while the pull back-off (10 s, 20 s, ...) lasts.
func TestImagePullBackOff_R34_R87(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	pod.Spec.Containers[0].Image = "nope:1"
	// The runtime's own error, as daemon/containerd returns it: its reason must
	// not be repeated inside the message (R99 wording).
	h.rt.pullErr["nope:1"] = &StartError{Reason: "ErrImagePull", Message: "failed to resolve reference", Err: errors.New("not found")}
	h.start(pod)
	uid := string(pod.UID)
	h.waitFor("ErrImagePull", func() bool { return h.waitingReason(uid, "r") == "ErrImagePull" })
	h.waitEvent("Failed", `Failed to pull image "nope:1": failed to resolve reference: not found`)
	h.waitFor("timer armed", func() bool { return h.clk.HasWaiters() })
	h.clk.Step(10 * time.Second) // back-off 10 s over: pull again, fails, back-off 20 s
	h.waitFor("second pull", func() bool { return countCalls(h.rt.callLog(), "pull nope:1") == 2 })
	h.waitFor("timer armed", func() bool { return h.clk.HasWaiters() })
	h.clk.Step(10 * time.Second) // within 20 s: ImagePullBackOff, no pull
	h.waitFor("ImagePullBackOff", func() bool { return h.waitingReason(uid, "r") == "ImagePullBackOff" })
	if n := countCalls(h.rt.callLog(), "pull nope:1"); n != 2 {
		t.Fatalf("pulled %d times during back-off", n)
	}
	h.waitEvent("BackOff", `Back-off pulling image "nope:1"`)
	h.waitEvent("Failed", "Error: ErrImagePull")
	h.waitFor("timer armed", func() bool { return h.clk.HasWaiters() })
	h.clk.Step(10 * time.Second)
	h.waitFor("third pull", func() bool { return countCalls(h.rt.callLog(), "pull nope:1") == 3 })
}

// startAlwaysPullOffline starts a pod whose one container r has
// imagePullPolicy Always and an image that is present but whose registry
// cannot be reached.
func startAlwaysPullOffline(t *testing.T) (*harness, *corev1.Pod) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	pod.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways
	h.rt.pullErr["busybox:1.28"] = errors.New("registry unreachable")
	h.start(pod)
	return h, pod
}

// TestImageAlwaysPullFailsButPresent: with Always, a failed pull of a
// present image runs the present image and records a Warning.
func TestImageAlwaysPullFailsButPresent(t *testing.T) {
	h, _ := startAlwaysPullOffline(t)
	h.waitRunning("r")
	h.waitFor("Warning event for the failed pull", func() bool {
		for _, e := range h.sink.eventList() {
			if e.Reason == "Failed" && e.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
}

func TestPullPolicyDefault(t *testing.T) {
	for img, want := range map[string]corev1.PullPolicy{
		"busybox": corev1.PullAlways, "busybox:latest": corev1.PullAlways, "busybox:1.28": corev1.PullIfNotPresent,
		"localhost:5000/x": corev1.PullAlways, "x@sha256:abc": corev1.PullIfNotPresent,
	} {
		if got := pullPolicy(&corev1.Container{Image: img}); got != want {
			t.Errorf("%s: %s, want %s", img, got, want)
		}
	}
}

// TestImageAlwaysPullFailsButPresentRestarts: the fallback to a present
// image also holds while the pull back-off lasts. Before, the first start
// ran the present image but the restart after a liveness kill or crash
// (within the 10 s pull back-off) was refused with ImagePullBackOff,
// delaying every restart of a `:latest` container on an offline host by the
// pull back-off although the image it had just run was there.
func TestImageAlwaysPullFailsButPresentRestarts(t *testing.T) {
	h, pod := startAlwaysPullOffline(t)
	first := h.waitRunning("r")
	h.rt.exit(first, 1)
	// 1st restart: no crash back-off; the pull back-off (10 s) is running.
	h.waitFor("restarted", func() bool { id := h.rt.running("r"); return id != "" && id != first })
	if r := h.waitingReason(string(pod.UID), "r"); r == "ImagePullBackOff" {
		t.Errorf("waiting reason %s for a present image", r)
	}
	h.waitEvent("BackOff", `Back-off pulling image "busybox:1.28"`)
}
