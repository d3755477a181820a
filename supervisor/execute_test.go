package supervisor

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// bareWorker is a worker without its goroutine, to run execute directly.
func bareWorker(pod *corev1.Pod) (*worker, *fakeRuntime) {
	clk := clocktesting.NewFakeClock(t0)
	rt := newFakeRuntime(clk)
	m := NewManager(rt, newFakeSink(), Options{Clock: clk})
	w := newWorker(m, &PodRecord{Pod: pod})
	w.sandboxReady = true
	w.rec.Engine.SandboxAttempt = 1
	return w, rt
}

func created(rt *fakeRuntime, name string) bool {
	for _, c := range rt.callLog() {
		if c == "start "+name {
			return true
		}
	}
	return false
}

// TestPlainInitStartFailureAbortsSync_R12: a plain init container that fails
// to start aborts the sync; a sidecar's failure does not.
func TestPlainInitStartFailureAbortsSync_R12(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"i"}, "r")
	w, rt := bareWorker(pod)
	rt.createErr["i"] = &StartError{Reason: "CreateContainerConfigError", Message: "configmap \"x\" not found"}
	w.execute(context.Background(), &Plan{StartInit: []int{0}, StartRegular: []int{0}})
	if created(rt, "r") {
		t.Fatal("R12: regular started after a plain init start failure")
	}
	if wr := w.rec.Engine.Waiting["i"]; wr.Reason != "CreateContainerConfigError" {
		t.Fatalf("waiting %+v", wr)
	}
	pod = testPod(corev1.RestartPolicyAlways, []string{"s1:sidecar", "s2:sidecar"}, "r")
	w, rt = bareWorker(pod)
	rt.startErr["s1"] = errors.New("exec format error")
	w.execute(context.Background(), &Plan{StartInit: []int{0, 1}})
	if !created(rt, "s2") {
		t.Fatal("R12: a sidecar start failure must not stop the next one")
	}
	if wr := w.rec.Engine.Waiting["s1"]; wr.Reason != "RunContainerError" {
		t.Fatalf("waiting %+v", wr)
	}
}

// TestRegularStartFailureIndependent_R13: one regular container failing
// to start does not prevent the next.
func TestRegularStartFailureIndependent_R13(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b")
	w, rt := bareWorker(pod)
	rt.createErr["a"] = errors.New("no space left")
	w.execute(context.Background(), &Plan{StartRegular: []int{0, 1}})
	if !created(rt, "b") {
		t.Fatal("R13: b not started")
	}
	if wr := w.rec.Engine.Waiting["a"]; wr.Reason != "CreateContainerError" {
		t.Fatalf("waiting %+v", wr)
	}
	s := computeStatus(&statusInput{Pod: pod, State: &w.rec.Engine, SandboxReady: true, Now: t0})
	if s.ContainerStatuses[0].State.Waiting.Reason != "CreateContainerError" {
		t.Fatalf("R87: status %+v", s.ContainerStatuses[0].State)
	}
}
