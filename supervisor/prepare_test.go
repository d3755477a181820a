package supervisor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The fake runtime's side of PreparedChecker.

func (f *fakeRuntime) PreparedCurrent(ctx context.Context, req CreateRequest, inst Instance) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("check %s", req.Container.Name)
	return !f.stale[req.Container.Name], nil
}

func (f *fakeRuntime) RemovePrepared(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.containers[id]; c != nil {
		f.record("remove-prepared %s", c.name)
		if c.state != InstanceCreated {
			return fmt.Errorf("instance %s of %s was started", id, c.name)
		}
	}
	delete(f.containers, id)
	return nil
}

// only keeps the calls with one of the prefixes.
func only(calls []string, prefixes ...string) []string {
	var out []string
	for _, c := range calls {
		for _, p := range prefixes {
			if strings.HasPrefix(c, p) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// containerEvents lists "reason container" of the pod's container events.
func containerEvents(s *fakeSink) []string {
	var out []string
	for _, ev := range s.eventList() {
		out = append(out, ev.Reason+" "+ev.InvolvedObject.FieldPath)
	}
	return out
}

// TestPrepareAhead_SidecarOrder_R11_R12: with two sidecars and an app, the
// later containers are created ahead, yet the starts, the events and the
// status come in exactly the order and shape of the sequential mode. The
// critical path comes first: nothing is prepared before the first
// container's task started.
func TestPrepareAhead_SidecarOrder_R11_R12(t *testing.T) {
	run := func(ahead bool) ([]string, []string, corev1.PodStatus) {
		// s1's postStart hook is held until the later containers are
		// being prepared, as a real start takes longer than beginning a
		// creation.
		gate := make(chan struct{})
		hook := func(ctx context.Context, _ *corev1.Pod, c *corev1.Container, _ string, _ *corev1.LifecycleHandler) error {
			if c.Name == "s1" {
				<-gate
			}
			return nil
		}
		h := newHarness(t, Options{PrepareAhead: ahead, RunHook: hook})
		pod := testPod(corev1.RestartPolicyAlways, []string{"s1:sidecar", "s2:sidecar"}, "app")
		pod.Spec.InitContainers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		createS1 := make(chan struct{})
		h.rt.mu.Lock()
		h.rt.createGate["s1"] = createS1
		h.rt.mu.Unlock()
		h.start(pod)
		h.waitFor("s1's creation under way", func() bool { return indexOf(h.rt.callLog(), "held s1") >= 0 })
		// While the first container is created nothing else is: a
		// creation ahead begun now would have shown within this time.
		time.Sleep(50 * time.Millisecond)
		if calls := h.rt.callLog(); len(only(calls, "prepare ")) > 0 {
			t.Fatalf("prepared while the first container was created: %v", calls)
		}
		close(createS1)
		if ahead {
			h.waitFor("s2 and app prepared", func() bool {
				calls := h.rt.callLog()
				return indexOf(calls, "prepare s2") >= 0 && indexOf(calls, "prepare app") >= 0
			})
		}
		close(gate)
		h.waitRunning("app")
		h.waitPhase(pod.UID, corev1.PodRunning)
		// Events are sent after the status is saved.
		h.waitFor("the app's Started event", func() bool {
			return slices.Contains(containerEvents(h.sink), "Started spec.containers{app}")
		})
		st := h.status(pod.UID)
		calls, evs := h.rt.callLog(), containerEvents(h.sink)
		h.stop()
		return calls, evs, st
	}
	seqCalls, seqEvents, seqStatus := run(false)
	calls, events, status := run(true)
	wantStarts := []string{"start s1", "start s2", "start app"}
	if got := only(calls, "start "); !equalStrings(got, wantStarts) {
		t.Fatalf("prepared ahead: starts %v, want %v (calls %v)", got, wantStarts, calls)
	}
	if got := only(seqCalls, "start "); !equalStrings(got, wantStarts) {
		t.Fatalf("sequential: starts %v, want %v", got, wantStarts)
	}
	if got := only(calls, "prepare ", "create "); len(got) != 3 || indexOf(calls, "create s1") < 0 ||
		indexOf(calls, "prepare s2") < 0 || indexOf(calls, "prepare app") < 0 {
		t.Fatalf("creates %v: want s1 created at its turn, s2 and app prepared ahead", got)
	}
	if indexOf(calls, "create s2") >= 0 || indexOf(calls, "create app") >= 0 {
		t.Fatalf("a prepared container was created again: %v", calls)
	}
	if s1 := indexOf(calls, "start s1"); s1 > indexOf(calls, "prepare s2") || s1 > indexOf(calls, "prepare app") {
		t.Fatalf("prepared before the first container's task started: %v", calls)
	}
	if !equalStrings(events, seqEvents) {
		t.Fatalf("events differ\n ahead %v\n   seq %v", events, seqEvents)
	}
	for i := range status.InitContainerStatuses {
		a, b := status.InitContainerStatuses[i], seqStatus.InitContainerStatuses[i]
		if a.Name != b.Name || (a.State.Running == nil) != (b.State.Running == nil) || a.RestartCount != b.RestartCount {
			t.Fatalf("init status %d differs: %+v vs %+v", i, a, b)
		}
	}
}

// startInitPod starts a pod whose plain init container i1 runs until the
// test ends it, with the later containers prepared; it returns i1's ID.
func startInitPod(t *testing.T, h *harness, pod *corev1.Pod, prepared ...string) string {
	t.Helper()
	h.start(pod)
	i1 := h.waitRunning("i1")
	h.waitFor("later containers prepared", func() bool {
		calls := h.rt.callLog()
		for _, n := range prepared {
			if indexOf(calls, "prepare "+n) < 0 {
				return false
			}
		}
		return true
	})
	return i1
}

// TestPrepareAhead_Invisible_R16: while the init container runs, the
// prepared app is in no status and no event; at its turn the prepared
// instance is the one started, announced by Created then Started.
func TestPrepareAhead_Invisible_R16(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "app")
	i1 := startInitPod(t, h, pod, "app")
	h.m.Get(pod.UID) // the worker may still publish: wait for the status to settle on Pending
	h.waitPhase(pod.UID, corev1.PodPending)
	rec, _ := h.m.Get(pod.UID)
	for _, in := range rec.Engine.Instances {
		if in.Container == "app" {
			t.Fatalf("prepared app is in the engine state: %+v", in)
		}
	}
	if cs := rec.Pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].ContainerID != "" || cs[0].State.Waiting == nil ||
		cs[0].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("app status while i1 runs: %+v", cs)
	}
	for _, ev := range containerEvents(h.sink) {
		if strings.Contains(ev, "{app}") {
			t.Fatalf("event about the prepared app before its turn: %s", ev)
		}
	}
	h.rt.exit(i1, 0)
	app := h.waitRunning("app")
	if !strings.HasPrefix(app, "app-") || indexOf(h.rt.callLog(), "create app") >= 0 {
		t.Fatalf("app %s not the prepared instance: %v", app, h.rt.callLog())
	}
	h.waitFor("Started event of app", func() bool { return indexOf(containerEvents(h.sink), "Started spec.containers{app}") >= 0 })
	evs := containerEvents(h.sink)
	if c, s := indexOf(evs, "Created spec.containers{app}"), indexOf(evs, "Started spec.containers{app}"); c < 0 || s < c {
		t.Fatalf("app events %v", evs)
	}
}

// TestPrepareAhead_InitFailsNever_R19: a plain init container fails under
// restartPolicy Never: the pod fails and the prepared app is removed,
// never started.
func TestPrepareAhead_InitFailsNever_R19(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyNever, []string{"i1", "i2"}, "app")
	i1 := startInitPod(t, h, pod, "i2", "app")
	h.rt.exit(i1, 1)
	h.waitPhase(pod.UID, corev1.PodFailed)
	h.waitFor("prepared removed", func() bool { return !h.rt.has("i2") && !h.rt.has("app") })
	calls := h.rt.callLog()
	if indexOf(calls, "start i2") >= 0 || indexOf(calls, "start app") >= 0 {
		t.Fatalf("a container whose turn never came was started: %v", calls)
	}
	if indexOf(calls, "remove-prepared i2") < 0 || indexOf(calls, "remove-prepared app") < 0 {
		t.Fatalf("prepared containers not removed: %v", calls)
	}
	for _, ev := range containerEvents(h.sink) {
		if strings.Contains(ev, "{app}") || strings.Contains(ev, "{i2}") {
			t.Fatalf("event about a container whose turn never came: %s", ev)
		}
	}
}

// TestPrepareAhead_DeletedDuringInit_R61: the pod is deleted while its init
// container runs, once with the app prepared and once with the app's
// creation still in progress: either way the app is removed (or never
// made), never started, before the sandbox goes.
func TestPrepareAhead_DeletedDuringInit_R61(t *testing.T) {
	for _, held := range []bool{false, true} {
		t.Run(fmt.Sprintf("creation in progress %v", held), func(t *testing.T) {
			h := newHarness(t, Options{PrepareAhead: true})
			pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "app")
			if held {
				h.rt.mu.Lock()
				h.rt.createGate["app"] = make(chan struct{}) // never opened
				h.rt.mu.Unlock()
				h.start(pod)
				h.waitRunning("i1")
				h.waitFor("app's creation begun", func() bool { return indexOf(h.rt.callLog(), "held app") >= 0 })
			} else {
				startInitPod(t, h, pod, "app")
			}
			deleteAndWaitFinished(t, h, pod)
			calls := h.rt.callLog()
			if h.rt.has("app") || indexOf(calls, "start app") >= 0 {
				t.Fatalf("prepared app left or started: %v", calls)
			}
			if r, s := indexOf(calls, "remove-prepared app"), indexOf(calls, "remove-sandbox"); !held && (r < 0 || r > s) {
				t.Fatalf("prepared app not removed before the sandbox: %v", calls)
			}
			if held && indexOf(calls, "prepare app") >= 0 {
				t.Fatalf("creation went on after the deletion: %v", calls)
			}
		})
	}
}

// TestPrepareAhead_ImageNeedsPull_R27: images that need a pull (absent, or
// pull policy Always) are not prepared: "Pulling" stays at the turn.
func TestPrepareAhead_ImageNeedsPull_R27(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "absent", "always", "app")
	pod.Spec.Containers[0].Image = "other:1.0"
	pod.Spec.Containers[1].ImagePullPolicy = corev1.PullAlways
	i1 := startInitPod(t, h, pod, "app")
	h.settle()
	calls := h.rt.callLog()
	if indexOf(calls, "prepare absent") >= 0 || indexOf(calls, "prepare always") >= 0 || len(only(calls, "pull ")) != 0 {
		t.Fatalf("container needing a pull prepared or pulled early: %v", calls)
	}
	h.rt.exit(i1, 0)
	h.waitRunning("app")
	calls = h.rt.callLog()
	want := []string{"pull other:1.0", "create absent", "start absent", "pull busybox:1.28", "create always",
		"start always", "check app", "start app"}
	if got := only(calls[indexOf(calls, "exit i1 0"):], "pull ", "create ", "start ", "check "); !equalStrings(got, want) {
		t.Fatalf("turns %v, want %v", got, want)
	}
}

// TestPrepareAhead_StaleRecreated: a prepared instance whose inputs changed
// (a ConfigMap its env reads) is removed and created again at its turn.
func TestPrepareAhead_StaleRecreated(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "app")
	i1 := startInitPod(t, h, pod, "app")
	h.rt.mu.Lock()
	h.rt.stale["app"] = true
	h.rt.mu.Unlock()
	h.rt.exit(i1, 0)
	app := h.waitRunning("app")
	calls := h.rt.callLog()
	want := []string{"check app", "create app", "start app"}
	if got := only(calls, "check ", "create app", "start app"); !equalStrings(got, want) {
		t.Fatalf("turn %v, want %v", got, want)
	}
	h.waitFor("stale app removed", func() bool { return indexOf(h.rt.callLog(), "remove-prepared app") >= 0 })
	if id := h.rt.running("app"); id != app || countRunning(h.rt, "app") != 1 {
		t.Fatalf("app instances: running %s, started %s", id, app)
	}
}

func countRunning(f *fakeRuntime, name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.containers {
		if c.name == name {
			n++
		}
	}
	return n
}

// TestPrepareAhead_FailureAtTurn_R87: a preparation that fails (a missing
// ConfigMap key) says nothing early; at the turn the usual create fails
// with the usual waiting reason and event.
func TestPrepareAhead_FailureAtTurn_R87(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "app")
	h.rt.mu.Lock()
	h.rt.createErr["app"] = &StartError{Reason: "CreateContainerConfigError", Message: `couldn't find key k in ConfigMap default/cm`}
	h.rt.mu.Unlock()
	i1 := startInitPod(t, h, pod, "app")
	h.settle()
	if st := h.status(pod.UID); st.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" ||
		h.sink.hasEvent("Failed", "") {
		t.Fatalf("failed preparation visible before the turn: %+v", st.ContainerStatuses[0].State)
	}
	h.rt.exit(i1, 0)
	h.waitFor("app waiting with the create error", func() bool {
		w := h.status(pod.UID).ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CreateContainerConfigError"
	})
	if indexOf(h.rt.callLog(), "create app") < 0 || !h.sink.hasEvent("Failed", "Error: couldn't find key k in ConfigMap default/cm") {
		t.Fatalf("turn did not create as usual: %v", h.rt.callLog())
	}
}

// TestPrepareAhead_ImageUpdated_R93: an in-place image change while the
// app is prepared makes it stale: removed, and the new image created at
// the turn.
func TestPrepareAhead_ImageUpdated_R93(t *testing.T) {
	h := newHarness(t, Options{PrepareAhead: true})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1"}, "app")
	i1 := startInitPod(t, h, pod, "app")
	np := pod.DeepCopy()
	np.Spec.Containers[0].Image = "busybox:1.36"
	h.rt.mu.Lock()
	h.rt.images["busybox:1.36"] = ImageStatus{Present: true, Ref: "docker.io/library/busybox:1.36", ID: "sha256:b36"}
	h.rt.mu.Unlock()
	if err := h.m.UpdatePod(context.Background(), np); err != nil {
		t.Fatal(err)
	}
	h.waitFor("stale app removed", func() bool { return indexOf(h.rt.callLog(), "remove-prepared app") >= 0 })
	h.rt.exit(i1, 0)
	h.waitRunning("app")
	if calls := h.rt.callLog(); indexOf(calls, "create app") < indexOf(calls, "remove-prepared app") {
		t.Fatalf("app not created at its turn after the update: %v", calls)
	}
	if img := h.status(pod.UID).ContainerStatuses[0].Image; !strings.HasSuffix(img, "busybox:1.36") {
		t.Fatalf("app runs image %s", img)
	}
}

func TestPrepareParallel(t *testing.T) {
	for cpus, want := range map[int]int{1: 2, 2: 2, 3: 3, 4: 4, 64: 4} {
		if got := prepareParallel(cpus); got != want {
			t.Errorf("prepareParallel(%d) = %d, want %d", cpus, got, want)
		}
	}
}

// TestPrepareAhead_ManyLaterDeletedMidChain: a pod with 40 sidecars is
// deleted while its first sidecar's postStart hook hangs (ignoring the
// cancellation, as a stuck exec would) and two creations ahead are held
// in the middle: once the deletion returned no creation ahead begins (the
// held one let go afterwards may end), nothing whose turn never came is
// started, every prepared instance is removed, and no creation goroutine
// is left behind (the harness counts them).
func TestPrepareAhead_ManyLaterDeletedMidChain(t *testing.T) {
	hookStarted, releaseHook := make(chan struct{}), make(chan struct{})
	hook := func(ctx context.Context, _ *corev1.Pod, c *corev1.Container, _ string, _ *corev1.LifecycleHandler) error {
		if c.Name == "s0" {
			close(hookStarted)
			<-releaseHook
		}
		return nil
	}
	h := newHarness(t, Options{PrepareAhead: true, RunHook: hook})
	h.m.prepSem = make(chan struct{}, 2) // two creations at a time, whatever the CPUs
	var inits []string
	for i := range 40 {
		inits = append(inits, fmt.Sprintf("s%d:sidecar", i))
	}
	pod := testPod(corev1.RestartPolicyAlways, inits, "app")
	pod.Spec.InitContainers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	gateS6 := make(chan struct{})
	h.rt.mu.Lock()
	h.rt.createGate["s5"] = make(chan struct{}) // never opened
	h.rt.createGate["s6"] = gateS6
	h.rt.mu.Unlock()
	h.start(pod)
	<-hookStarted
	h.waitFor("s5 and s6 held", func() bool {
		calls := h.rt.callLog()
		return indexOf(calls, "held s5") >= 0 && indexOf(calls, "held s6") >= 0
	})
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	h.rt.mu.Lock()
	h.rt.record("test: deleted")
	h.rt.mu.Unlock()
	close(gateS6)                     // s6 was in flight; the ones waiting for it must not begin
	time.Sleep(20 * time.Millisecond) // room for a wrongly begun creation to show
	close(releaseHook)
	waitFinished(h)
	calls := h.rt.callLog()
	for _, c := range only(calls, "prepare ") {
		if name := strings.TrimPrefix(c, "prepare "); indexOf(calls, "remove-prepared "+name) < 0 {
			t.Fatalf("prepared %s not removed: %v", name, calls)
		}
	}
	if got := only(calls, "start "); !equalStrings(got, []string{"start s0"}) {
		t.Fatalf("starts %v: only s0's turn came", got)
	}
	if after := only(calls[indexOf(calls, "test: deleted"):], "prepare "); len(after) > 1 {
		t.Fatalf("creations ahead after the deletion %v, at most s6's (in flight): %v", after, calls)
	}
	for i := 1; i < 40; i++ {
		if name := fmt.Sprintf("s%d", i); h.rt.has(name) {
			t.Fatalf("%s left in the runtime: %v", name, calls)
		}
	}
}

// deleteAndWaitFinished deletes pod and steps the clock until it finished.
func deleteAndWaitFinished(t *testing.T, h *harness, pod *corev1.Pod) {
	t.Helper()
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	waitFinished(h)
}

// waitFinished steps the clock until the pod finished.
func waitFinished(h *harness) {
	h.t.Helper()
	h.stepUntil("pod finished", time.Second, func() bool {
		select {
		case <-h.sink.finished:
			return true
		default:
			return false
		}
	})
}
