package probes

import (
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// TestInitialDelayAndSuccessThreshold: no readiness attempt before
// initialDelaySeconds have passed since the container started, and Ready
// only after successThreshold consecutive successes (R42).
func TestInitialDelayAndSuccessThreshold(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	rp := "    readinessProbe:\n      exec:\n        command: [\"sh\", \"-c\", " + jsonString(harness.OrderMark("probe", "Ran")) + "]\n" +
		"      initialDelaySeconds: 4\n      periodSeconds: 1\n      successThreshold: 3\n"
	ps := harness.Pod{Name: "fields", Grace: 2, Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: rp}}}
	w := c.Watch("fields")
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("Ready", 60*time.Second, harness.PodReady)
	lines := c.ReadOrder("fields")
	runs := 0
	for _, l := range lines {
		if l.Name == "probe" {
			runs++
		}
	}
	if runs < 3 {
		t.Errorf("Ready after %d successful attempts, want successThreshold 3:\n%s", runs, lines)
	}
	// The container's own first line comes a moment after its start; the
	// first attempt must still be ≥ 4 s (initialDelaySeconds) later, minus
	// the start-to-echo moment (< 1 s).
	app, first := lines.Find("app Started"), lines.Find("probe Ran")
	if app < 0 || first < 0 {
		t.Fatalf("order file:\n%s", lines)
	}
	if d := lines[first].At - lines[app].At; d < 3 {
		t.Errorf("first readiness attempt %.2fs after start, want ≥ initialDelaySeconds 4 s:\n%s", d, lines)
	}
}
