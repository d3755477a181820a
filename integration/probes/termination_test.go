package probes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestProbesDuringTermination: once the pod is terminating, liveness stops
// (a liveness probe that would fail during the preStop does not kill) while
// readiness goes on (R49, R68).
func TestProbesDuringTermination(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	extra := execHook("preStop", "touch /tmp/term; "+harness.OrderMark("app", "PreStopBegin")+"; sleep 4; "+harness.OrderMark("app", "PreStopEnd")) +
		"    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"test ! -f /tmp/term\"]\n      periodSeconds: 1\n      failureThreshold: 1\n" +
		"    readinessProbe:\n      exec:\n        command: [\"sh\", \"-c\", " + jsonString("test ! -f /tmp/term || "+harness.OrderMark("app", "ReadinessWhileTerminating")) + "]\n      periodSeconds: 1\n"
	ps := harness.Pod{Name: "term", Grace: 10, Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: extra}}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("term", "Ready", 60*time.Second, harness.PodReady)
	final := c.DeleteAndWait("term")
	lines := c.ReadOrder("term")
	harness.ExpectOrder(t, lines, "app PreStopBegin", "app ReadinessWhileTerminating", "app PreStopEnd")
	for _, e := range c.EventsMatching(harness.EventFilter{Object: "term", Container: "app"}) {
		if strings.HasPrefix(e.Message, "Liveness probe failed") || strings.Contains(e.Message, "failed liveness probe") {
			t.Errorf("liveness ran during termination (R49): %s %s", e.Reason, e.Message)
		}
	}
	if s := terminated(final, "app"); s == nil || s.ExitCode != 0 || restarts(final, "app") != 0 {
		t.Errorf("app %s, want exit 0 after the preStop, no restart", harness.Describe(final))
	}
}

// TestSidecarPreStopStartsWithTermination: a sidecar's preStop begins when
// the pod starts terminating, while the app's own preStop still runs; the
// sidecar gets its stop signal only after the app has exited (R57, R63).
func TestSidecarPreStopStartsWithTermination(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	trap := func(name string) []string {
		return []string{"sh", "-c", harness.OrderMark(name, "Started") + "; trap " + shq(harness.OrderMark(name, "TERM")+"; exit 0") +
			" TERM; while true; do sleep 1 & wait $!; done"}
	}
	ps := harness.Pod{Name: "scstop", Grace: 15,
		Inits: []harness.Container{{Name: "sc", Sidecar: true, Command: trap("sc"), Extra: execHook("preStop", harness.OrderMark("sc", "PreStop"))}},
		Containers: []harness.Container{{Name: "app", Command: trap("app"),
			Extra: execHook("preStop", harness.OrderMark("app", "PreStopBegin")+"; sleep 3; "+harness.OrderMark("app", "PreStopEnd"))}},
	}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("scstop", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("scstop", 15*time.Second, "app Started", "sc Started")
	final := c.DeleteAndWait("scstop")
	lines := c.ReadOrder("scstop")
	harness.ExpectOrder(t, lines, "sc PreStop", "app PreStopEnd", "app TERM", "sc TERM")
	harness.ExpectOrder(t, lines, "app PreStopBegin", "app PreStopEnd", "app TERM")
	if final.Status.Phase != corev1.PodSucceeded {
		t.Errorf("phase %s, want Succeeded (app exit 0 on TERM, R69)", final.Status.Phase)
	}
}

// TestPreStopNotRunForExitedContainer: a container that exited on its own is
// not killed at deletion, so its preStop never runs (R55).
func TestPreStopNotRunForExitedContainer(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "exited", RestartPolicy: "Never", Grace: 5, Containers: []harness.Container{
		{Name: "done", Command: []string{"sh", "-c", harness.OrderMark("done", "Exiting")}, Extra: execHook("preStop", harness.OrderMark("done", "PreStop"))},
		{Name: "app", Command: forever("app"), Extra: execHook("preStop", harness.OrderMark("app", "PreStop"))},
	}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("exited", "done exited, app running", 60*time.Second, func(p *corev1.Pod) bool {
		return terminated(p, "done") != nil && running(p, "app")
	})
	c.DeleteAndWait("exited")
	lines := c.ReadOrder("exited")
	if lines.Find("app PreStop") < 0 {
		t.Errorf("the running app's preStop did not run:\n%s", lines)
	}
	if lines.Find("done PreStop") >= 0 {
		t.Errorf("preStop ran for a container that had already exited (R55):\n%s", lines)
	}
}

// TestProbeLevelGraceAndExecTimeout: a liveness kill uses the probe's
// terminationGracePeriodSeconds, not the pod's 60 s, for a container that
// ignores TERM (R50); an exec readiness probe exceeding timeoutSeconds is a
// failure (R41).
func TestProbeLevelGraceAndExecTimeout(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ignore := []string{"sh", "-c", harness.OrderMark("app", "Started") + "; trap '' TERM; while true; do sleep 1 & wait $!; done"}
	live := "    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"test ! -f /tmp/sick\"]\n" +
		"      periodSeconds: 1\n      failureThreshold: 1\n      terminationGracePeriodSeconds: 1\n"
	slow := "    readinessProbe:\n      exec:\n        command: [\"sleep\", \"5\"]\n      timeoutSeconds: 1\n      periodSeconds: 2\n"
	ps := harness.Pod{Name: "pgrace", Grace: 60, Containers: []harness.Container{
		{Name: "app", Command: ignore, Extra: live},
		{Name: "slow", Command: forever("slow"), Extra: slow},
	}}
	w := c.Watch("pgrace")
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("app running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "app") && running(p, "slow") })
	c.MustPodctl("exec", "pgrace", "-c", "app", "--", "touch", "/tmp/sick")
	// With the pod's 60 s grace the restart would take a minute; the probe's
	// 1 s (+ the 2 s minimum window) makes it quick.
	p := untilNext(w, "app restarted", 30*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
	if last := status(p, "app").LastTerminationState.Terminated; last == nil || last.ExitCode != 137 {
		t.Errorf("app lastState %+v, want SIGKILLed 137", last)
	}
	c.WaitEvent(harness.EventFilter{Object: "pgrace", Container: "slow", Reason: "Unhealthy", Message: "timed out"}, 20*time.Second)
	if p := c.GetPod("pgrace"); ready(p, "slow") {
		t.Errorf("slow ready although its probe times out: %s", harness.Describe(p))
	}
	c.DeleteAndWait("pgrace", "--grace-period", "1")
}
