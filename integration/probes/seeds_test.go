package probes

import (
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestSeed08BackOffGrows extends integration's TestSeed08SidecarLivenessFails
// (restarts, events, app untouched) with what its comment also promises:
// the back-off between the sidecar's liveness restarts grows
// (CrashLoopBackOff, 10 s then 20 s) while the app keeps running throughout
// (R19, R35, R47). Seed 09 is fully covered there.
func TestSeed08BackOffGrows(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	w := c.Watch("sidecar-liveness")
	c.ApplyFile(filepath.Join(env.Seeds, "08-sidecar-liveness-fails.yaml"))
	w.UntilPod("sidecar restartCount 3", 150*time.Second, func(p *corev1.Pod) bool { return restarts(p, "sidecar") >= 3 })
	startedAt := map[int32]time.Time{} // sidecar restartCount → its instance's start
	backOff := map[int32]bool{}
	appSeen := false
	for _, ev := range w.History() {
		n := restarts(ev.Pod, "sidecar")
		if s := status(ev.Pod, "sidecar"); s != nil && s.State.Running != nil {
			startedAt[n] = s.State.Running.StartedAt.Time
		}
		if waitingReason(ev.Pod, "sidecar") == "CrashLoopBackOff" {
			backOff[n] = true
		}
		if running(ev.Pod, "app") {
			appSeen = true
		} else if appSeen || restarts(ev.Pod, "app") != 0 {
			t.Errorf("app stopped while the sidecar restarts: %s", harness.Describe(ev.Pod))
			break
		}
	}
	if !backOff[1] || !backOff[2] {
		t.Errorf("sidecar CrashLoopBackOff not seen between restarts (at restartCount %v)", backOff)
	}
	s1, s2, s3 := startedAt[1], startedAt[2], startedAt[3]
	if s1.IsZero() || s2.IsZero() || s3.IsZero() {
		t.Fatalf("missing instance starts %v", startedAt)
	}
	if d1, d2 := s2.Sub(s1), s3.Sub(s2); d2 <= d1 {
		t.Errorf("back-off did not grow: %v then %v between sidecar starts", d1, d2)
	}
}
