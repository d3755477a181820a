package supervisor

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestWorker_EndToEnd_R16_R26_R72: serial init, sidecar gate, regular
// start, then Job-style completion stops the sidecar and the pod succeeds.
func TestWorker_EndToEnd_R16_R26_R72(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"i1", "s:sidecar"}, "r")
	h.start(pod)
	i1 := h.waitRunning("i1")
	if h.rt.running("s") != "" {
		t.Fatal("R16: sidecar started before the init container exited")
	}
	h.waitPhase(pod.UID, corev1.PodPending)
	h.rt.exit(i1, 0)
	h.waitRunning("s")
	r := h.waitRunning("r")
	h.waitPhase(pod.UID, corev1.PodRunning)
	h.rt.exit(r, 0)
	h.waitPhase(pod.UID, corev1.PodSucceeded)
	st := h.status(pod.UID)
	if got := st.InitContainerStatuses[1].State.Terminated; got == nil || got.ExitCode != 143 {
		t.Fatalf("sidecar final state %+v", st.InitContainerStatuses[1].State)
	}
	// The reap of r runs while the sidecar's kill goroutine signals it, so
	// reaps are checked apart: each exited instance once, all before the
	// sandbox goes.
	want := []string{"sandbox 1", "create i1", "start i1", "exit i1 0", "create s", "start s", "create r", "start r",
		"exit r 0", "stop s 30s", "exit s 143", "remove-sandbox"}
	calls := h.rt.callLog()
	var got []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "reap ") {
			got = append(got, c)
		}
	}
	if !equalStrings(got, want) {
		t.Fatalf("calls\n got %v\nwant %v", got, want)
	}
	for _, n := range []string{"i1", "r", "s"} {
		if countCalls(calls, "reap "+n) != 1 || indexOf(calls, "reap "+n) > indexOf(calls, "remove-sandbox") {
			t.Fatalf("reap of %s: calls %v", n, calls)
		}
	}
}

func indexOf(calls []string, call string) int {
	for i, c := range calls {
		if c == call {
			return i
		}
	}
	return -1
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
