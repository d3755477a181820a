package supervisor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// sleepHooks is a HookRunner whose handlers are sleep actions on the fake
// clock; it records when each hook began.
type sleepHooks struct {
	clk    *clocktesting.FakeClock
	mu     sync.Mutex
	starts map[string]time.Time
}

func (h *sleepHooks) run(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, hd *corev1.LifecycleHandler) error {
	h.mu.Lock()
	h.starts[c.Name] = h.clk.Now()
	h.mu.Unlock()
	if hd.Sleep == nil || hd.Sleep.Seconds == 0 {
		return nil
	}
	select {
	case <-h.clk.After(time.Duration(hd.Sleep.Seconds) * time.Second):
	case <-ctx.Done():
	}
	return nil
}

func (h *sleepHooks) started(name string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.starts[name]
	return t, ok
}

func withPreStop(pod *corev1.Pod, name string, seconds int64) {
	c, _ := findContainer(pod, name)
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: seconds}}}
}

func setGrace(pod *corev1.Pod, g int64) { pod.Spec.TerminationGracePeriodSeconds = &g }

// stopAt returns the offset from base at which name got its stop signal
// and the grace it was given.
func (f *fakeRuntime) stopOf(name string) (stopRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stops {
		if s.name == name {
			return s, true
		}
	}
	return stopRecord{}, false
}

func near(a, b time.Duration) bool {
	d := a - b
	return d > -400*time.Millisecond && d < 400*time.Millisecond
}

func (h *harness) checkStop(base time.Time, name string, at, grace time.Duration) {
	h.t.Helper()
	s, ok := h.rt.stopOf(name)
	if !ok {
		h.t.Fatalf("%s never got its stop signal", name)
	}
	if !near(s.at.Sub(base), at) || s.grace != grace {
		h.t.Errorf("%s: stop signal at +%v with grace %v, want +%v with %v", name, s.at.Sub(base), s.grace, at, grace)
	}
}

func (h *harness) finalExit(rec *PodRecord, name string) int32 {
	h.t.Helper()
	for _, cs := range append(rec.Pod.Status.InitContainerStatuses, rec.Pod.Status.ContainerStatuses...) {
		if cs.Name == name && cs.State.Terminated != nil {
			return cs.State.Terminated.ExitCode
		}
	}
	h.t.Fatalf("%s has no terminated state", name)
	return -1
}

// startRunning starts pod and waits until every named container runs.
func (h *harness) startRunning(pod *corev1.Pod, names ...string) {
	h.t.Helper()
	h.start(pod)
	for _, n := range names {
		h.waitRunning(n)
	}
	h.waitFor("pod Running", func() bool { return h.status(pod.UID).Phase == corev1.PodRunning })
}

func (h *harness) waitFinished(uid types.UID) *PodRecord {
	h.t.Helper()
	var rec *PodRecord
	h.stepUntil("pod finished", 100*time.Millisecond, func() bool {
		select {
		case rec = <-h.sink.finished:
			return true
		default:
			return false
		}
	})
	if rec.Pod.UID != uid {
		h.t.Fatalf("finished pod %s, want %s", rec.Pod.UID, uid)
	}
	return rec
}

// TestGraceSharedClock_R58_R63_R64: TGPS 5, the regular container traps
// TERM for 20 s, sidecars trap for 1 s and 20 s: the regular is SIGKILLed at
// 5 s; both sidecars get TERM at ~5 s with the 2 s minimum window.
func TestGraceSharedClock_R58_R63_R64(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s1:sidecar", "s2:sidecar"}, "r")
	setGrace(pod, 5)
	h.rt.term["r"] = termBehaviour{delay: 20 * time.Second, code: 0}
	h.rt.term["s1"] = termBehaviour{delay: time.Second, code: 0}
	h.rt.term["s2"] = termBehaviour{delay: 20 * time.Second, code: 0}
	h.startRunning(pod, "s1", "s2", "r")
	base := h.clk.Now()
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	rec := h.waitFinished(pod.UID)
	h.checkStop(base, "r", 0, 5*time.Second)
	h.checkStop(base, "s2", 5*time.Second, 2*time.Second)
	h.checkStop(base, "s1", 5*time.Second, 2*time.Second)
	if h.finalExit(rec, "r") != 137 || h.finalExit(rec, "s1") != 0 || h.finalExit(rec, "s2") != 137 {
		t.Fatalf("exit codes r %d s1 %d s2 %d", h.finalExit(rec, "r"), h.finalExit(rec, "s1"), h.finalExit(rec, "s2"))
	}
	if rec.Pod.Status.Phase != corev1.PodFailed {
		t.Fatalf("R69: regular 137 → Failed, got %s", rec.Pod.Status.Phase)
	}
}

// TestSidecarPreStopBudget_R65_R57: a sidecar's 30 s preStop with TGPS 5 is
// abandoned at 5 s, then TERM with 2 s and KILL; all preStops begin together.
func TestSidecarPreStopBudget_R65_R57(t *testing.T) {
	h, hooks := newHookHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s1:sidecar", "s2:sidecar"}, "r")
	setGrace(pod, 5)
	withPreStop(pod, "s1", 30)
	withPreStop(pod, "s2", 1)
	withPreStop(pod, "r", 1)
	h.rt.term["s1"] = termBehaviour{ignore: true}
	h.startRunning(pod, "s1", "s2", "r")
	base := h.clk.Now()
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	rec := h.waitFinished(pod.UID)
	for _, n := range []string{"s1", "s2", "r"} {
		if at, ok := hooks.started(n); !ok || at.Sub(base) > 200*time.Millisecond {
			t.Errorf("R57: preStop of %s began at +%v, want at once", n, at.Sub(base))
		}
	}
	h.checkStop(base, "r", time.Second, 4*time.Second)
	h.checkStop(base, "s2", time.Second, 4*time.Second)
	h.checkStop(base, "s1", 5*time.Second, 2*time.Second)
	if h.finalExit(rec, "s1") != 137 || h.finalExit(rec, "s2") != 143 {
		t.Fatalf("exit codes s1 %d s2 %d", h.finalExit(rec, "s1"), h.finalExit(rec, "s2"))
	}
}

// TestJobCompletionOrder_R72_R73_R74: after the regular container exits 0,
// sidecars that exit 5 s after TERM are stopped in reverse order (S3 at t,
// S2 at t+5, S1 at t+10), the phase stays Running until they are gone, then
// Succeeded.
func TestJobCompletionOrder_R72_R73_R74(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s1:sidecar", "s2:sidecar", "s3:sidecar"}, "r")
	for _, n := range []string{"s1", "s2", "s3"} {
		h.rt.term[n] = termBehaviour{delay: 5 * time.Second, code: 1}
	}
	h.startRunning(pod, "s1", "s2", "s3", "r")
	base := h.clk.Now()
	h.rt.exit(h.rt.running("r"), 0)
	h.waitFor("s3 stopping", func() bool { _, ok := h.rt.stopOf("s3"); return ok })
	if ph := h.status(pod.UID).Phase; ph != corev1.PodRunning {
		t.Fatalf("R73: phase while sidecars stop = %s, want Running", ph)
	}
	h.stepUntil("pod Succeeded", 100*time.Millisecond, func() bool { return h.status(pod.UID).Phase == corev1.PodSucceeded })
	h.checkStop(base, "s3", 0, 30*time.Second)
	h.checkStop(base, "s2", 5*time.Second, 25*time.Second)
	h.checkStop(base, "s1", 10*time.Second, 20*time.Second)
	if d := h.clk.Now().Sub(base); !near(d, 15*time.Second) {
		t.Errorf("pod Succeeded at +%v, want ~15 s", d)
	}
	rec, _ := h.m.Get(pod.UID)
	if h.finalExit(rec, "s1") != 1 {
		t.Fatal("R73: sidecar keeps its own exit code")
	}
}

// TestJobCompletionPreStopForever_R74: every sidecar preStop loops forever:
// all hooks begin at t, are abandoned at t+30, TERM with 2 s, KILL ≈ t+32,
// all sidecars 137, pod still Succeeded.
func TestJobCompletionPreStopForever_R74(t *testing.T) {
	h, _ := newHookHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyOnFailure, []string{"s1:sidecar", "s2:sidecar"}, "r")
	for _, n := range []string{"s1", "s2"} {
		withPreStop(pod, n, 100000)
		h.rt.term[n] = termBehaviour{ignore: true}
	}
	h.startRunning(pod, "s1", "s2", "r")
	base := h.clk.Now()
	h.rt.exit(h.rt.running("r"), 0)
	h.stepUntil("pod Succeeded", 200*time.Millisecond, func() bool { return h.status(pod.UID).Phase == corev1.PodSucceeded })
	h.checkStop(base, "s1", 30*time.Second, 2*time.Second)
	h.checkStop(base, "s2", 30*time.Second, 2*time.Second)
	rec, _ := h.m.Get(pod.UID)
	if h.finalExit(rec, "s1") != 137 || h.finalExit(rec, "s2") != 137 {
		t.Fatal("sidecars should be SIGKILLed")
	}
	if d := h.clk.Now().Sub(base); d < 31*time.Second || d > 33*time.Second {
		t.Errorf("pod Succeeded at +%v, want ~32 s", d)
	}
}

// TestInitFailureNever_R75: a plain init failing under Never fails the pod
// at once; the running sidecar is terminated; regulars never start.
func TestInitFailureNever_R75(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar", "i"}, "r")
	h.start(pod)
	h.waitRunning("s")
	h.rt.exit(h.waitRunning("i"), 3)
	h.waitFor("sidecar stopped", func() bool { _, ok := h.rt.stopOf("s"); return ok })
	h.waitPhase(pod.UID, corev1.PodFailed)
	h.waitFor("sandbox removed", func() bool {
		calls := h.rt.callLog()
		return calls[len(calls)-1] == "remove-sandbox"
	})
	for _, c := range h.rt.callLog() {
		if c == "create r" {
			t.Fatal("R75: regular container started")
		}
	}
}

// TestGraceOnlyDecreases_R61: a second delete with a longer grace is
// ignored; a shorter one shortens the kill.
func TestGraceOnlyDecreases_R61(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.rt.term["r"] = termBehaviour{ignore: true}
	h.startRunning(pod, "r")
	base := h.clk.Now()
	g20, g60, g3 := int64(20), int64(60), int64(3)
	_ = h.m.Delete(context.Background(), pod.UID, &g20)
	h.waitFor("stop", func() bool { _, ok := h.rt.stopOf("r"); return ok })
	_ = h.m.Delete(context.Background(), pod.UID, &g60)
	h.clk.Step(time.Second)
	_ = h.m.Delete(context.Background(), pod.UID, &g3)
	rec := h.waitFinished(pod.UID)
	if d := rec.Pod.Status.ContainerStatuses[0].State.Terminated.FinishedAt.Sub(base); d > 4*time.Second {
		t.Fatalf("R61: killed at +%v, want ≤ 3 s after the shorter grace", d)
	}
	if g := *rec.Pod.DeletionGracePeriodSeconds; g != 20 {
		t.Logf("deletionGracePeriodSeconds %d", g)
	}
	if rec.Engine.Terminating.GracePeriod != 3 {
		t.Fatalf("grace %d, want 3", rec.Engine.Terminating.GracePeriod)
	}
}

// TestGraceShrinkKeepsOrder_R61_R63: a shorter second delete shortens every
// wait: the sidecar still waits for its turn, now only up to the new grace.
func TestGraceShrinkKeepsOrder_R61_R63(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.rt.term["r"] = termBehaviour{ignore: true}
	h.rt.term["s"] = termBehaviour{ignore: true}
	h.startRunning(pod, "s", "r")
	base := h.clk.Now()
	g30, g5 := int64(30), int64(5)
	_ = h.m.Delete(context.Background(), pod.UID, &g30)
	h.waitFor("r stopping", func() bool { _, ok := h.rt.stopOf("r"); return ok })
	h.waitFor("timers", func() bool { return h.clk.Waiters() >= 2 })
	h.clk.Step(time.Second)
	time.Sleep(10 * time.Millisecond)
	if _, ok := h.rt.stopOf("s"); ok {
		t.Fatal("sidecar stopped before its turn")
	}
	_ = h.m.Delete(context.Background(), pod.UID, &g5)
	rec := h.waitFinished(pod.UID)
	h.checkStop(base, "r", 0, 30*time.Second)
	h.checkStop(base, "s", 5*time.Second, 2*time.Second)
	if d := h.clk.Now().Sub(base); d < 7*time.Second || d > 8*time.Second {
		t.Fatalf("finished at +%v, want ~7 s", d)
	}
	if h.finalExit(rec, "r") != 137 || h.finalExit(rec, "s") != 137 {
		t.Fatal("both should be SIGKILLed")
	}
}

// TestFailedStopKeepsSidecarWaiting_R63: a stop call for the app that
// fails (a runtime error) leaves the app running; the sidecar's turn must
// not come before the app has really stopped, whatever the failed kill
// did. The kill is retried and the sidecar is stopped after the app exits.
func TestFailedStopKeepsSidecarWaiting_R63(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.rt.term["r"] = termBehaviour{delay: 3 * time.Second, code: 0}
	h.rt.stopErr["r"] = errors.New("ttrpc: connection closed")
	h.startRunning(pod, "s", "r")
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	rec := h.waitFinished(pod.UID)
	calls := h.rt.callLog()
	failed, exitR := slices.Index(calls, "stop r failed"), slices.Index(calls, "exit r 0")
	stopS := slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, "stop s ") })
	if failed < 0 || exitR < 0 || stopS < 0 || stopS < exitR {
		t.Errorf("want the failed stop of r, r's exit, then s's stop signal (R63); calls %v", calls)
	}
	if h.finalExit(rec, "r") != 0 {
		t.Errorf("r exit %d, want 0 (stopped by the retried kill)", h.finalExit(rec, "r"))
	}
}
