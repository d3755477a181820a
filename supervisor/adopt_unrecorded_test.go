package supervisor

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// leftBehind puts in the runtime what a podrund SIGKILLed before it
// committed the status left of pod: its sandbox (attempt 1) and the given
// instances.
func (f *fakeRuntime) leftBehind(pod *corev1.Pod, cs ...*fakeContainer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sandboxes[string(pod.UID)] = 1
	for _, c := range cs {
		c.podUID = string(pod.UID)
		if c.exited == nil {
			c.exited = make(chan struct{})
		}
		if c.state == InstanceExited {
			close(c.exited)
		}
		f.containers[c.id] = c
	}
}

// holds tells whether the runtime still holds instance id.
func (f *fakeRuntime) holds(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.containers[id] != nil
}

// noCalls fails if the runtime saw a call starting with one of prefixes.
func noCalls(t *testing.T, calls []string, prefixes ...string) {
	t.Helper()
	for _, c := range calls {
		for _, p := range prefixes {
			if strings.HasPrefix(c, p) {
				t.Fatalf("R94: unexpected runtime call %q; calls %v", c, calls)
			}
		}
	}
}

func statusOf(s corev1.PodStatus, name string) *corev1.ContainerStatus {
	for _, cs := range append(s.InitContainerStatuses, s.ContainerStatuses...) {
		if cs.Name == name {
			return &cs
		}
	}
	return nil
}

// TestAdoptUnrecordedRunning_R94: podrund was SIGKILLed in a new pod's
// first sync after starting its container, before the status naming it
// was saved. The next podrund adopts the running instance: no stop,
// removal, creation or start; Running, restartCount 0, Started and Ready
// (R17: no startup probe).
func TestAdoptUnrecordedRunning_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.rt.leftBehind(pod, &fakeContainer{id: "r-left", name: "r", sandbox: 1, state: InstanceRunning, startedAt: t0})
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodRunning)
	h.settle()
	noCalls(t, h.rt.callLog(), "create", "start", "stop")
	if !h.rt.holds("r-left") || h.rt.running("r") != "r-left" {
		t.Fatalf("adopted instance removed; calls %v", h.rt.callLog())
	}
	cs := statusOf(h.status(pod.UID), "r")
	if cs == nil || cs.ContainerID != "containerd://r-left" || cs.State.Running == nil || cs.RestartCount != 0 ||
		cs.Started == nil || !*cs.Started || !cs.Ready || !cs.State.Running.StartedAt.Time.Equal(t0) {
		t.Fatalf("status of the adopted instance: %+v", cs)
	}
	in, ok := h.m.Instance(pod.UID, "r")
	if !ok || in.SandboxAttempt != 1 || in.SpecHash != specHash(&pod.Spec.Containers[0]) ||
		in.ImageID != "sha256:bb" || in.StopSignal == 0 || in.LogPath == "" {
		t.Fatalf("adopted instance %+v", in)
	}
	// It runs on as any instance: its exit is seen and it restarts (R35).
	h.rt.exit("r-left", 1)
	h.waitFor("restart", func() bool {
		cs := statusOf(h.status(pod.UID), "r")
		return cs != nil && cs.RestartCount == 1 && cs.LastTerminationState.Terminated != nil
	})
}

// TestAdoptAfterListFailure_R94: the runtime listing at adoption fails
// (containerd answers an error for one task, as when a shim left by the
// SIGKILLed podrund dies meanwhile). Nothing is started before a listing
// succeeded: the instance the stopped podrund started without recording
// it is adopted, not started a second time.
func TestAdoptAfterListFailure_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.rt.leftBehind(pod, &fakeContainer{id: "r-left", name: "r", sandbox: 1, state: InstanceRunning, startedAt: t0})
	h.rt.mu.Lock()
	h.rt.listErrs = 2
	h.rt.mu.Unlock()
	h.start(pod)
	h.stepUntil("adopted", 100*time.Millisecond, func() bool {
		cs := statusOf(h.status(pod.UID), "r")
		return cs != nil && cs.ContainerID == "containerd://r-left" && cs.State.Running != nil
	})
	h.settle()
	noCalls(t, h.rt.callLog(), "create", "start", "stop")
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	if h.rt.lists != 3 {
		t.Fatalf("listed %d times, want 3 (two failures, then the listing adopted from)", h.rt.lists)
	}
}

// TestAdoptUnrecordedExited_R94: a Job-style pod (Never) whose container
// was started by a podrund SIGKILLed before recording it, and exited 0
// while podrund was down: it is reaped once and counted (Succeeded), never
// run a second time.
func TestAdoptUnrecordedExited_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, nil, "j")
	h.rt.leftBehind(pod, &fakeContainer{id: "j-left", name: "j", sandbox: 1, state: InstanceExited,
		startedAt: t0, exit: &ExitStatus{ExitCode: 0, FinishedAt: t0.Add(time.Second)}})
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodSucceeded)
	h.settle()
	calls := h.rt.callLog()
	noCalls(t, calls, "create", "start", "stop")
	if n := len(slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return c != "reap j" })); n != 1 {
		t.Fatalf("reaped %d times, want once; calls %v", n, calls)
	}
	cs := statusOf(h.status(pod.UID), "j")
	if cs == nil || cs.RestartCount != 0 || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 ||
		cs.State.Terminated.Reason != "Completed" || cs.ContainerID != "containerd://j-left" {
		t.Fatalf("status of the adopted exited instance: %+v", cs)
	}
}

// TestAdoptUnrecordedNextAttempt_R94_R35: the recorded instance exited
// while podrund was down and the stopped podrund had already started the
// next attempt without recording it. The exit is caught up (restartCount
// 1, lastState), and the next attempt is adopted, not started again.
func TestAdoptUnrecordedNextAttempt_R94_R35(t *testing.T) {
	h := newHarness(t, Options{})
	pod, r0 := h.startAlways()
	h2, rec := h.restart(Options{})
	h.rt.exit(r0, 2)
	h.rt.leftBehind(pod, &fakeContainer{id: "r-next", name: "r", attempt: 1, sandbox: 1,
		state: InstanceRunning, startedAt: t0.Add(time.Second)})
	mark := h.rt.mark()
	h2.adopt(rec)
	h2.waitFor("exit caught up", func() bool {
		cs := statusOf(h2.status(pod.UID), "r")
		return cs != nil && cs.RestartCount == 1 && cs.LastTerminationState.Terminated != nil &&
			cs.LastTerminationState.Terminated.ExitCode == 2 && cs.State.Running != nil
	})
	h2.settle()
	noCalls(t, h.rt.callsSince(mark), "create", "start", "stop")
	if cs := statusOf(h2.status(pod.UID), "r"); cs.ContainerID != "containerd://r-next" {
		t.Fatalf("running instance %s, want the adopted r-next", cs.ContainerID)
	}
	if rec, _ := h2.m.Get(pod.UID); rec.Engine.Backoff[backoffKey(&pod.Spec.Containers[0])].Backoff == 0 {
		t.Fatalf("R35: the adopted restart left no back-off entry: %+v", rec.Engine.Backoff)
	}
}

// TestAdoptUnrecordedRemoved_R94: instances that are not exactly the next
// one the engine would start are removed as before, and the containers are
// started by the engine's rules: a Created-only instance (never ran), a
// second started instance of one container, a wrong attempt, another
// sandbox attempt, a container the spec does not have.
func TestAdoptUnrecordedRemoved_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b", "c", "d")
	left := []*fakeContainer{
		{id: "a-created", name: "a", sandbox: 1, state: InstanceCreated},
		{id: "b-first", name: "b", sandbox: 1, state: InstanceRunning, startedAt: t0},
		{id: "b-second", name: "b", sandbox: 1, state: InstanceRunning, startedAt: t0.Add(time.Second)},
		{id: "c-attempt3", name: "c", attempt: 3, sandbox: 1, state: InstanceRunning, startedAt: t0},
		{id: "d-sandbox2", name: "d", sandbox: 2, state: InstanceRunning, startedAt: t0},
		{id: "z-unknown", name: "z", sandbox: 1, state: InstanceRunning, startedAt: t0},
	}
	h.rt.leftBehind(pod, left...)
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodRunning)
	h.settle()
	for _, c := range left {
		if h.rt.holds(c.id) != (c.id == "b-first") {
			t.Errorf("%s: in the runtime %v; calls %v", c.id, h.rt.holds(c.id), h.rt.callLog())
		}
	}
	calls := h.rt.callLog()
	for _, name := range []string{"a", "c", "d"} {
		if !slices.Contains(calls, "create "+name) || !slices.Contains(calls, "start "+name) {
			t.Errorf("%s not started anew; calls %v", name, calls)
		}
	}
	if slices.Contains(calls, "create b") {
		t.Errorf("b started again though its instance was adopted; calls %v", calls)
	}
	st := h.status(pod.UID)
	for _, name := range []string{"a", "b", "c", "d"} {
		if cs := statusOf(st, name); cs == nil || cs.State.Running == nil || cs.RestartCount != 0 {
			t.Errorf("%s: %+v", name, cs)
		}
	}
}

// TestAdoptUnrecordedSecondInstanceRemoved_R94: while the recorded
// instance still runs, an unrecorded started one of the same container
// (even with the next attempt) is a second instance: removed.
func TestAdoptUnrecordedSecondInstanceRemoved_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod, r := h.startAlways()
	h2, rec := h.restart(Options{})
	h.rt.leftBehind(pod, &fakeContainer{id: "r-second", name: "r", attempt: 1, sandbox: 1,
		state: InstanceRunning, startedAt: t0})
	h2.adopt(rec)
	h2.waitFor("second instance removed", func() bool { return !h.rt.holds("r-second") })
	h2.settle()
	if got := h.rt.running("r"); got != r {
		t.Fatalf("running %q, want the recorded %s", got, r)
	}
	if cs := statusOf(h2.status(pod.UID), "r"); cs == nil || cs.RestartCount != 0 || cs.ContainerID != "containerd://"+r {
		t.Fatalf("status: %+v", cs)
	}
}

// TestAdoptUnrecordedPostStart_R17_R94: an adopted running instance with a
// postStart hook: whether the hook ran is unknowable; as the kubelet does
// for a container it finds running, the hook is not run again and the
// container is Started (no startup probe). With a startup probe it is
// Started only once the probe succeeds.
func TestAdoptUnrecordedPostStart_R17_R94(t *testing.T) {
	var hooks atomic.Int32
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes, RunHook: func(ctx context.Context, p *corev1.Pod, c *corev1.Container, id string, hd *corev1.LifecycleHandler) error {
		hooks.Add(1)
		return nil
	}})
	pod := testPod(corev1.RestartPolicyAlways, nil, "hooked", "probed")
	hook := &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	pod.Spec.Containers[0].Lifecycle = hook
	pod.Spec.Containers[1].Lifecycle = hook
	pod.Spec.Containers[1].StartupProbe = &corev1.Probe{}
	h.rt.leftBehind(pod,
		&fakeContainer{id: "hooked-left", name: "hooked", sandbox: 1, state: InstanceRunning, startedAt: t0},
		&fakeContainer{id: "probed-left", name: "probed", sandbox: 1, state: InstanceRunning, startedAt: t0})
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodRunning)
	h.settle()
	if n := hooks.Load(); n != 0 {
		t.Fatalf("postStart ran %d times for adopted instances", n)
	}
	st := h.status(pod.UID)
	if cs := statusOf(st, "hooked"); cs == nil || cs.Started == nil || !*cs.Started || !cs.Ready {
		t.Fatalf("hooked: %+v", cs)
	}
	if cs := statusOf(st, "probed"); cs == nil || (cs.Started != nil && *cs.Started) {
		t.Fatalf("probed started before its startup probe succeeded: %+v", cs)
	}
	probes.mu.Lock()
	added := slices.Clone(probes.added)
	probes.mu.Unlock()
	if !slices.Contains(added, "probed-left") || !slices.Contains(added, "hooked-left") {
		t.Fatalf("adopted instances not handed to the probes: %v", added)
	}
	probes.send(pod, "probed", "probed-left", results.Startup, results.Success)
	h.waitFor("probed started", func() bool {
		cs := statusOf(h.status(pod.UID), "probed")
		return cs != nil && cs.Started != nil && *cs.Started
	})
	noCalls(t, h.rt.callLog(), "create", "start", "stop")
}
