package harness

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestEventFilterMatches(t *testing.T) {
	e := corev1.Event{
		InvolvedObject: corev1.ObjectReference{Name: "live", FieldPath: "spec.containers{app}"},
		Type:           corev1.EventTypeWarning, Reason: "Unhealthy", Message: "Liveness probe failed: not-alive",
	}
	for _, tc := range []struct {
		f    EventFilter
		want bool
	}{
		{EventFilter{}, true},
		{EventFilter{Object: "live", Container: "app", Type: "Warning", Reason: "Unhealthy", Message: "not-alive"}, true},
		{EventFilter{Object: "other"}, false},
		{EventFilter{Container: "ap"}, false},
		{EventFilter{Type: "Normal"}, false},
		{EventFilter{Reason: "Killing"}, false},
		{EventFilter{Message: "readiness"}, false},
	} {
		if got := tc.f.Matches(e); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.f, got, tc.want)
		}
	}
}
