package supervisor

import (
	"context"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// TestSidecarStartupFailure_R23: a sidecar failing its startup probe is
// killed (its preStop runs) and restarted, even under Never; later
// containers never start and the pod stays Pending.
func TestSidecarStartupFailure_R23(t *testing.T) {
	probes := newFakeProbes()
	h, hooks := newHookHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar", "i"}, "r")
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{}
	withPreStop(pod, "s", 0)
	h.start(pod)
	s := h.waitRunning("s")
	probes.send(pod, "s", s, results.Startup, results.Failure)
	h.waitFor("restarted", func() bool { return h.count("start s") == 2 })
	if _, ok := hooks.started("s"); !ok {
		t.Fatal("preStop did not run on the startup-probe kill")
	}
	if !h.sink.hasEvent("Killing", "Init container s failed startup probe") {
		t.Fatal("no Killing event")
	}
	if !h.sink.hasEvent("Unhealthy", "Startup probe failed: out") {
		t.Fatal("no Unhealthy event")
	}
	if h.count("create i") != 0 || h.status(pod.UID).Phase != corev1.PodPending {
		t.Fatalf("phase %s calls %v", h.status(pod.UID).Phase, h.rt.callLog())
	}
}

// TestProbeGraceForLivenessKill_R50: a liveness kill uses the probe-level
// terminationGracePeriodSeconds (with the 2 s minimum window).
func TestProbeGraceForLivenessKill_R50(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	one := int64(1)
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{TerminationGracePeriodSeconds: &one}
	h.startRunning(pod, "r")
	probes.send(pod, "r", h.rt.running("r"), results.Liveness, results.Failure)
	h.waitFor("liveness kill", func() bool { return h.count("stop r 2s") == 1 })
	h.waitFor("restarted", func() bool { return h.count("start r") == 2 })
}

// TestReadinessNeverRestarts_R47: a readiness failure only flips Ready.
func TestReadinessNeverRestarts_R47(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	h.startRunning(pod, "r")
	r := h.rt.running("r")
	probes.send(pod, "r", r, results.Readiness, results.Success)
	h.waitFor("ready", func() bool { return h.status(pod.UID).ContainerStatuses[0].Ready })
	probes.send(pod, "r", r, results.Readiness, results.Failure)
	h.waitFor("unready", func() bool { return !h.status(pod.UID).ContainerStatuses[0].Ready })
	if h.count("stop r 30s") != 0 {
		t.Fatal("readiness failure killed the container")
	}
}

// TestDeleteDuringInit_R66: deleting while the first init container runs
// stops only what runs; the pod is gone after about the grace.
func TestDeleteDuringInit_R66(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1", "s:sidecar"}, "r")
	h.rt.term["i1"] = termBehaviour{ignore: true}
	h.start(pod)
	h.waitRunning("i1")
	base := h.clk.Now()
	g := int64(3)
	_ = h.m.Delete(context.Background(), pod.UID, &g)
	rec := h.waitFinished(pod.UID)
	if d := h.clk.Now().Sub(base); d > 4*time.Second {
		t.Fatalf("gone after %v", d)
	}
	if h.count("create s") != 0 || rec.Pod.Status.Phase != corev1.PodFailed {
		t.Fatalf("phase %s calls %v", rec.Pod.Status.Phase, h.rt.callLog())
	}
}
