package supervisor

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// outageEvents returns the pod-level outage events recorded about pod, in
// the order the engine recorded them, as "Type Reason".
func (h *harness) outageEvents(pod string) []string {
	var out []string
	for _, e := range h.sink.eventList() {
		if e.InvolvedObject.Name == pod &&
			(e.Reason == ReasonRuntimeUnavailable || e.Reason == ReasonRuntimeAvailable) {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}

func (h *harness) outageMessage(pod, reason string) string {
	for _, e := range h.sink.eventList() {
		if e.InvolvedObject.Name == pod && e.Reason == reason {
			return e.Message
		}
	}
	return ""
}

func namedPod(name string, policy corev1.RestartPolicy, inits []string, regulars ...string) *corev1.Pod {
	pod := testPod(policy, inits, regulars...)
	pod.Name = name
	pod.UID = types.UID("uid-" + name)
	return pod
}

// TestRuntimeOutageEvents (R99): a lost containerd connection
// gives every pod with a running engine one Warning per outage (repeated
// Disconnected while down add nothing; a finished pod gets none; a pod
// started during the outage gets it too), and the reconnect one Normal
// event naming the outage's length, after which nothing was restarted.
func TestRuntimeOutageEvents(t *testing.T) {
	h := newHarness(t, Options{})
	a := namedPod("a", corev1.RestartPolicyAlways, []string{"as:sidecar"}, "ar")
	b := namedPod("b", corev1.RestartPolicyAlways, nil, "br")
	done := namedPod("done", corev1.RestartPolicyNever, nil, "dr")
	h.startRunning(a, "as", "ar")
	h.startRunning(b, "br")
	h.start(done)
	h.rt.exit(h.waitRunning("dr"), 0)
	h.waitPhase(done.UID, corev1.PodSucceeded)
	h.waitFor("done's engine ended", func() bool { return !running(h.m.worker(done.UID)) })
	mark := len(h.rt.callLog())

	lost := "rpc error: code = Unavailable desc = connection refused"
	h.rt.events <- RuntimeEvent{Kind: EventDisconnected, Message: lost}
	h.rt.events <- RuntimeEvent{Kind: EventDisconnected, Message: "retry failed again"}
	h.waitFor("warnings", func() bool { return len(h.outageEvents("a")) > 0 && len(h.outageEvents("b")) > 0 })
	late := namedPod("late", corev1.RestartPolicyAlways, nil, "lr")
	h.start(late)
	h.waitFor("late pod warned", func() bool { return len(h.outageEvents("late")) > 0 })
	want := "containerd is unreachable: " + lost
	for _, p := range []string{"a", "b", "late"} {
		if msg := h.outageMessage(p, ReasonRuntimeUnavailable); !strings.HasPrefix(msg, want) {
			t.Errorf("pod %s: Warning message %q, want it to start with %q", p, msg, want)
		}
	}

	h.clk.Step(10200 * time.Millisecond)
	h.rt.events <- RuntimeEvent{Kind: EventReconnected}
	h.waitFor("reconnect events", func() bool {
		return len(h.outageEvents("a")) == 2 && len(h.outageEvents("b")) == 2 && len(h.outageEvents("late")) == 2
	})
	h.settle()
	for _, p := range []string{"a", "b", "late"} {
		got := strings.Join(h.outageEvents(p), ", ")
		if got != "Warning "+ReasonRuntimeUnavailable+", Normal "+ReasonRuntimeAvailable {
			t.Errorf("pod %s: outage events %q, want one Warning then one Normal", p, got)
		}
	}
	if msg := h.outageMessage("a", ReasonRuntimeAvailable); msg != "containerd is reachable again after 10.2s; re-observing containers" {
		t.Errorf("Normal message %q", msg)
	}
	if got := h.outageEvents("done"); len(got) != 0 {
		t.Errorf("finished pod got outage events %v", got)
	}
	for _, c := range h.rt.callsSince(mark) {
		if strings.HasPrefix(c, "stop ") || (strings.HasPrefix(c, "create ") && c != "create lr") {
			t.Errorf("outage caused %q; calls since: %v", c, h.rt.callsSince(mark))
		}
	}
	for _, p := range []*corev1.Pod{a, b} {
		for _, cs := range append(h.status(p.UID).InitContainerStatuses, h.status(p.UID).ContainerStatuses...) {
			if cs.RestartCount != 0 || cs.State.Running == nil {
				t.Errorf("pod %s container %s after the outage: restarts %d, state %+v", p.Name, cs.Name, cs.RestartCount, cs.State)
			}
		}
	}

	// A second outage is a new Warning (one per outage, not one ever).
	h.rt.events <- RuntimeEvent{Kind: EventDisconnected, Message: lost}
	h.waitFor("second warning", func() bool { return len(h.outageEvents("b")) == 3 })
}
