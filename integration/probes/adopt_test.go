package probes

import (
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestProbesResumeAfterDaemonRestart: after podrund restarts (SIGKILL) and
// adopts the running containers without restarting them (R94), their probes
// run again: readiness still follows the file, and liveness still kills
// (R40: probing resumes for the instance).
func TestProbesResumeAfterDaemonRestart(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	rp := "    readinessProbe:\n      exec:\n        command: [\"cat\", \"/tmp/ready\"]\n      periodSeconds: 1\n      failureThreshold: 1\n" +
		"    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"test ! -f /tmp/sick\"]\n      periodSeconds: 1\n      failureThreshold: 1\n"
	ps := harness.Pod{Name: "adopt", Grace: 2, Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: rp}}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("adopt", "started", 60*time.Second, func(p *corev1.Pod) bool { return started(p, "app") })
	c.MustPodctl("exec", "adopt", "-c", "app", "--", "touch", "/tmp/ready")
	c.WaitFor("adopt", "Ready", 30*time.Second, harness.PodReady)
	if err := d.Restart(t.Context(), syscall.SIGKILL); err != nil {
		t.Fatalf("restart podrund: %v", err)
	}
	// Ready (again, if adoption reset readiness to its initial Failure, R40)…
	c.WaitFor("adopt", "Ready after the restart", 30*time.Second, harness.PodReady)
	w := c.Watch("adopt")
	w.UntilPod("watch caught up", 10*time.Second, harness.PodReady)
	// …and following the file from then on.
	c.MustPodctl("exec", "adopt", "-c", "app", "--", "rm", "/tmp/ready")
	p := untilNext(w, "not Ready after the restart", 30*time.Second, func(p *corev1.Pod) bool { return !harness.PodReady(p) })
	if restarts(p, "app") != 0 {
		t.Errorf("adoption restarted the app (R94): %s", harness.Describe(p))
	}
	c.MustPodctl("exec", "adopt", "-c", "app", "--", "touch", "/tmp/sick")
	w.UntilPod("liveness restart after the daemon restart", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
	c.WaitEvent(harness.EventFilter{Object: "adopt", Container: "app", Reason: "Killing", Message: "failed liveness probe"}, 10*time.Second)
}
