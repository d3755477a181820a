package supervisor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestEvict_R71: an evicted pod gets a Warning event Evicted with the
// message, its app is stopped before its sidecar with the 1 s eviction
// grace (each still gets the 2 s minimum window, R61), it ends Failed
// with reason Evicted and the message although restartPolicy is Always
// and the containers exited on their signal, and nothing restarts.
func TestEvict_R71(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	msg := `Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `
	if err := h.m.Evict(context.Background(), pod.UID, msg); err != nil {
		t.Fatal(err)
	}
	h.waitPhase(pod.UID, corev1.PodFailed)
	st := h.status(pod.UID)
	if st.Reason != "Evicted" || st.Message != msg {
		t.Fatalf("status reason %q message %q, want Evicted and the message", st.Reason, st.Message)
	}
	// The kubelet's local storage evictions (emptyDirLimitEviction and the
	// two ephemeral-storage ones) pass no condition to evictPod, unlike its
	// node-pressure evictions: no DisruptionTarget, so a Job's
	// podFailurePolicy onPodConditions rule on it does not match here either.
	for _, c := range st.Conditions {
		if c.Type == corev1.DisruptionTarget {
			t.Errorf("condition %+v: the kubelet sets none for a local storage limit", c)
		}
	}
	h.waitEvent("Evicted", msg)
	h.waitFor("sandbox removed", func() bool { return h.count("remove-sandbox") == 1 })
	calls := h.rt.callLog()
	app, side := slices.Index(calls, "stop r 2s"), slices.Index(calls, "stop s 2s")
	if app < 0 || side < 0 || side < app {
		t.Errorf("stops: want the app's, then the sidecar's, each with the 2 s minimum window; calls %v", calls)
	}
	h.clk.Step(time.Minute)
	h.settle()
	if h.count("start r") != 1 || h.count("start s") != 1 {
		t.Errorf("restarted after the eviction: %v", h.rt.callLog())
	}
	// A second eviction (or any later one) changes nothing.
	if err := h.m.Evict(context.Background(), pod.UID, "again"); err == nil {
		h.settle()
	}
	if got := h.status(pod.UID).Message; got != msg {
		t.Errorf("message after a second eviction %q", got)
	}
	if n := strings.Count(strings.Join(eventReasons(h.sink), ","), "Evicted"); n != 1 {
		t.Errorf("%d Evicted events, want 1", n)
	}
}

// TestEvictUnknownPod: evicting a pod the engine does not run is an error.
func TestEvictUnknownPod(t *testing.T) {
	h := newHarness(t, Options{})
	if err := h.m.Evict(context.Background(), "nope", "x"); !errors.Is(err, ErrPodNotFound) {
		t.Fatalf("err %v", err)
	}
}

func eventReasons(s *fakeSink) []string {
	var out []string
	for _, e := range s.eventList() {
		out = append(out, e.Reason)
	}
	return out
}
