package supervisor

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPullProgressInWaitingMessage: while the worker is blocked in a pull,
// its bytes show as the container's waiting message (throttled); a report
// after the pull returned is dropped, and the next status clears it.
func TestPullProgressInWaitingMessage(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.Containers[0].Image = "big:1"
	var late PullProgress
	var seen []string
	h.rt.mu.Lock()
	h.rt.onPull = func(progress PullProgress) {
		progress(12_300_000, 40_000_000)
		seen = append(seen, h.waitingMessage(pod, "app"))
		progress(20_000_000, 40_000_000) // within a second: not written
		seen = append(seen, h.waitingMessage(pod, "app"))
		h.clk.Step(pullReportEvery)
		progress(40_000_000, 40_000_000)
		seen = append(seen, h.waitingMessage(pod, "app"))
		late = progress
	}
	h.rt.mu.Unlock()
	h.start(pod)
	h.waitRunning("app")
	want := []string{`Pulling image "big:1": 12.3 MB of 40.0 MB`, `Pulling image "big:1": 12.3 MB of 40.0 MB`,
		`Pulling image "big:1": 40.0 MB of 40.0 MB`}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", seen, want)
	}
	h.waitFor("running status", func() bool {
		st := h.status(pod.UID)
		return len(st.ContainerStatuses) == 1 && st.ContainerStatuses[0].State.Running != nil
	})
	h.clk.Step(time.Minute)
	late(1, 2)
	if st := h.status(pod.UID); st.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("a report after the pull overwrote the status: %+v", st.ContainerStatuses[0].State)
	}
}

func (h *harness) waitingMessage(pod *corev1.Pod, name string) string {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	if h.sink.last == nil {
		return ""
	}
	for _, cs := range h.sink.last.Pod.Status.ContainerStatuses {
		if cs.Name == name && cs.State.Waiting != nil {
			return cs.State.Waiting.Message
		}
	}
	return ""
}

func TestPullMessageWithoutTotal(t *testing.T) {
	if got := pullMessage("x:1", 1_500_000, 0); got != `Pulling image "x:1": 1.5 MB` {
		t.Fatal(got)
	}
}
