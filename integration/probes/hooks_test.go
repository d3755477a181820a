package probes

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// execHook renders a lifecycle hook (postStart/preStop) running script in sh.
func execHook(kind, script string) string {
	return "    lifecycle:\n      " + kind + ":\n        exec:\n          command: [\"sh\", \"-c\", " + jsonString(script) + "]\n"
}

// TestPostStartBlocksNextContainer: a sidecar's postStart runs while the
// sidecar already runs, and the next container is not started before it
// returns (R52); a sleep postStart on a regular container holds back the
// next regular container the same way.
func TestPostStartBlocksNextContainer(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	hook := harness.OrderMark("sc", "HookBegin") + "; sleep 3; " + harness.OrderMark("sc", "HookEnd")
	sleepHook := "    lifecycle:\n      postStart:\n        sleep:\n          seconds: 3\n"
	ps := harness.Pod{Name: "poststart", Grace: 5, // a sleep hook must be shorter than the grace
		Inits:      []harness.Container{{Name: "sc", Sidecar: true, Command: forever("sc"), Extra: execHook("postStart", hook)}},
		Containers: []harness.Container{{Name: "c1", Command: forever("c1"), Extra: sleepHook}, {Name: "c2", Command: forever("c2")}},
	}
	w := c.Watch("poststart")
	c.Apply(ps.YAML(c.HostDir))
	p := w.UntilPod("c2 running", 90*time.Second, func(p *corev1.Pod) bool { return running(p, "c2") })
	lines := c.WaitOrder("poststart", 15*time.Second, "c2 Started")
	harness.ExpectOrder(t, lines, "sc HookBegin", "sc HookEnd", "c1 Started")
	harness.ExpectOrder(t, lines, "sc Started", "sc HookEnd")
	for _, ev := range w.History() {
		if !started(ev.Pod, "sc") && status(ev.Pod, "c1") != nil && status(ev.Pod, "c1").State.Running != nil {
			t.Errorf("c1 running before the sidecar's postStart returned: %s", harness.Describe(ev.Pod))
		}
	}
	c1, c2 := status(p, "c1").State.Running, status(p, "c2").State.Running
	// One-second timestamps: a 3 s hook leaves ≥ 2 s between the starts.
	if c2.StartedAt.Sub(c1.StartedAt.Time) < 2*time.Second {
		t.Errorf("c2 started %v after c1; its 3 s postStart sleep should hold c2 back (R52)", c2.StartedAt.Sub(c1.StartedAt.Time))
	}
}

// TestPostStartFailure: a failing postStart emits FailedPostStartHook, the
// container is killed (its preStop runs) and reported PostStartHookError;
// under Always it is restarted, under Never it is not (R53, R54).
func TestPostStartFailure(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"Always", "Never"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			c := env.Client(t)
			extra := execHook("postStart", harness.OrderMark("app", "HookFailing")+"; echo hook-broke; exit 7") +
				"      preStop:\n        exec:\n          command: [\"sh\", \"-c\", " + jsonString(harness.OrderMark("app", "PreStop")) + "]\n"
			ps := harness.Pod{Name: "psfail", Grace: 2, RestartPolicy: policy,
				Containers: []harness.Container{{Name: "app", Command: forever("app"), Extra: extra}}}
			w := c.Watch("psfail")
			c.Apply(ps.YAML(c.HostDir))
			var p *corev1.Pod
			if policy == "Always" {
				// 1st restart at once, the 2nd after a 10 s back-off (R35).
				p = w.UntilPod("restarted twice", 90*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 2 })
			} else {
				p = w.UntilPod("terminal", 90*time.Second, func(p *corev1.Pod) bool {
					return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
				})
				if restarts(p, "app") != 0 {
					t.Errorf("restarted under Never: %s", harness.Describe(p))
				}
			}
			c.WaitEvent(harness.EventFilter{Object: "psfail", Container: "app", Reason: "FailedPostStartHook", Message: "PostStartHook failed"}, 10*time.Second)
			c.WaitEvent(harness.EventFilter{Object: "psfail", Container: "app", Reason: "Killing"}, 10*time.Second)
			lines := c.WaitOrder("psfail", 15*time.Second, "app PreStop")
			harness.ExpectOrder(t, lines, "app HookFailing", "app PreStop")
			// R53: the failed start shows as PostStartHookError until the
			// restart; that can be too brief to be published before the
			// immediate 1st restart, so either it or the back-off before the
			// 2nd restart must be seen.
			seen := map[string]bool{}
			for _, ev := range w.History() {
				seen[waitingReason(ev.Pod, "app")] = true
			}
			if policy == "Always" && !seen["PostStartHookError"] && !seen["CrashLoopBackOff"] {
				t.Errorf("never saw waiting reason PostStartHookError or CrashLoopBackOff (R53): %v", seen)
			}
			if last := status(p, "app").LastTerminationState.Terminated; policy == "Always" && last == nil {
				t.Errorf("no lastState of the killed instance: %s", harness.Describe(p))
			}
			if s := terminated(p, "app"); policy == "Never" && s == nil {
				t.Errorf("under Never the killed app should stay terminated: %s", harness.Describe(p))
			}
		})
	}
}

// TestPreStopCutAtGrace: a preStop that loops forever gets the grace period
// (3 s), then the container gets TERM (which it ignores) and the 2 s minimum
// window, then SIGKILL: exit 137; the hook dies with the container (R54, R58).
func TestPreStopCutAtGrace(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	const grace = 3
	// On TERM the app only logs and keeps running: SIGKILL must end it.
	app := harness.OrderMark("app", "Started") + "; trap " + shq(harness.OrderMark("app", "TERM")) + " TERM; while true; do sleep 1 & wait $!; done"
	hook := harness.OrderMark("hook", "Begin") + "; while true; do " + harness.OrderMark("hook", "Tick") + "; sleep 0.5; done"
	ps := harness.Pod{Name: "prestop", Grace: grace,
		Containers: []harness.Container{{Name: "app", Command: []string{"sh", "-c", app}, Extra: execHook("preStop", hook)}}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("prestop", "app running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "app") })
	c.WaitOrder("prestop", 15*time.Second, "app Started")
	begin := time.Now()
	final := c.DeleteAndWait("prestop")
	took := time.Since(begin)
	lines := c.ReadOrder("prestop")
	harness.ExpectOrder(t, lines, "app Started", "hook Begin", "hook Tick", "app TERM")
	if s := final.Status.ContainerStatuses; len(s) != 1 || s[0].State.Terminated == nil || s[0].State.Terminated.ExitCode != 137 {
		t.Errorf("app final state %s, want SIGKILLed 137 (R60)", harness.Describe(final))
	}
	hb, term := lines.Find("hook Begin"), lines.Find("app TERM")
	if hb < 0 || term < 0 {
		t.Fatalf("order file:\n%s", lines)
	}
	// The hook had the whole grace before TERM (not cut early), and no more
	// than grace plus scheduling slack.
	if d := lines[term].At - lines[hb].At; d < grace-0.5 || d > grace+3 {
		t.Errorf("TERM came %.2fs after the preStop began, want ≈ grace %ds (R54, R58 step 3):\n%s", d, grace, lines)
	}
	// The hook's exec process dies with the container at SIGKILL (2 s later).
	lastTick := lines[term].At
	for _, l := range lines {
		if l.Name == "hook" && l.At > lastTick {
			lastTick = l.At
		}
	}
	if d := lastTick - lines[term].At; d > 2+1.5 {
		t.Errorf("preStop still ran %.2fs after TERM; it must die with the container at grace+2s:\n%s", d, lines)
	}
	// Behavioural bound: gone after grace + the 2 s window, and not before.
	if took < (grace+2)*time.Second-500*time.Millisecond || took > (grace+2+10)*time.Second {
		t.Errorf("delete took %v, want ≈ grace %ds + 2s minimum window (R58)", took, grace)
	}
	evs := c.EventsMatching(harness.EventFilter{Object: "prestop", Container: "app", Reason: "Killing"})
	if len(evs) == 0 {
		t.Errorf("no Killing event; events:\n%s", harness.DescribeEvents(c.EventsMatching(harness.EventFilter{Object: "prestop"})))
	}
}
