package app

import (
	"testing"

	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/probe"
)

// Every field of a probe update reaches the engine: a failed attempt below
// the threshold (Unhealthy event) and a warning (ProbeWarning) included.
func TestEngineUpdateKeepsEveryField(t *testing.T) {
	in := probe.Update{PodUID: "u", Container: "c", InstanceID: "i", Kind: probe.Readiness,
		Result: probe.Success, Output: "out", Warning: true, Failed: true}
	got := engineUpdate(in)
	want := supervisor.ProbeUpdate{PodUID: "u", Container: "c", InstanceID: "i", Kind: supervisor.ProbeReadiness,
		Result: supervisor.ProbeSuccess, Output: "out", Warning: true, Failed: true}
	if got != want {
		t.Fatalf("engineUpdate = %+v, want %+v", got, want)
	}
	for r, want := range map[probe.Result]supervisor.ProbeResult{probe.Unknown: supervisor.ProbeUnknown,
		probe.Success: supervisor.ProbeSuccess, probe.Failure: supervisor.ProbeFailure} {
		if got := probeResult(r); got != want {
			t.Errorf("probeResult(%v) = %v, want %v", r, got, want)
		}
	}
}
