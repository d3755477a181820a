package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// newHookHarness is a harness with opts whose lifecycle hooks run as
// sleepHooks on the harness's fake clock.
func newHookHarness(t *testing.T, opts Options) (*harness, *sleepHooks) {
	hooks := &sleepHooks{starts: map[string]time.Time{}}
	opts.RunHook = hooks.run
	h := newHarness(t, opts)
	hooks.clk = h.clk
	return h, hooks
}

func (h *harness) count(call string) int { return countCalls(h.rt.callLog(), call) }

func initStatus(s corev1.PodStatus, name string) corev1.ContainerStatus {
	if cs := statusByName(s.InitContainerStatuses, name); cs != nil {
		return *cs
	}
	return corev1.ContainerStatus{Started: new(bool)}
}

// EdgeCase 1: sidecars restart under Never and their exit codes never
// affect the phase.
func TestEdgeCase1_SidecarRestartsUnderNeverExitCodeIgnored(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r")
	h.rt.term["s"] = termBehaviour{code: 1}
	h.start(pod)
	s := h.waitRunning("s")
	r := h.waitRunning("r")
	h.rt.exit(s, 1)
	h.waitFor("sidecar restarted", func() bool { return h.count("start s") == 2 })
	h.waitRunning("s")
	h.rt.exit(r, 0)
	h.waitPhase(pod.UID, corev1.PodSucceeded)
	if st := initStatus(h.status(pod.UID), "s"); st.State.Terminated.ExitCode != 1 || st.RestartCount != 1 {
		t.Fatalf("sidecar status %+v", st)
	}
}

// EdgeCase 2: the next init container starts only when the sidecar is
// started (startup probe passed), not when Ready; liveness does not gate.
func TestEdgeCase2_NextInitWaitsForSidecarStarted(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar", "i"}, "r")
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{}
	pod.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{}
	h.start(pod)
	s := h.waitRunning("s")
	probes.send(pod, "s", s, results.Readiness, results.Success)
	time.Sleep(20 * time.Millisecond)
	if h.count("create i") != 0 {
		t.Fatal("i started before the sidecar's startup probe passed")
	}
	if st := initStatus(h.status(pod.UID), "s"); *st.Started || st.Ready {
		t.Fatalf("sidecar started/ready before its startup probe: %+v", st)
	}
	probes.send(pod, "s", s, results.Startup, results.Success)
	h.waitRunning("i")
	h.waitFor("readiness probed at once (R44)", func() bool {
		probes.mu.Lock()
		defer probes.mu.Unlock()
		return len(probes.now) > 0 || initStatus(h.status(pod.UID), "s").Ready
	})
}

// EdgeCase 3: regular containers start one after another in one sync, each
// blocked by its own postStart, not by the previous one's startup probe.
func TestEdgeCase3_RegularsSequentialBlockedByPostStart(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, Options{RunHook: func(ctx context.Context, p *corev1.Pod, c *corev1.Container, id string, hd *corev1.LifecycleHandler) error {
		if c.Name == "a" {
			<-release
		}
		return nil
	}})
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b")
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	pod.Spec.Containers[0].StartupProbe = &corev1.Probe{}
	h.start(pod)
	h.waitRunning("a")
	h.waitFor("a shows Running during its postStart", func() bool {
		return h.status(pod.UID).ContainerStatuses[0].State.Running != nil
	})
	time.Sleep(20 * time.Millisecond)
	if h.count("create b") != 0 {
		t.Fatal("b created before a's postStart returned")
	}
	close(release)
	h.waitRunning("b") // a's startup probe never reported: b starts anyway
}

// EdgeCase 4: Job-style completion stops sidecars in reverse order with all
// preStops fired at once.
func TestEdgeCase4_JobCompletionReverseOrderPreStopsAtOnce(t *testing.T) {
	h, hooks := newHookHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s1:sidecar", "s2:sidecar"}, "r")
	for _, n := range []string{"s1", "s2"} {
		withPreStop(pod, n, 3)
		h.rt.term[n] = termBehaviour{delay: time.Second}
	}
	h.startRunning(pod, "s1", "s2", "r")
	base := h.clk.Now()
	h.rt.exit(h.rt.running("r"), 0)
	h.stepUntil("Succeeded", 100*time.Millisecond, func() bool { return h.status(pod.UID).Phase == corev1.PodSucceeded })
	a1, _ := hooks.started("s1")
	a2, _ := hooks.started("s2")
	if !a1.Equal(a2) || !near(a1.Sub(base), 0) {
		t.Fatalf("preStops at +%v and +%v, want both at once", a1.Sub(base), a2.Sub(base))
	}
	h.checkStop(base, "s2", 3*time.Second, 27*time.Second)
	h.checkStop(base, "s1", 4*time.Second, 26*time.Second)
}

// EdgeCase 5: when the grace runs out, every remaining container gets TERM
// together and KILL after the 2 s minimum (~grace + 2 s).
func TestEdgeCase5_GraceExhaustedTermThenKillAfter2s(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s1:sidecar", "s2:sidecar"}, "r")
	setGrace(pod, 3)
	for _, n := range []string{"s1", "s2", "r"} {
		h.rt.term[n] = termBehaviour{ignore: true}
	}
	h.startRunning(pod, "s1", "s2", "r")
	base := h.clk.Now()
	_ = h.m.Delete(context.Background(), pod.UID, nil)
	rec := h.waitFinished(pod.UID)
	h.checkStop(base, "s1", 3*time.Second, 2*time.Second)
	h.checkStop(base, "s2", 3*time.Second, 2*time.Second)
	if d := h.clk.Now().Sub(base); d < 5*time.Second || d > 6*time.Second {
		t.Fatalf("finished at +%v, want ~grace+2 s", d)
	}
	for _, n := range []string{"s1", "s2", "r"} {
		if h.finalExit(rec, n) != 137 {
			t.Fatalf("%s not SIGKILLed", n)
		}
	}
}

// EdgeCase 6: deleted pods get a terminal phase from regular containers
// only, even under Always; deleted before any regular ran → Failed.
func TestEdgeCase6_DeletedPodTerminalPhase(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.rt.term["r"] = termBehaviour{code: 0}
	h.rt.term["s"] = termBehaviour{code: 1}
	h.startRunning(pod, "s", "r")
	_ = h.m.Delete(context.Background(), pod.UID, nil)
	if rec := h.waitFinished(pod.UID); rec.Pod.Status.Phase != corev1.PodSucceeded || rec.Pod.Status.Reason != "" {
		t.Fatalf("phase %s reason %q, want Succeeded", rec.Pod.Status.Phase, rec.Pod.Status.Reason)
	}
	pod2 := testPod(corev1.RestartPolicyAlways, []string{"i"}, "r")
	pod2.UID = "pending-pod"
	h.start(pod2)
	h.waitRunning("i")
	_ = h.m.Delete(context.Background(), pod2.UID, nil)
	if rec := h.waitFinished(pod2.UID); rec.Pod.Status.Phase != corev1.PodFailed {
		t.Fatalf("deleted while Pending: %s, want Failed", rec.Pod.Status.Phase)
	}
}

// EdgeCase 7: a plain init failure under OnFailure is retried with
// back-off while the pod stays Pending (Never: see TestInitFailureNever_R75).
func TestEdgeCase7_PlainInitFailureRetriedUnderOnFailure(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyOnFailure, []string{"i"}, "r")
	h.start(pod)
	h.rt.exit(h.waitRunning("i"), 1)
	h.waitFor("immediate first restart", func() bool { return h.count("start i") == 2 })
	h.rt.exit(h.waitRunning("i"), 1)
	h.waitFor("CrashLoopBackOff", func() bool {
		st := initStatus(h.status(pod.UID), "i")
		return st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff"
	})
	if ph := h.status(pod.UID).Phase; ph != corev1.PodPending {
		t.Fatalf("phase %s, want Pending", ph)
	}
	h.stepUntil("retry after 10 s", time.Second, func() bool { return h.count("start i") == 3 })
	if h.count("create r") != 0 {
		t.Fatal("regular started during init retries")
	}
}

// EdgeCase 8: a sidecar stuck in ImagePullBackOff keeps the pod Pending
// forever, even with Never.
func TestEdgeCase8_SidecarPullBackOffPendingUnderNever(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar", "i"}, "r")
	pod.Spec.InitContainers[0].Image = "gone:1"
	h.rt.pullErr["gone:1"] = errors.New("not found")
	h.start(pod)
	h.stepUntil("ImagePullBackOff", time.Second, func() bool {
		st := initStatus(h.status(pod.UID), "s")
		return st.State.Waiting != nil && st.State.Waiting.Reason == "ImagePullBackOff"
	})
	for range 100 {
		h.clk.Step(5 * time.Second)
	}
	time.Sleep(20 * time.Millisecond)
	if ph := h.status(pod.UID).Phase; ph != corev1.PodPending {
		t.Fatalf("phase %s, want Pending", ph)
	}
	if h.count("create i")+h.count("create r") != 0 {
		t.Fatal("later containers started")
	}
}

// EdgeCase 9: crash-loop delays 0, 10, 20 s exactly, CrashLoopBackOff with
// lastState = the previous termination.
func TestEdgeCase9_CrashLoopDelays(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.start(pod)
	h.rt.exit(h.waitRunning("r"), 1)
	h.waitFor("immediate restart", func() bool { return h.count("start r") == 2 })
	for n, delay := range []time.Duration{10 * time.Second, 20 * time.Second} {
		h.rt.exit(h.waitRunning("r"), 1)
		h.waitFor("CrashLoopBackOff", func() bool {
			cs := h.status(pod.UID).ContainerStatuses[0]
			return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" &&
				cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode == 1
		})
		h.waitFor("timer armed", h.clk.HasWaiters)
		h.clk.Step(delay - 100*time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		if h.count("start r") != n+2 {
			t.Fatalf("restarted before %v", delay)
		}
		h.clk.Step(100 * time.Millisecond)
		h.waitFor("restart at expiry", func() bool { return h.count("start r") == n+3 })
	}
	if !h.sink.hasEvent("BackOff", "Back-off restarting failed container r in pod p_default("+string(pod.UID)+")") {
		t.Fatal("no BackOff event")
	}
}

// EdgeCase 10: nothing restarts once the pod terminates; liveness/startup
// probes are stopped; a sidecar exiting during termination stays dead.
func TestEdgeCase10_NothingRestartsDuringTermination(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{}
	h.rt.term["r"] = termBehaviour{delay: 5 * time.Second}
	h.startRunning(pod, "s", "r")
	s, r := h.rt.running("s"), h.rt.running("r")
	_ = h.m.Delete(context.Background(), pod.UID, nil)
	h.waitFor("r stopping", func() bool { _, ok := h.rt.stopOf("r"); return ok })
	h.rt.exit(s, 1) // the sidecar dies while waiting for its turn
	probes.send(pod, "r", r, results.Liveness, results.Failure)
	h.waitFinished(pod.UID)
	if h.count("start s") != 1 || h.count("start r") != 1 {
		t.Fatalf("restarted during termination: %v", h.rt.callLog())
	}
	probes.mu.Lock()
	defer probes.mu.Unlock()
	if len(probes.stopped) != 1 {
		t.Fatal("R49: liveness/startup probes not stopped")
	}
}

// EdgeCase 11: completed init containers are never re-run, not on image change.
func TestEdgeCase11_CompletedInitNeverReRun(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i"}, "r")
	h.start(pod)
	h.rt.exit(h.waitRunning("i"), 0)
	h.waitRunning("r")
	upd := pod.DeepCopy()
	upd.Spec.InitContainers[0].Image = "busybox:1.36"
	_ = h.m.UpdatePod(context.Background(), upd)
	h.waitFor("spec updated", func() bool {
		rec, _ := h.m.Get(pod.UID)
		return rec.Pod.Spec.InitContainers[0].Image == "busybox:1.36"
	})
	time.Sleep(20 * time.Millisecond)
	if h.count("create i") != 1 {
		t.Fatal("completed init container re-run")
	}
	if img := initStatus(h.status(pod.UID), "i").Image; img != "docker.io/library/busybox:1.28" {
		t.Fatalf("status image %s, want the old one", img)
	}
}

// EdgeCase 12: an image change restarts a running regular even under Never
// and a sidecar during init (the running plain init keeps running); it is
// ignored during termination.
func TestEdgeCase12_ImageChangeRestarts_R93(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar", "i"}, "r")
	h.start(pod)
	h.waitRunning("s")
	h.waitRunning("i")
	upd := pod.DeepCopy()
	upd.Spec.InitContainers[0].Image = "busybox:1.36"
	_ = h.m.UpdatePod(context.Background(), upd)
	h.waitFor("sidecar restarted", func() bool { return h.count("start s") == 2 })
	if h.rt.running("i") == "" {
		t.Fatal("plain init interrupted by a sidecar image change")
	}
	if !h.sink.hasEvent("Killing", "Init container s definition changed") {
		t.Fatal("no Killing event for the sidecar")
	}
	h.rt.exit(h.rt.running("i"), 0)
	h.waitRunning("r")
	upd.Spec.Containers[0].Image = "busybox:1.36"
	_ = h.m.UpdatePod(context.Background(), upd)
	h.waitFor("regular restarted under Never", func() bool { return h.count("start r") == 2 })
	cs := h.status(pod.UID).ContainerStatuses[0]
	h.waitFor("status", func() bool {
		cs = h.status(pod.UID).ContainerStatuses[0]
		return cs.RestartCount == 1 && cs.State.Running != nil
	})
	if cs.Image != "docker.io/library/busybox:1.36" {
		t.Fatalf("image %s", cs.Image)
	}
	h.rt.term["r"] = termBehaviour{delay: 3 * time.Second}
	_ = h.m.Delete(context.Background(), pod.UID, nil)
	h.waitFor("r stopping", func() bool { return h.count("stop r 30s") == 2 })
	upd.Spec.Containers[0].Image = "busybox:1.28"
	_ = h.m.UpdatePod(context.Background(), upd)
	h.waitFinished(pod.UID)
	if h.count("start r") != 2 {
		t.Fatal("image change applied during termination")
	}
}

// EdgeCase 13: the status fields kubectl's READY/STATUS use: sidecars
// report Started and Ready; plain init containers never count as ready
// while running.
func TestEdgeCase13_StatusFieldsForReadyColumn(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i", "s:sidecar"}, "r")
	h.start(pod)
	h.waitRunning("i")
	h.waitFor("i running", func() bool { return initStatus(h.status(pod.UID), "i").State.Running != nil })
	st := h.status(pod.UID)
	if i := initStatus(st, "i"); i.Ready || !*i.Started {
		t.Fatalf("running plain init: %+v", i)
	}
	if s := initStatus(st, "s"); s.State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("sidecar default %+v", s.State)
	}
	h.rt.exit(h.rt.running("i"), 0)
	h.waitRunning("r")
	h.waitFor("all ready", func() bool { return cond(h.status(pod.UID), corev1.PodReady).Status == corev1.ConditionTrue })
	st = h.status(pod.UID)
	if s := initStatus(st, "s"); !s.Ready || !*s.Started {
		t.Fatalf("sidecar %+v", s)
	}
	if i := initStatus(st, "i"); !i.Ready || *i.Started {
		t.Fatalf("completed plain init %+v", i)
	}
}

// EdgeCase 14: Ready requires sidecar readiness; Initialized stays True
// while a sidecar restarts once a regular container ran.
func TestEdgeCase14_SidecarReadinessAndInitializedSticks(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	pod.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{}
	h.startRunning(pod, "s", "r")
	if c := cond(h.status(pod.UID), corev1.PodReady); c.Status != corev1.ConditionFalse {
		t.Fatalf("Ready %+v before the sidecar is ready", c)
	}
	s := h.rt.running("s")
	probes.send(pod, "s", s, results.Readiness, results.Success)
	h.waitFor("Ready", func() bool { return cond(h.status(pod.UID), corev1.PodReady).Status == corev1.ConditionTrue })
	h.rt.term["s"] = termBehaviour{}
	h.rt.startErr["s"] = errors.New("boom")
	h.rt.exit(s, 1)
	h.waitFor("sidecar down", func() bool { return !initStatus(h.status(pod.UID), "s").Ready })
	st := h.status(pod.UID)
	if cond(st, corev1.PodInitialized).Status != corev1.ConditionTrue || cond(st, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Fatalf("conditions %+v", st.Conditions)
	}
}

// EdgeCase 15: restartCount is +1 per new instance (crash, liveness kill)
// and persists across a podrund restart.
func TestEdgeCase15_RestartCountSemantics(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "r")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{}
	h.start(pod)
	st := h.status(pod.UID)
	if len(st.InitContainerStatuses) != 2 || st.InitContainerStatuses[1].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("init statuses %+v", st.InitContainerStatuses)
	}
	h.rt.exit(h.waitRunning("i1"), 0)
	h.rt.exit(h.waitRunning("i2"), 0)
	h.rt.exit(h.waitRunning("r"), 1)
	h.waitFor("restart 1", func() bool { return h.count("start r") == 2 })
	r := h.waitRunning("r")
	probes.send(pod, "r", r, results.Liveness, results.Failure)
	h.waitFor("Killing", func() bool { return h.sink.hasEvent("Killing", "Container r failed liveness probe, will be restarted") })
	h.stepUntil("restart 2", time.Second, func() bool { return h.count("start r") == 3 })
	h.waitFor("restartCount 2", func() bool { return h.status(pod.UID).ContainerStatuses[0].RestartCount == 2 })
	h2, rec := h.restart(Options{Probes: newFakeProbes()})
	h2.adopt(rec)
	h2.waitFor("adopted", func() bool {
		st := h2.status(pod.UID)
		return len(st.ContainerStatuses) == 1 && st.ContainerStatuses[0].RestartCount == 2 && st.ContainerStatuses[0].State.Running != nil
	})
}
