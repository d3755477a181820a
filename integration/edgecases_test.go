package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// The 15 edge cases of docs/semantics.md §X, end to end. X4 is
// TestJobStyleCompletionOrder, X7 (Never) TestInitFailureUnderNeverFailsPod,
// X9 TestCrashLoopBackOff; X13/X14 are also checked by the seed tests.

// X1: sidecars restart under Never; their exit codes never affect the phase.
func TestX01SidecarRestartsUnderNeverAndExitCodeIgnored(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// First run exits 1; later runs loop and exit 1 on TERM.
	side := script{Name: "side", Forever: true, TrapTerm: true, TermExit: 1,
		Before: "if [ ! -f /shared/ran ]; then touch /shared/ran; exit 1; fi"}
	ps := harness.Pod{Name: "x1", RestartPolicy: "Never",
		Inits:      []harness.Container{side.sidecar()},
		Containers: []harness.Container{script{Name: "app", Delay: 3}.container()}}
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("x1", "Succeeded", 90*time.Second, phaseIs(corev1.PodSucceeded))
	if restarts(p, "side") < 1 {
		t.Errorf("sidecar restartCount %d, want ≥1 under Never (R32)", restarts(p, "side"))
	}
	if s := terminated(p, "side"); s == nil || s.ExitCode != 1 {
		t.Errorf("sidecar final state %+v, want exit 1 (and the pod still Succeeded)", s)
	}
}

// X2: the next init container starts when the sidecar is *started* (startup
// probe passed), not when Ready; liveness does not gate.
func TestX02NextInitWaitsForSidecarStarted(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	startup := "    startupProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"test -f /tmp/up && " +
		strings.ReplaceAll(harness.OrderMark("side", "ProbeOK"), `"`, `\"`) + "\"]\n      periodSeconds: 1\n      failureThreshold: 60\n" +
		"    readinessProbe:\n      exec:\n        command: [\"false\"]\n      periodSeconds: 1\n" +
		"    livenessProbe:\n      exec:\n        command: [\"false\"]\n      initialDelaySeconds: 600\n"
	side := script{Name: "side", Forever: true, TrapTerm: true, Before: "(sleep 3; touch /tmp/up) & true"}
	ps := harness.Pod{Name: "x2",
		Inits:      []harness.Container{withExtra(side.sidecar(), startup), script{Name: "init2"}.container()},
		Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("x2", "app running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "app") })
	lines := c.WaitOrder("x2", orderWait, "app Starting")
	harness.ExpectOrder(t, lines, "side Started", "side ProbeOK", "init2 Starting", "app Starting")
	if g := gap(t, lines, "side Starting", "init2 Starting"); g < 2.5 {
		t.Errorf("init2 started %.1fs after the sidecar; the startup probe passes only after 3 s", g)
	}
	if s := status(p, "side"); s == nil || s.Ready {
		t.Errorf("sidecar is Ready (readiness always fails): %+v — readiness must not gate anything", s)
	}
	if harness.PodReady(p) {
		t.Error("pod Ready although the sidecar is not (R48)")
	}
}

// X3: regular containers start in spec order, each blocked by its own
// postStart but not by the previous one's startup probe.
func TestX03RegularStartBlockedByPostStartNotProbe(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	post := fmt.Sprintf("    lifecycle:\n      postStart:\n        exec:\n          command: %s\n",
		// The hook runs once c1's process runs (R52), maybe before its shell
		// wrote "c1 Starting": it waits for that line rather than trusting
		// its 2 s sleep to outlast the shell's start under load.
		harness.YAMLList([]string{"sh", "-c", awaitSteps("c1 Starting") + "; sleep 2; " + harness.OrderMark("c1", "PostStartDone")}))
	probe := "    startupProbe:\n      exec:\n        command: [\"false\"]\n      initialDelaySeconds: 600\n"
	ps := harness.Pod{Name: "x3", Containers: []harness.Container{
		withExtra(script{Name: "c1", Forever: true, TrapTerm: true}.container(), post+probe),
		script{Name: "c2", Forever: true, TrapTerm: true}.container(),
	}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("x3", "c2 running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "c2") })
	lines := c.WaitOrder("x3", orderWait, "c2 Starting")
	harness.ExpectOrder(t, lines, "c1 Starting", "c1 PostStartDone", "c2 Starting")
}

// X5: the grace budget is one clock: a regular container that ignores TERM
// uses it all; sidecars then get TERM together with the 2 s minimum window.
func TestX05SharedGraceBudget(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "x5", Grace: 5,
		Inits: []harness.Container{
			script{Name: "quick", Forever: true, TrapTerm: true, TermDelay: 1}.sidecar(),
			script{Name: "slow", Forever: true, TrapTerm: true, TermDelay: 20}.sidecar(),
		},
		Containers: []harness.Container{script{Name: "app", Forever: true, TrapTerm: true, TermDelay: 20}.container()}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("x5", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("x5", orderWait, "quick Started", "slow Started", "app Started") // TERM traps installed
	start := time.Now()
	final := c.DeleteAndWait("x5")
	took := time.Since(start)
	if s := terminated(final, "app"); s == nil || s.ExitCode != 137 {
		t.Errorf("app %+v, want SIGKILLed 137 at grace end (R64)", s)
	}
	if s := terminated(final, "quick"); s == nil || s.ExitCode != 0 {
		t.Errorf("quick sidecar %+v, want exit 0 within its 2 s window", s)
	}
	if s := terminated(final, "slow"); s == nil || s.ExitCode != 137 {
		t.Errorf("slow sidecar %+v, want 137", s)
	}
	if took < 6*time.Second || took > 15*time.Second {
		t.Errorf("delete took %v, want ≈ grace 5 s + 2 s minimum window (R58, R63)", took)
	}
	if final.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed (app 137, R69)", final.Status.Phase)
	}
}

// X6: a deleted pod's phase comes from regular containers only, even under
// Always; deleted before any regular container ran → Failed.
func TestX06DeletedPodTerminalPhase(t *testing.T) {
	t.Parallel()
	t.Run("regulars exit 0 on TERM", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "x6a",
			Inits:      []harness.Container{script{Name: "side", Forever: true, TrapTerm: true, TermExit: 1}.sidecar()},
			Containers: []harness.Container{trapApp()}}
		c.Apply(ps.YAML(c.HostDir))
		c.WaitFor("x6a", "Ready", 60*time.Second, harness.PodReady)
		c.WaitOrder("x6a", orderWait, "side Started", "app Started")
		if p := c.DeleteAndWait("x6a"); p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("phase %s, want Succeeded (sidecar's exit 1 ignored): %s", p.Status.Phase, harness.Describe(p))
		}
	})
	t.Run("deleted during init", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "x6b", Grace: 3,
			Inits:      []harness.Container{script{Name: "init", Forever: true}.container()},
			Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
		c.Apply(ps.YAML(c.HostDir))
		c.WaitFor("x6b", "init running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "init") })
		start := time.Now()
		p := c.DeleteAndWait("x6b")
		if p.Status.Phase != corev1.PodFailed {
			t.Errorf("phase %s, want Failed", p.Status.Phase)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("delete with grace 3 took %v, want < ~6 s (R66)", d)
		}
	})
}

// X7 (OnFailure): a failing plain init container is retried with back-off,
// the pod stays Pending and Init:Error/Init:CrashLoopBackOff shows.
func TestX07InitFailureRetriedUnderOnFailure(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "x7", RestartPolicy: "OnFailure",
		Inits:      []harness.Container{script{Name: "init", ExitCode: 1}.container()},
		Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
	w := c.Watch("x7")
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("init in CrashLoopBackOff after 2 restarts", 60*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "init")
		return restarts(p, "init") >= 2 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff"
	})
	for _, ev := range w.History() {
		if ev.Pod.Status.Phase != corev1.PodPending && ev.Pod.Status.Phase != "" {
			t.Errorf("phase %s while init retries, want Pending (R21)", ev.Pod.Status.Phase)
			break
		}
	}
	if c.ReadOrder("x7").Count("app", "Starting") != 0 {
		t.Error("app started although init never succeeded")
	}
	// The next restart is 20 s away: the table shows the back-off (R92).
	c.WantPodsRow("R92", "x7", "Init:CrashLoopBackOff")
}

// X8: a sidecar failing its startup probe, or whose image is missing, keeps
// the pod Pending forever even under Never.
func TestX08StuckSidecarKeepsPodPending(t *testing.T) {
	t.Parallel()
	t.Run("startup probe fails", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		probe := "    startupProbe:\n      exec:\n        command: [\"false\"]\n      periodSeconds: 1\n      failureThreshold: 2\n"
		ps := harness.Pod{Name: "x8a", RestartPolicy: "Never",
			Inits:      []harness.Container{withExtra(script{Name: "side", Forever: true, TrapTerm: true}.sidecar(), probe)},
			Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
		w := c.Watch("x8a")
		c.Apply(ps.YAML(c.HostDir))
		w.UntilPod("sidecar restarted after startup failure", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "side") >= 1 })
		for _, ev := range w.History() {
			if ph := ev.Pod.Status.Phase; ph != corev1.PodPending && ph != "" {
				t.Errorf("phase %s, want Pending (R23)", ph)
				break
			}
		}
		if c.ReadOrder("x8a").Count("app", "Starting") != 0 {
			t.Error("app started although the sidecar never passed its startup probe")
		}
		c.WaitEvent(harness.EventFilter{Object: "x8a", Reason: "Unhealthy", Message: "Startup probe failed"}, 5*time.Second)
	})
	t.Run("image missing", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		side := withExtra(script{Name: "side", Forever: true}.sidecar(), "    imagePullPolicy: Never\n")
		side.Image = "busybox:doesnotexist"
		ps := harness.Pod{Name: "x8b", RestartPolicy: "Never",
			Inits:      []harness.Container{side},
			Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
		c.Apply(ps.YAML(c.HostDir))
		p := c.WaitFor("x8b", "sidecar ErrImageNeverPull", 60*time.Second, func(p *corev1.Pod) bool {
			s := status(p, "side")
			return s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "ErrImageNeverPull"
		})
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("phase %s, want Pending (R22)", p.Status.Phase)
		}
		c.WantPodsRow("", "x8b", "Init:ErrImageNeverPull")
	})
}

// X10: once terminating, liveness probes stop and a sidecar that exits is
// not restarted; readiness keeps being probed.
func TestX10NothingRestartsDuringTermination(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// The sidecar's liveness fails once /shared/term exists; its preStop
	// creates it and the sidecar exits early on its own during termination.
	live := "    livenessProbe:\n      exec:\n        command: [\"sh\", \"-c\", \"test ! -f /shared/term\"]\n      periodSeconds: 1\n      failureThreshold: 1\n" +
		"    lifecycle:\n      preStop:\n        exec:\n          command: [\"sh\", \"-c\", \"touch /shared/term; kill 1\"]\n"
	ps := harness.Pod{Name: "x10", Grace: 20,
		Inits:      []harness.Container{withExtra(script{Name: "side", Forever: true, TrapTerm: true}.sidecar(), live)},
		Containers: []harness.Container{script{Name: "app", Forever: true, TrapTerm: true, TermDelay: 4}.container()}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("x10", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("x10", orderWait, "side Started", "app Started")
	final := c.DeleteAndWait("x10")
	lines := c.ReadOrder("x10")
	if n := lines.Count("side", "Starting"); n != 1 {
		t.Errorf("sidecar started %d times; nothing may restart once termination began (R67):\n%s", n, lines)
	}
	if restarts(final, "side") != 0 || restarts(final, "app") != 0 {
		t.Errorf("restarts during termination: %s", harness.Describe(final))
	}
	for _, e := range c.EventsMatching(harness.EventFilter{Object: "x10", Reason: "Unhealthy", Message: "Liveness"}) {
		t.Errorf("liveness probed during termination (R49): %s", e.Message)
	}
}

// X11: completed init containers never re-run, not after a podrund restart
// and not on an image change.
func TestX11CompletedInitNeverReruns(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	ps := harness.Pod{Name: "x11",
		Inits: []harness.Container{script{Name: "init"}.container(),
			script{Name: "side", Forever: true, TrapTerm: true}.sidecar()},
		Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	before := c.WaitFor("x11", "Ready", 60*time.Second, harness.PodReady)
	if err := d.Restart(t.Context(), 15); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("x11", "Ready after restart", 60*time.Second, harness.PodReady)
	ps.Inits[0].Image = harness.ImageOther
	if out := c.Apply(ps.YAML(c.HostDir)); !strings.Contains(out, "configured") {
		t.Errorf("apply with init image changed: %q, want configured", out)
	}
	// Let the engine act on the update: a probe-free way is to change the
	// sidecar image too and wait for that restart (R93), then inspect.
	ps.Inits[1].Image = harness.ImageOther
	c.Apply(ps.YAML(c.HostDir))
	after := c.WaitFor("x11", "sidecar restarted with the new image", 60*time.Second, func(p *corev1.Pod) bool {
		return restarts(p, "side") == 1 && running(p, "side")
	})
	if after.UID != before.UID {
		t.Fatalf("image-only change replaced the pod (UID %s → %s); §R says in place", before.UID, after.UID)
	}
	if n := c.ReadOrder("x11").Count("init", "Starting"); n != 1 {
		t.Errorf("init ran %d times (R25, R33)", n)
	}
	if restarts(after, "init") != 0 || restarts(after, "app") != 0 {
		t.Errorf("restarts: %s", harness.Describe(after))
	}
}

// X12: an image change restarts a running regular container even under
// Never, restarts a sidecar, and is ignored for a completed plain init.
func TestX12ImageChangeRestarts(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "x12", RestartPolicy: "Never",
		Inits: []harness.Container{script{Name: "init"}.container(),
			script{Name: "side", Forever: true, TrapTerm: true}.sidecar()},
		Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	before := c.WaitFor("x12", "Ready", 60*time.Second, harness.PodReady)
	for i := range ps.Inits {
		ps.Inits[i].Image = harness.ImageOther
	}
	ps.Containers[0].Image = harness.ImageOther
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("x12", "app and sidecar restarted with the new image", 60*time.Second, func(p *corev1.Pod) bool {
		return restarts(p, "app") == 1 && restarts(p, "side") == 1 && running(p, "app") && running(p, "side")
	})
	if p.UID != before.UID {
		t.Errorf("pod replaced instead of updated in place")
	}
	for _, n := range []string{"app", "side"} {
		if s := status(p, n); !strings.Contains(s.Image, "busybox:other") {
			t.Errorf("%s runs image %q, want busybox:other", n, s.Image)
		}
	}
	if restarts(p, "init") != 0 || c.ReadOrder("x12").Count("init", "Starting") != 1 {
		t.Errorf("completed init re-ran on image change")
	}
	c.WaitEvent(harness.EventFilter{Object: "x12", Reason: "Killing", Message: "definition changed"}, 5*time.Second)
}

// X13: READY counts sidecars; STATUS Init:i/N with N including sidecars,
// then Running.
func TestX13ReadyAndStatusColumns(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// init0 done, the sidecar waits for /shared/go before its startup probe passes.
	probe := "    startupProbe:\n      exec:\n        command: [\"test\", \"-f\", \"/shared/go\"]\n      periodSeconds: 1\n      failureThreshold: 120\n"
	ps := harness.Pod{Name: "x13",
		Inits: []harness.Container{script{Name: "init0"}.container(),
			withExtra(script{Name: "side", Forever: true, TrapTerm: true}.sidecar(), probe),
			script{Name: "init2"}.container()},
		Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("x13", "sidecar running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "side") })
	if table := c.MustPodctl("get", "pods"); !harness.TableHasRow(table, "x13", "0/2", "Init:1/3") {
		t.Errorf("get pods while the sidecar is not started:\n%s\nwant x13 0/2 Init:1/3", table)
	}
	c.MustPodctl("exec", "x13", "-c", "side", "--", "touch", "/shared/go")
	c.WaitFor("x13", "Ready", 60*time.Second, harness.PodReady)
	c.WantPodsRow("", "x13", "2/2", "Running")
}

// X15: init statuses are listed in spec order from the first status on with
// PodInitializing; restartCount survives a podrund restart.
func TestX15StatusListAndRestartCountPersist(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	ps := harness.Pod{Name: "x15",
		Inits: []harness.Container{script{Name: "init0", Delay: 2}.container(),
			script{Name: "side", Forever: true, TrapTerm: true}.sidecar(),
			script{Name: "init2"}.container()},
		Containers: []harness.Container{script{Name: "crash", ExitCode: 1}.container(),
			trapApp()}}
	w := c.Watch("x15")
	c.Apply(ps.YAML(c.HostDir))
	first := w.UntilPod("first status with container statuses", 30*time.Second, func(p *corev1.Pod) bool {
		return len(p.Status.InitContainerStatuses) > 0
	})
	var names []string
	for _, s := range first.Status.InitContainerStatuses {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "init0,side,init2" {
		t.Errorf("first initContainerStatuses %v, want every init in spec order (R84)", names)
	}
	if s := status(first, "init2"); s == nil || s.State.Waiting == nil || s.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("init2 first status %+v, want waiting PodInitializing (R85)", s)
	}
	p := w.UntilPod("crash restarted twice", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "crash") >= 2 })
	n := restarts(p, "crash")
	w.Stop()
	if err := d.Restart(t.Context(), 9); err != nil {
		t.Fatal(err)
	}
	after := c.GetPod("x15")
	if restarts(after, "crash") < n {
		t.Errorf("restartCount went from %d to %d across a podrund restart (R88, R94)", n, restarts(after, "crash"))
	}
	if restarts(after, "side") != 0 || restarts(after, "app") != 0 {
		t.Errorf("podrund restart restarted containers: %s", harness.Describe(after))
	}
}
