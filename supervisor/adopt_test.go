package supervisor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeProbes is a ProbeManager that records calls; tests send updates.
type fakeProbes struct {
	mu      sync.Mutex
	added   []string
	removed []string
	stopped []types.UID
	now     []string
	ch      chan results.Update
}

func newFakeProbes() *fakeProbes { return &fakeProbes{ch: make(chan results.Update, 100)} }

func (p *fakeProbes) AddInstance(pod *corev1.Pod, c *corev1.Container, id string, startedAt time.Time) {
	appendLocked(&p.mu, &p.added, id)
}
func (p *fakeProbes) RemoveInstance(id string) { appendLocked(&p.mu, &p.removed, id) }
func (p *fakeProbes) StopLivenessAndStartup(uid types.UID) {
	appendLocked(&p.mu, &p.stopped, uid)
}
func (p *fakeProbes) ProbeReadinessNow(id string) { appendLocked(&p.mu, &p.now, id) }

// appendLocked records one call in calls under mu.
func appendLocked[T any](mu *sync.Mutex, calls *[]T, v T) {
	mu.Lock()
	defer mu.Unlock()
	*calls = append(*calls, v)
}
func (p *fakeProbes) Updates() <-chan results.Update { return p.ch }

func (p *fakeProbes) send(pod *corev1.Pod, container, id string, kind results.Kind, r results.Result) {
	// A Failure result comes from a failed attempt, as the probe package sends it.
	p.ch <- results.Update{PodUID: pod.UID, Container: container, InstanceID: id, Kind: kind, Result: r, Output: "out", Failed: r == results.Failure}
}

// restart simulates a podrund restart: the manager stops (containers keep
// running in the fake runtime) and a new one adopts the saved record.
func (h *harness) restart(opts Options) (*harness, *PodRecord) {
	h.t.Helper()
	h.cancel()
	<-h.done
	h.sink.mu.Lock()
	rec := copyRecord(h.sink.last)
	h.sink.mu.Unlock()
	opts.Clock = h.clk
	h2 := &harness{t: h.t, clk: h.clk, rt: h.rt, sink: h.sink, before: h.before}
	h2.m = NewManager(h.rt, h.sink, opts)
	ctx, cancel := context.WithCancel(context.Background())
	h2.cancel, h2.done = cancel, make(chan struct{})
	go func() {
		defer close(h2.done)
		_ = h2.m.Run(ctx)
	}()
	h.t.Cleanup(h2.stop)
	return h2, rec
}

// adopt hands the record of the stopped manager to this one, as podrund
// does at startup.
func (h *harness) adopt(rec *PodRecord) {
	h.t.Helper()
	if err := h.m.Start(context.Background(), rec); err != nil {
		h.t.Fatal(err)
	}
}

// startAlways starts a pod of one container "r" with restartPolicy
// Always and waits until it runs: the pod the adoption tests restart
// podrund under.
func (h *harness) startAlways() (*corev1.Pod, string) {
	h.t.Helper()
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.start(pod)
	id := h.waitRunning("r")
	h.waitPhase(pod.UID, corev1.PodRunning)
	return pod, id
}

func (f *fakeRuntime) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeRuntime) callsSince(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls[n:]...)
}

// TestAdoptNoRestart_R94: after a podrund restart running containers are
// adopted: nothing is created or started, restartCount, Started and Ready
// keep their values in every status saved during the restart.
func TestAdoptNoRestart_R94(t *testing.T) {
	probes := newFakeProbes()
	h := newHarness(t, Options{Probes: probes})
	pod := testPod(corev1.RestartPolicyAlways, []string{"i", "s:sidecar"}, "r")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	pod.Spec.Containers[0].StartupProbe = &corev1.Probe{}
	h.start(pod)
	h.rt.exit(h.waitRunning("i"), 0)
	h.waitRunning("s")
	r := h.waitRunning("r")
	h.waitFor("r registered with probes", func() bool {
		probes.mu.Lock()
		defer probes.mu.Unlock()
		return len(probes.added) > 0 && probes.added[len(probes.added)-1] == r
	})
	probes.send(pod, "r", r, results.Startup, results.Success)
	probes.send(pod, "r", r, results.Readiness, results.Success)
	h.waitFor("Ready", func() bool { return cond(h.status(pod.UID), corev1.PodReady).Status == corev1.ConditionTrue })

	probes2 := newFakeProbes()
	h2, rec := h.restart(Options{Probes: probes2})
	mark := h.rt.mark()
	h.sink.mu.Lock()
	saved := len(h.sink.saves)
	h.sink.mu.Unlock()
	h2.adopt(rec)
	h2.waitFor("first status after adoption", func() bool { h.sink.mu.Lock(); defer h.sink.mu.Unlock(); return len(h.sink.saves) > saved })
	for _, c := range h.rt.callsSince(mark) {
		if c != "sandbox 1" { // EnsureSandbox is idempotent: it re-opens the sandbox
			t.Fatalf("R94: runtime call after adoption: %v", c)
		}
	}
	h.sink.mu.Lock()
	after := h.sink.saves[saved:]
	h.sink.mu.Unlock()
	for _, s := range after {
		st := s.Pod.Status
		if st.Phase != corev1.PodRunning || cond(st, corev1.PodReady).Status != corev1.ConditionTrue {
			t.Fatalf("R94: status flapped: phase %s ready %v", st.Phase, cond(st, corev1.PodReady))
		}
		for _, cs := range append(st.InitContainerStatuses[1:], st.ContainerStatuses...) {
			if cs.RestartCount != 0 || !cs.Ready || cs.Started == nil || !*cs.Started {
				t.Fatalf("R94: %s flapped: %+v", cs.Name, cs)
			}
		}
	}
	probes2.mu.Lock()
	defer probes2.mu.Unlock()
	if len(probes2.added) != 2 {
		t.Fatalf("adopted instances not handed to the probes: %v", probes2.added)
	}
}

// TestAdoptExitedWhileDown_R94_R35: an instance that exited while podrund
// was down is reaped on adoption and restarted by the usual rules.
func TestAdoptExitedWhileDown_R94_R35(t *testing.T) {
	h := newHarness(t, Options{})
	pod, r := h.startAlways()
	h2, rec := h.restart(Options{})
	h.rt.exit(r, 2) // podrund is down
	h2.adopt(rec)
	h2.waitFor("restarted", func() bool { return h.rt.running("r") != "" })
	h2.waitFor("status", func() bool {
		cs := h2.status(pod.UID).ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].LastTerminationState.Terminated != nil &&
			cs[0].LastTerminationState.Terminated.ExitCode == 2
	})
}

// TestSandboxLoss_R95_R14: after a reboot (sandbox and containers gone)
// Always pods re-run the whole initialization with restartCount+1 and are
// Pending until the regular container runs; Never pods are not re-created.
func TestSandboxLoss_R95_R14(t *testing.T) {
	for _, pol := range []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyNever} {
		t.Run(string(pol), func(t *testing.T) {
			h := newHarness(t, Options{})
			pod := testPod(pol, []string{"i1", "s:sidecar", "i3"}, "r")
			h.start(pod)
			h.rt.exit(h.waitRunning("i1"), 0)
			h.waitRunning("s")
			h.rt.exit(h.waitRunning("i3"), 0)
			h.waitRunning("r")
			h.waitPhase(pod.UID, corev1.PodRunning)
			h2, rec := h.restart(Options{})
			h.rt.mu.Lock() // reboot: every container and the sandbox are gone
			clear(h.rt.containers)
			clear(h.rt.sandboxes)
			h.rt.mu.Unlock()
			mark := h.rt.mark()
			h2.adopt(rec)
			if pol == corev1.RestartPolicyNever {
				h2.waitPhase(pod.UID, corev1.PodFailed)
				for _, c := range h.rt.callsSince(mark) {
					if c == "sandbox 2" {
						t.Fatal("R14: Never pod re-created")
					}
				}
				return
			}
			i1 := h2.waitRunning("i1")
			// The status is published after the sync that started i1.
			h2.waitFor("i1's new instance in the status", func() bool {
				cs := h2.status(pod.UID).InitContainerStatuses
				return len(cs) > 0 && cs[0].State.Running != nil && cs[0].RestartCount == 1
			})
			if ph := h2.status(pod.UID).Phase; ph != corev1.PodPending {
				t.Fatalf("R80: phase %s while re-initializing", ph)
			}
			h.rt.exit(i1, 0)
			h2.waitRunning("s")
			h.rt.exit(h2.waitRunning("i3"), 0)
			h2.waitRunning("r")
			h2.waitPhase(pod.UID, corev1.PodRunning)
			want := []string{"remove-sandbox", "sandbox 2", "create i1", "start i1"}
			if got := h.rt.callsSince(mark); !equalStrings(got[:4], want) {
				t.Fatalf("calls %v", got)
			}
			st := h2.status(pod.UID)
			for _, cs := range append(st.InitContainerStatuses, st.ContainerStatuses...) {
				if cs.RestartCount != 1 {
					t.Fatalf("R88: %s restartCount %d, want 1", cs.Name, cs.RestartCount)
				}
			}
			if !h.sink.hasEvent("SandboxChanged", "Pod sandbox changed, it will be killed and re-created.") {
				t.Fatal("no SandboxChanged event")
			}
		})
	}
}

// TestLostContainer_R88: a running instance that vanished while the
// sandbox exists is ContainerStatusUnknown 137 and restarts with
// restartCount+1.
func TestLostContainer_R88(t *testing.T) {
	h := newHarness(t, Options{})
	pod, r := h.startAlways()
	h.rt.mu.Lock()
	delete(h.rt.containers, r)
	h.rt.mu.Unlock()
	h.rt.events <- RuntimeEvent{Kind: EventReconnected}
	h.waitFor("restart", func() bool {
		cs := h.status(pod.UID).ContainerStatuses[0]
		lt := cs.LastTerminationState.Terminated
		return cs.RestartCount == 1 && lt != nil && lt.Reason == "ContainerStatusUnknown" && lt.ExitCode == 137
	})
}

// TestAdoptMidTermination_R61_R94: podrund restarts while a pod is being
// deleted; the new manager resumes the termination and reports the pod
// finished. A completed pod adopted later is reported at once on delete.
func TestAdoptMidTermination_R61_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.rt.term["r"] = termBehaviour{ignore: true}
	h.startRunning(pod, "s", "r")
	_ = h.m.Delete(context.Background(), pod.UID, nil)
	h.waitFor("r stopping", func() bool { _, ok := h.rt.stopOf("r"); return ok })
	h.waitFor("terminating saved", func() bool {
		h.sink.mu.Lock()
		defer h.sink.mu.Unlock()
		return h.sink.last.Engine.Terminating != nil
	})
	h2, rec := h.restart(Options{})
	if rec.Pod.DeletionTimestamp == nil {
		t.Fatal("deletion not persisted")
	}
	h2.adopt(rec)
	fin := h2.waitFinished(pod.UID)
	if fin.Pod.Status.Phase != corev1.PodFailed || h.rt.running("s") != "" || h.rt.running("r") != "" {
		t.Fatalf("phase %s, running s=%q r=%q", fin.Pod.Status.Phase, h.rt.running("s"), h.rt.running("r"))
	}

	pod2 := testPod(corev1.RestartPolicyNever, nil, "r")
	pod2.UID = "done-pod"
	h2.start(pod2)
	h.rt.exit(h2.waitRunning("r"), 0)
	h2.waitPhase(pod2.UID, corev1.PodSucceeded)
	h3, rec2 := h2.restart(Options{})
	h3.adopt(rec2)
	h3.waitFor("adopted", func() bool { _, ok := h3.m.Get(pod2.UID); return ok })
	if err := h3.m.Delete(context.Background(), pod2.UID, nil); err != nil {
		t.Fatal(err)
	}
	if fin := h3.waitFinished(pod2.UID); fin.Pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("phase %s", fin.Pod.Status.Phase)
	}
}

// TestAdoptEarlyExit_R94: an instance that exits after the boot listing but
// before its pod was started again is still reaped and restarted.
func TestAdoptEarlyExit_R94(t *testing.T) {
	h := newHarness(t, Options{})
	a := testPod(corev1.RestartPolicyAlways, nil, "r")
	a.UID = "pod-a"
	b := testPod(corev1.RestartPolicyAlways, nil, "q")
	b.UID = "pod-b"
	h.startRunning(a, "r")
	h.startRunning(b, "q")
	// The saves are read once the first manager has stopped: a status is
	// visible to Get (startRunning) before the worker has saved it.
	h2, _ := h.restart(Options{})
	recs := map[string]*PodRecord{}
	h.sink.mu.Lock()
	for _, s := range h.sink.saves {
		recs[string(s.Pod.UID)] = s
	}
	h.sink.mu.Unlock()
	if err := h2.m.Start(context.Background(), copyRecord(recs["pod-a"])); err != nil {
		t.Fatal(err)
	}
	h2.waitFor("a adopted", func() bool { _, ok := h2.m.Get("pod-a"); return ok })
	h2.waitFor("listing cached", func() bool { h2.m.listMu.Lock(); defer h2.m.listMu.Unlock(); return h2.m.listed != nil })
	h.rt.exit(h.rt.running("q"), 3)
	h2.waitFor("early exit kept", func() bool { h2.m.listMu.Lock(); defer h2.m.listMu.Unlock(); return len(h2.m.early) == 1 })
	if err := h2.m.Start(context.Background(), copyRecord(recs["pod-b"])); err != nil {
		t.Fatal(err)
	}
	h2.waitFor("q restarted", func() bool {
		cs := h2.status("pod-b").ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].LastTerminationState.Terminated != nil &&
			cs[0].LastTerminationState.Terminated.ExitCode == 3
	})
}

// TestAdoptRemovesUnknownInstance_R94: a container of the pod that the
// stored record does not name (podrund stopped after creating it, before
// the status was committed) is removed on adoption; the recorded running
// instance is adopted untouched.
func TestAdoptRemovesUnknownInstance_R94(t *testing.T) {
	h := newHarness(t, Options{})
	pod, r := h.startAlways()
	h2, rec := h.restart(Options{})
	h.rt.mu.Lock()
	h.rt.containers["r-orphan"] = &fakeContainer{id: "r-orphan", podUID: string(pod.UID), name: "r",
		attempt: 1, state: InstanceRunning, exited: make(chan struct{})}
	h.rt.mu.Unlock()
	h2.adopt(rec)
	h2.waitFor("unknown instance removed", func() bool {
		h.rt.mu.Lock()
		defer h.rt.mu.Unlock()
		return h.rt.containers["r-orphan"] == nil
	})
	if got := h.rt.running("r"); got != r {
		t.Fatalf("recorded instance %s not adopted as is (running: %q)", r, got)
	}
	if cs := h2.status(pod.UID).ContainerStatuses; len(cs) != 1 || cs[0].RestartCount != 0 {
		t.Fatalf("status after adoption: %+v", cs)
	}
}

// TestRebootRemovesTasklessContainers_R95: after a reboot the containers
// are still in the runtime's metadata but their tasks are gone (Unknown).
// Adoption records them as lost (137) and removes them, so they do not
// outlive the pod; the pod re-initializes (R95).
func TestRebootRemovesTasklessContainers_R95(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.start(pod)
	old := []string{h.waitRunning("s"), h.waitRunning("r")}
	h.waitPhase(pod.UID, corev1.PodRunning)
	h2, rec := h.restart(Options{})
	h.rt.mu.Lock()
	for _, c := range h.rt.containers {
		c.state = InstanceUnknown // metadata kept, task gone
	}
	clear(h.rt.sandboxes)
	h.rt.mu.Unlock()
	h2.adopt(rec)
	h2.waitFor("re-initialized", func() bool { r := h.rt.running("r"); return r != "" && r != old[1] })
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	for _, id := range old {
		if h.rt.containers[id] != nil {
			t.Errorf("lost instance %s still in the runtime after adoption", id)
		}
	}
}
