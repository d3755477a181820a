package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestRestartMatrix samples R31 for regular containers: pod restartPolicy ×
// exit code. Restarted ones are seen restarting; the others end the pod.
func TestRestartMatrix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		policy  string
		exit    int
		restart bool
		phase   corev1.PodPhase // terminal phase when not restarted
	}{
		{"Never", 0, false, corev1.PodSucceeded},
		{"Never", 1, false, corev1.PodFailed},
		{"OnFailure", 0, false, corev1.PodSucceeded},
		{"OnFailure", 1, true, ""},
		{"Always", 0, true, ""},
		{"Always", 1, true, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s-exit%d", tc.policy, tc.exit), func(t *testing.T) {
			t.Parallel()
			c := env.Client(t)
			ps := harness.Pod{Name: "m", RestartPolicy: tc.policy,
				Inits:      []harness.Container{script{Name: "side", Forever: true, TrapTerm: true}.sidecar()},
				Containers: []harness.Container{script{Name: "app", ExitCode: tc.exit}.container()}}
			w := c.Watch("m")
			c.Apply(ps.YAML(c.HostDir))
			if tc.restart {
				p := w.UntilPod("app restarted", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
				if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
					t.Errorf("phase %s while restarting", p.Status.Phase)
				}
				if ls := status(p, "app").LastTerminationState.Terminated; ls == nil || int(ls.ExitCode) != tc.exit {
					t.Errorf("lastState %+v, want Terminated exit %d (R86)", ls, tc.exit)
				}
				return
			}
			p := w.UntilPod("terminal phase", 60*time.Second, func(p *corev1.Pod) bool {
				return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
			})
			if p.Status.Phase != tc.phase {
				t.Errorf("phase %s, want %s (R78)", p.Status.Phase, tc.phase)
			}
			if restarts(p, "app") != 0 || c.ReadOrder("m").Count("app", "Starting") != 1 {
				t.Errorf("app ran more than once: %s", c.ReadOrder("m"))
			}
			// R72: the sidecar is stopped once the app is done.
			if running(p, "side") {
				t.Errorf("sidecar still running in terminal phase")
			}
		})
	}
}

// TestCrashLoopBackOff: back-offs 0, 10, 20 s between runs (R35, X9),
// waiting reason CrashLoopBackOff with lastState = previous termination.
//
// The gaps between one run's last line and the next run's first include
// creating and starting the container, which took up to 7 s under
// PODRUN_STRESS: so the test checks that no run started before its
// back-off was over and that the engine waited the back-off it reports
// ("back-off 10s", "back-off 20s"), not how soon after it the next shell
// ran. When the engine wakes up is unit-tested on a fake clock (R35).
func TestCrashLoopBackOff(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "crash", Containers: []harness.Container{script{Name: "app", ExitCode: 3}.container()}}
	w := c.Watch("crash")
	c.Apply(ps.YAML(c.HostDir))
	p := w.UntilPod("restartCount 3", 120*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 3 })
	lines := waitCount(c, "crash", "app Starting", 4) // the 4th run logs after its status
	d2 := lines[nth(lines, "app", "Starting", 2)].At - lines[nth(lines, "app", "Exiting", 1)].At
	d3 := lines[nth(lines, "app", "Starting", 3)].At - lines[nth(lines, "app", "Exiting", 2)].At
	if d2 < 9.5 {
		t.Errorf("second restart after %.1fs, before its 10 s back-off", d2)
	}
	if d3 < 19.5 {
		t.Errorf("third restart after %.1fs, before its 20 s back-off", d3)
	}
	// The back-off of each wait, by the restart count it followed: none
	// before the first restart (R35: 0 s), then 10 s, then 20 s.
	backoffs := map[int32]string{}
	for _, ev := range w.History() {
		s := status(ev.Pod, "app")
		if s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" {
			if !strings.Contains(s.State.Waiting.Message, "back-off") || s.LastTerminationState.Terminated == nil ||
				s.LastTerminationState.Terminated.ExitCode != 3 {
				t.Errorf("CrashLoopBackOff status %+v (R87)", s)
			}
			if ev.Pod.Status.Phase != corev1.PodRunning {
				t.Errorf("phase %s during back-off, want Running (R79)", ev.Pod.Status.Phase)
			}
			backoffs[s.RestartCount] = strings.Fields(s.State.Waiting.Message)[1]
		}
	}
	if d, ok := backoffs[0]; ok {
		t.Errorf("back-off %s after the first exit, want an immediate restart (R35)", d)
	}
	if backoffs[1] != "10s" || backoffs[2] != "20s" {
		t.Errorf("back-offs after the 2nd and 3rd exits %q and %q, want 10s and 20s (R35)", backoffs[1], backoffs[2])
	}
	c.WaitEvent(harness.EventFilter{Object: "crash", Reason: "BackOff", Message: "Back-off restarting failed container app"}, 5*time.Second)
	if table := c.MustPodctl("get", "pods"); !strings.Contains(table, "crash") {
		t.Errorf("get pods:\n%s", table)
	}
	_ = p
}

// TestJobStyleCompletionOrder: app exits 0 → sidecars stopped in reverse
// order, all preStops fired at once at the start → Succeeded (R72-R74, X4).
func TestJobStyleCompletionOrder(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	preStop := func(name string) string {
		return fmt.Sprintf("    lifecycle:\n      preStop:\n        exec:\n          command: %s\n",
			harness.YAMLList([]string{"sh", "-c", harness.OrderMark(name, "PreStop")}))
	}
	side := func(name string) harness.Container {
		return withExtra(script{Name: name, Forever: true, TrapTerm: true, TermDelay: 1}.sidecar(), preStop(name))
	}
	ps := harness.Pod{Name: "job", RestartPolicy: "Never",
		Inits: []harness.Container{side("s1"), side("s2"), side("s3")},
		// The app ends the pod; it waits until every sidecar has installed
		// its TERM trap ("Started" comes after it): a sidecar is started once
		// its process runs (R17), and a TERM before the trap is lost (sh is
		// PID 1 of its PID namespace, without a handler yet): no line for
		// the stop order, and the sidecar held until the grace ends.
		Containers: []harness.Container{script{Name: "app", Delay: 1, Before: awaitSteps("s1 Started", "s2 Started", "s3 Started")}.container()}}
	w := c.Watch("job")
	c.Apply(ps.YAML(c.HostDir))
	final := w.UntilPod("Succeeded", 90*time.Second, phaseIs(corev1.PodSucceeded))
	lines := c.ReadOrder("job")
	// Start order from the pod's status history (R16, R17: each next container
	// once the sidecar before it has started): the order file cannot show
	// it, as a sidecar counts as started when its process runs, before its
	// shell has written a line, and the next one (prepared ahead) starts
	// within milliseconds. The stop order is written by the TERM traps.
	checkInitOrder(t, w.History(), []string{"s1", "s2", "s3", "app"})
	harness.ExpectOrder(t, lines, "app Exiting", "s3 Exiting", "s2 Terminating", "s2 Exiting", "s1 Terminating", "s1 Exiting")
	// All preStops start together at the beginning, before s2 gets TERM.
	for _, s := range []string{"s1", "s2", "s3"} {
		if i, j := lines.Index(s, "PreStop"), lines.Index("s3", "Exiting"); i < 0 || i > j {
			t.Errorf("X4: %s preStop did not run before s3 stopped; log:\n%s", s, lines)
		}
	}
	for _, s := range []string{"s1", "s2", "s3"} {
		if restarts(final, s) != 0 {
			t.Errorf("%s restarted during completion", s)
		}
	}
	for _, ev := range w.History() {
		if ev.Pod.Status.Phase == corev1.PodSucceeded && running(ev.Pod, "s1") {
			t.Errorf("Succeeded while s1 runs (R73)")
		}
	}
}

// TestDeleteOrderingWithGrace: seed 06 instrumented; delete stops the app,
// then second, then first sidecar, each waiting for the later ones (R63).
func TestDeleteOrderingWithGrace(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	mk := func(name string) script {
		return script{Name: name, Forever: true, TrapTerm: true, TermDelay: 2}
	}
	ps := harness.Pod{Name: "order", Grace: 30,
		Inits:      []harness.Container{mk("first").sidecar(), mk("second").sidecar()},
		Containers: []harness.Container{mk("app").container()}}
	w := c.Watch("order")
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("order", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("order", orderWait, "first Started", "second Started", "app Started") // TERM traps installed
	final := c.DeleteAndWait("order")
	lines := c.ReadOrder("order")
	// Start order from the status history (R16, R17; see TestJobStyleCompletionOrder),
	// stop order from the TERM traps (R63).
	checkInitOrder(t, w.History(), []string{"first", "second", "app"})
	harness.ExpectOrder(t, lines, "app Terminating", "app Exiting", "second Terminating", "second Exiting", "first Terminating", "first Exiting")
	if g := gap(t, lines, "app Exiting", "second Terminating"); g > 1.5 {
		t.Errorf("second sidecar got TERM %.2fs after the app exited; podrund should react at once", g)
	}
	if final.Status.Phase != corev1.PodSucceeded {
		t.Errorf("final phase %s, want Succeeded: %s", final.Status.Phase, harness.Describe(final))
	}
}

// TestInitFailureUnderNeverFailsPod: a plain init container exits 1 under
// Never → pod Failed, running sidecar terminated, app never starts (R75, X7).
func TestInitFailureUnderNeverFailsPod(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "initfail", RestartPolicy: "Never",
		Inits: []harness.Container{script{Name: "side", Forever: true, TrapTerm: true}.sidecar(),
			// init fails the pod only once side has installed its TERM trap:
			// side is started when its process runs (R17), and init, prepared
			// ahead, could otherwise exit before side's shell ran a line; a
			// TERM then would be lost (sh is PID 1, no handler yet).
			script{Name: "init", ExitCode: 1, Before: awaitSteps("side Started")}.container()},
		Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("initfail", "Failed and sidecar stopped", 60*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && terminated(p, "side") != nil
	})
	if s := terminated(p, "init"); s == nil || s.ExitCode != 1 || s.Reason != "Error" {
		t.Errorf("init status %+v, want Terminated Error 1", s)
	}
	if s := status(p, "app"); s == nil || s.State.Waiting == nil || s.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app status %+v, want waiting PodInitializing (never started)", s)
	}
	lines := c.ReadOrder("initfail")
	if lines.Count("app", "Starting") != 0 || lines.Count("init", "Starting") != 1 || lines.Count("side", "Starting") != 1 {
		t.Errorf("runs:\n%s", lines)
	}
	harness.ExpectOrder(t, lines, "init Exiting", "side Terminating")
	c.WantPodsRow("R92", "initfail", "Init:Error")
}
