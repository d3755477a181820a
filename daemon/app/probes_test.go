package app

import (
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/supervisor/probe/results"
)

type probeCount struct {
	metrics.Nop
	seen []string
}

func (c *probeCount) ObserveProbe(kind, result string, _ time.Duration) {
	c.seen = append(c.seen, kind+" "+result)
}

// A failed attempt below the failure threshold (the worker's result still
// Success) is counted as a Failure, as an Unhealthy event is recorded.
func TestObserveProbeCountsFailedAttempts(t *testing.T) {
	var c probeCount
	observe := observeProbe(&c)
	observe(results.Update{Kind: results.Readiness, Result: results.Success})
	observe(results.Update{Kind: results.Liveness, Result: results.Success, Failed: true})
	observe(results.Update{Kind: results.Startup, Result: results.Failure})
	want := []string{"Readiness Success", "Liveness Failure", "Startup Failure"}
	if len(c.seen) != len(want) {
		t.Fatalf("observed %q, want %q", c.seen, want)
	}
	for i := range want {
		if c.seen[i] != want[i] {
			t.Errorf("observation %d: %q, want %q", i, c.seen[i], want[i])
		}
	}
}
