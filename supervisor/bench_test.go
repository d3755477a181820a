package supervisor

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkComputeActions measures the pure planner on a running pod with
// an init container, a sidecar and two regular containers.
func BenchmarkComputeActions(b *testing.B) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"i", "s:sidecar"}, "r", "q")
	st := &EngineState{SandboxAttempt: 1, Started: map[string]bool{"s-id": true}, Instances: []Instance{
		inst(pod, "i", InstanceExited, 0), inst(pod, "s", InstanceRunning, 0), inst(pod, "r", InstanceRunning, 0), inst(pod, "q", InstanceRunning, 0)}}
	in := &planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(time.Minute)}
	b.ReportAllocs()
	for b.Loop() {
		_ = computeActions(in)
	}
}

// BenchmarkComputeStatus measures one status computation for the same pod.
func BenchmarkComputeStatus(b *testing.B) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"i", "s:sidecar"}, "r", "q")
	st := &EngineState{SandboxAttempt: 1, Initialized: true, Started: map[string]bool{"s-id": true}, Instances: []Instance{
		inst(pod, "i", InstanceExited, 0), inst(pod, "s", InstanceRunning, 0), inst(pod, "r", InstanceRunning, 0), inst(pod, "q", InstanceRunning, 0)}}
	in := &statusInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(time.Minute)}
	b.ReportAllocs()
	for b.Loop() {
		_ = computeStatus(in)
	}
}
