package probes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestHTTPProbeRedirects: a redirect to the same host is followed (the
// target's answer decides), one to another host counts as success with a
// ProbeWarning event (R41) — against the no-shell probe server. Its image is
// :latest (pull policy Always) and cannot be pulled here: the liveness
// restart must run the present image, not wait out a pull back-off.
func TestHTTPProbeRedirects(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	get := func(kind, path string, threshold int) string {
		return probe(kind, "      httpGet:\n        path: "+jsonString(path)+"\n        port: 8080\n", threshold)
	}
	ps := harness.Pod{Name: "redir", Grace: 2, Containers: []harness.Container{{Name: "server", Image: harness.ImageNoShell,
		Extra: get("startupProbe", "/redirect?to=/healthz", 30) +
			get("readinessProbe", "/redirect?to=http://elsewhere.invalid/x", 3) +
			get("livenessProbe", "/redirect?to=/status/500", 1)}}}
	w := c.Watch("redir")
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("started and ready", 60*time.Second, func(p *corev1.Pod) bool { return started(p, "server") && ready(p, "server") })
	c.WaitEvent(harness.EventFilter{Object: "redir", Container: "server", Reason: "ProbeWarning", Message: "Probe terminated redirects"}, 20*time.Second)
	c.WaitEvent(harness.EventFilter{Object: "redir", Container: "server", Reason: "Unhealthy", Message: "Liveness probe failed: HTTP probe failed with statuscode: 500"}, 20*time.Second)
	w.UntilPod("restarted by the followed redirect's 500", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "server") >= 1 })
	for _, e := range c.EventsMatching(harness.EventFilter{Object: "redir", Container: "server", Reason: "Unhealthy"}) {
		// A first startup attempt may come before the server listens.
		if !strings.HasPrefix(e.Message, "Liveness ") && !strings.Contains(e.Message, "connection refused") {
			t.Errorf("unexpected probe failure (startup/readiness redirects must succeed): %s", e.Message)
		}
	}
}

// TestStopSignalAndSleepPreStopCutByGrace: the image's STOPSIGNAL
// replaces SIGTERM, and lifecycle.stopSignal is dropped as the v1.37 API
// server drops it (the ContainerStopSignals gate is off); a preStop sleep
// longer than the deletion's grace is cut short at the grace, then the
// stop signal follows (R56, R58).
func TestStopSignalAndSleepPreStopCutByGrace(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	app := []string{"sh", "-c", harness.OrderMark("app", "Started") + "; trap " + shq(harness.OrderMark("app", "TERM")+"; exit 1") + " TERM; trap " +
		shq(harness.OrderMark("app", "USR1")+"; exit 0") + " USR1; trap " + shq(harness.OrderMark("app", "USR2")+"; exit 2") +
		" USR2; while true; do sleep 1 & wait $!; done"}
	// The image says SIGUSR1; the dropped field would have said SIGUSR2.
	hook := "    lifecycle:\n      stopSignal: SIGUSR2\n      preStop:\n        sleep:\n          seconds: 40\n"
	ps := harness.Pod{Name: "stopsig", Grace: 60, Containers: []harness.Container{{Name: "app", Image: harness.ImageStopSignal,
		Command: app, Extra: hook}}}
	yaml := ps.YAML(c.HostDir)
	yaml = yaml[:len("apiVersion: v1\nkind: Pod\nmetadata:\n  name: stopsig\nspec:\n")] + "  os:\n    name: linux\n" +
		yaml[len("apiVersion: v1\nkind: Pod\nmetadata:\n  name: stopsig\nspec:\n"):]
	c.Apply(yaml)
	if l := c.GetPod("stopsig").Spec.Containers[0].Lifecycle; l == nil || l.StopSignal != nil || l.PreStop == nil {
		t.Errorf("stored lifecycle %+v, want the preStop and no stopSignal", l)
	}
	c.WaitFor("stopsig", "running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "app") })
	c.WaitOrder("stopsig", 15*time.Second, "app Started")
	begin := time.Now()
	final := c.DeleteAndWait("stopsig", "--grace-period", "3")
	took := time.Since(begin)
	lines := c.ReadOrder("stopsig")
	if lines.Find("app USR1") < 0 || lines.Find("app TERM") >= 0 || lines.Find("app USR2") >= 0 {
		t.Errorf("want the image's STOPSIGNAL SIGUSR1, not SIGTERM or the dropped SIGUSR2:\n%s", lines)
	}
	if s := terminated(final, "app"); s == nil || s.ExitCode != 0 {
		t.Errorf("app %s, want exit 0 from the USR1 trap", harness.Describe(final))
	}
	// The 40 s sleep hook is cut at the 3 s grace.
	if took < 3*time.Second-500*time.Millisecond || took > 20*time.Second {
		t.Errorf("delete took %v, want ≈ the 3 s grace (preStop sleep 40 s cut, R56)", took)
	}
}
