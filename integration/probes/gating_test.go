package probes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestSidecarStartupProbeGatesLaterContainers: a sidecar with a startup
// probe counts as started only once the probe passes; the next init
// container and the app are not created before that (R43, R45, X2). Its
// readiness probe (period 30 s) is run again at once when it becomes started,
// so the pod is Ready long before the next period tick (R44).
func TestSidecarStartupProbeGatesLaterContainers(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// The sidecar makes its probe pass only after 3 s; the probe command logs
	// the moment it first succeeds. FileReady is marked before the touch:
	// marked after it, a probe run between the two wrote ProbePassed first.
	scScript := harness.OrderMark("sc", "Started") + "; sleep 3; " + harness.OrderMark("sc", "FileReady") + "; touch /tmp/ok" +
		"; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
	startup := "    startupProbe:\n      exec:\n        command: [\"sh\", \"-c\", " +
		jsonString("test -f /tmp/ok && "+harness.OrderMark("sc", "ProbePassed")) + "]\n      periodSeconds: 1\n      failureThreshold: 60\n"
	readiness := "    readinessProbe:\n      exec:\n        command: [\"true\"]\n      periodSeconds: 30\n"
	ps := harness.Pod{Name: "gate", Grace: 2,
		Inits: []harness.Container{
			{Name: "sc", Sidecar: true, Command: []string{"sh", "-c", scScript}, Extra: startup + readiness},
			{Name: "init2", Command: []string{"sh", "-c", harness.OrderMark("init2", "Started")}},
		},
		Containers: []harness.Container{{Name: "app", Command: forever("app")}},
	}
	w := c.Watch("gate")
	c.Apply(ps.YAML(c.HostDir))
	p := w.UntilPod("app running", 90*time.Second, func(p *corev1.Pod) bool { return running(p, "app") })
	appRunningAt := time.Now()
	lines := c.WaitOrder("gate", 15*time.Second, "app Started")
	harness.ExpectOrder(t, lines, "sc Started", "sc FileReady", "sc ProbePassed", "init2 Started", "app Started")

	for _, ev := range w.History() {
		if started(ev.Pod, "sc") {
			continue
		}
		for _, name := range []string{"init2", "app"} {
			if s := status(ev.Pod, name); s != nil && (s.State.Running != nil || s.State.Terminated != nil) {
				t.Errorf("%s created before the sidecar's startup probe passed: %s", name, harness.Describe(ev.Pod))
			}
		}
	}
	sc, init2, app := status(p, "sc"), status(p, "init2"), status(p, "app")
	if sc.State.Running == nil || init2.State.Terminated == nil || app.State.Running == nil {
		t.Fatalf("unexpected states: %s", harness.Describe(p))
	}
	// Container timestamps have one-second resolution; the sidecar ran ≥ 3 s
	// before its probe could pass.
	if !init2.State.Terminated.StartedAt.After(sc.State.Running.StartedAt.Time) {
		t.Errorf("init2 startedAt %v not after sidecar startedAt %v", init2.State.Terminated.StartedAt, sc.State.Running.StartedAt)
	}
	if app.State.Running.StartedAt.Before(&init2.State.Terminated.FinishedAt) {
		t.Errorf("app startedAt %v before init2 finished %v", app.State.Running.StartedAt, init2.State.Terminated.FinishedAt)
	}
	// R44: ready long before the readiness period (30 s) would tick again.
	p = w.UntilPod("pod Ready", 20*time.Second, harness.PodReady)
	if time.Since(appRunningAt) > 20*time.Second || !ready(p, "sc") {
		t.Errorf("sidecar not ready soon after started (R44): %s", harness.Describe(p))
	}
	if n := strings.Count(c.ReadHostFile("gate/order.log"), "sc ProbePassed"); n != 1 {
		t.Errorf("startup probe passed %d times; it must stop once the container is started (R43)", n)
	}
}
