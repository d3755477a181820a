package supervisor

import (
	"testing"
	"time"
)

// TestBackoffClockJumps_R35: the back-off is computed from wall-clock
// times that carry no monotonic reading (an exit time from containerd, a
// stored LastUpdate). A wall clock that jumps forward (NTP on a device that
// booted in the past) ends the wait; one that jumps back never makes a
// container wait longer than its back-off.
func TestBackoffClockJumps_R35(t *testing.T) {
	exit := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	entries := map[string]BackoffEntry{"app/h": {Backoff: 40 * time.Second, LastUpdate: exit.Add(-time.Minute)}}

	if in, _, until := inBackoffSince(entries, "app/h", exit, exit.Add(10*time.Second)); !in || !until.Equal(exit.Add(40*time.Second)) {
		t.Fatalf("steady clock: in %v until %v, want in back-off until exit+40s", in, until)
	}
	for _, jump := range []time.Duration{-time.Second, -time.Hour, -3 * 365 * 24 * time.Hour} {
		in, _, until := inBackoffSince(entries, "app/h", exit, exit.Add(jump))
		if in {
			t.Errorf("clock set back %v: still in back-off until %v (a wait of %v)", jump, until, until.Sub(exit.Add(jump)))
		}
	}
	for _, jump := range []time.Duration{time.Hour, 3 * 365 * 24 * time.Hour} {
		if in, _, _ := inBackoffSince(entries, "app/h", exit, exit.Add(jump)); in {
			t.Errorf("clock set forward %v: still in back-off", jump)
		}
	}

	// Image pulls: the wait runs from the last failure (LastUpdate).
	pulls := map[string]BackoffEntry{"img": {Backoff: 20 * time.Second, LastUpdate: exit}}
	if in, until := inBackoffSinceUpdate(pulls, "img", exit.Add(5*time.Second)); !in || !until.Equal(exit.Add(20*time.Second)) {
		t.Fatalf("pull, steady clock: in %v until %v", in, until)
	}
	for _, jump := range []time.Duration{-time.Second, -3 * 365 * 24 * time.Hour, 3 * 365 * 24 * time.Hour} {
		if in, until := inBackoffSinceUpdate(pulls, "img", exit.Add(jump)); in {
			t.Errorf("pull, clock moved %v: still in back-off until %v", jump, until)
		}
	}
}
