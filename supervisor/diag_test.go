package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// TestDiagnose_CrashLoopHistoryAndStartupCounts drives a real worker: the
// history keeps every crashed instance (Instances keeps only 2), marks the
// back-off after each, and Diagnose carries the startup probe's failures.
func TestDiagnose_CrashLoopHistoryAndStartupCounts(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	pod.Spec.Containers[0].StartupProbe = &corev1.Probe{PeriodSeconds: 2, FailureThreshold: 30}
	h.start(pod)
	for i := 0; i < 4; i++ {
		id := h.waitRunning("r")
		if i == 3 {
			// Failed attempts below the threshold: the result stays Unknown.
			for j := 0; j < 2; j++ {
				probes.ch <- results.Update{PodUID: pod.UID, Container: "r", InstanceID: id, Kind: results.Startup, Result: results.Unknown, Failed: true}
			}
			h.waitFor("probe counted", func() bool {
				d, _ := h.m.Diagnose(pod.UID)
				return d.Probes[id][results.Startup].Failures == 2
			})
			break
		}
		h.rt.exit(id, 1)
		h.stepUntil("restart", time.Second, func() bool { r := h.rt.running("r"); return r != "" && r != id })
	}
	d, ok := h.m.Diagnose(pod.UID)
	if !ok {
		t.Fatal("no diagnosis for a running pod")
	}
	st := d.Record.Engine
	if len(st.Instances) > keepInstances || len(st.History) != 4 {
		t.Fatalf("instances %d history %d, want ≤%d and 4", len(st.Instances), len(st.History), keepInstances)
	}
	for i, r := range st.History[:3] {
		// R35: the first crash restarts at once, later ones wait out a back-off.
		if r.Attempt != int32(i) || r.ExitCode != 1 || r.FinishedAt.IsZero() || r.BackoffUntil.After(r.FinishedAt) != (i > 0) {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
	bs := Blockers(d, h.clk.Now())
	if len(bs) != 1 || !strings.HasPrefix(bs[0].Message, "container r: startup probe failing (2/30), next probe in ") {
		t.Fatalf("blockers %+v", bs)
	}
	if _, ok := h.m.Diagnose("nope"); ok {
		t.Fatal("diagnosis of an unknown pod")
	}
}

// TestHistory_KillMarksFollowTerminationOrder_R64: the kill mark is the
// stop signal, so the sidecar's comes after the regular container ended.
func TestHistory_KillMarksFollowTerminationOrder_R64(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	rec := h.waitFinished(pod.UID)
	var s, r *InstanceRecord
	for i := range rec.Engine.History {
		switch rec.Engine.History[i].Container {
		case "s":
			s = &rec.Engine.History[i]
		case "r":
			r = &rec.Engine.History[i]
		}
	}
	if s == nil || r == nil || r.KilledAt.IsZero() || s.KilledAt.IsZero() || r.FinishedAt.IsZero() ||
		s.KilledAt.Before(r.FinishedAt) || s.ReadyAt.IsZero() || r.ReadyAt.Before(s.ReadyAt) {
		t.Fatalf("history: s=%+v r=%+v", s, r)
	}
}
