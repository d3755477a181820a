package probes

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestLivenessRestartsWithBackOff: a liveness probe that always fails kills
// the container again and again (Unhealthy, Killing); between restarts the
// container waits in CrashLoopBackOff and the waits grow (R35, R47).
func TestLivenessRestartsWithBackOff(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	live := "    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"echo not-alive; exit 1\"]\n" +
		"      periodSeconds: 1\n      failureThreshold: 1\n"
	ps := harness.Pod{Name: "live", Grace: 2, Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: live}}}
	w := c.Watch("live")
	c.Apply(ps.YAML(c.HostDir))
	p := w.UntilPod("restartCount 3", 150*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 3 })

	// CrashLoopBackOff seen while restartCount was 1 and while it was 2,
	// i.e. between the 1st→2nd and 2nd→3rd restarts.
	backOffAt := map[int32]bool{}
	for _, ev := range w.History() {
		if waitingReason(ev.Pod, "app") == "CrashLoopBackOff" {
			backOffAt[restarts(ev.Pod, "app")] = true
		}
	}
	if !backOffAt[1] || !backOffAt[2] {
		t.Errorf("CrashLoopBackOff not seen between restarts (seen at restartCount %v)", backOffAt)
	}
	ev := c.WaitEvent(harness.EventFilter{Object: "live", Container: "app", Reason: "Unhealthy", Message: "Liveness probe failed: not-alive"}, 10*time.Second)
	if ev.Type != corev1.EventTypeWarning {
		t.Errorf("Unhealthy event type %s, want Warning", ev.Type)
	}
	c.WaitEvent(harness.EventFilter{Object: "live", Container: "app", Reason: "Killing", Message: "Container app failed liveness probe, will be restarted"}, 10*time.Second)
	c.WaitEvent(harness.EventFilter{Object: "live", Container: "app", Reason: "BackOff", Message: "Back-off restarting failed container app"}, 10*time.Second)
	if last := status(p, "app").LastTerminationState.Terminated; last == nil {
		t.Errorf("no lastState after liveness kills: %s", harness.Describe(p))
	}
	// Each instance logged Started; the wait before the 3rd start (20 s
	// back-off) exceeds the one before the 2nd (10 s).
	// The 4th instance may not have written its line yet when its status
	// was published.
	var at []float64
	harness.Eventually(t, 15*time.Second, func() string {
		lines := c.ReadOrder("live")
		at = at[:0]
		for _, l := range lines {
			if l.Name == "app" && l.Event == "Started" {
				at = append(at, l.At)
			}
		}
		if len(at) >= 4 {
			return ""
		}
		return fmt.Sprintf("want ≥ 4 instances started, order file:\n%s", lines)
	})
	if d1, d2 := at[2]-at[1], at[3]-at[2]; d2 <= d1 {
		t.Errorf("back-off did not grow: %.1fs then %.1fs between starts", d1, d2)
	}
}

// TestReadinessFlipsPodReadyBothWays: readiness follows a file toggled with
// podctl exec: not Ready → Ready → not Ready → Ready, no restart (R46–R48).
func TestReadinessFlipsPodReadyBothWays(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	rp := "    readinessProbe:\n      exec:\n        command: [\"cat\", \"/tmp/ready\"]\n      periodSeconds: 1\n      failureThreshold: 1\n"
	ps := harness.Pod{Name: "flip", Grace: 2, Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: rp}}}
	w := c.Watch("flip")
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("app started", 60*time.Second, func(p *corev1.Pod) bool { return started(p, "app") })
	c.WaitEvent(harness.EventFilter{Object: "flip", Container: "app", Reason: "Unhealthy", Message: "Readiness probe failed"}, 20*time.Second)
	if p := c.GetPod("flip"); harness.PodReady(p) || ready(p, "app") {
		t.Fatalf("Ready before the file exists: %s", harness.Describe(p))
	}
	toggle := func(cmd ...string) {
		c.MustPodctl(append([]string{"exec", "flip", "-c", "app", "--"}, cmd...)...)
	}
	containersReady := func(p *corev1.Pod) bool { return harness.ConditionTrue(p, corev1.ContainersReady) }
	toggle("touch", "/tmp/ready")
	untilNext(w, "Ready", 30*time.Second, func(p *corev1.Pod) bool { return harness.PodReady(p) && containersReady(p) && ready(p, "app") })
	toggle("rm", "/tmp/ready")
	p := untilNext(w, "not Ready", 30*time.Second, func(p *corev1.Pod) bool { return !harness.PodReady(p) && !containersReady(p) })
	if cd := harness.PodCondition(p, corev1.PodReady); cd == nil || cd.Reason != "ContainersNotReady" {
		t.Errorf("Ready condition %+v, want reason ContainersNotReady", cd)
	}
	toggle("touch", "/tmp/ready")
	p = untilNext(w, "Ready again", 30*time.Second, harness.PodReady)
	if restarts(p, "app") != 0 {
		t.Errorf("readiness changes restarted the container: %s", harness.Describe(p))
	}
	c.WantPodsRow("", "flip", "1/1")
}
