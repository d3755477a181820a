package supervisor

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// gateReap holds the reap of container name until the returned release
// runs (at the latest when the test ends).
func (h *harness) gateReap(name string) (release func()) {
	gate := make(chan struct{})
	h.rt.mu.Lock()
	h.rt.reapGate[name] = gate
	h.rt.mu.Unlock()
	done := false
	release = func() {
		if !done {
			done = true
			close(gate)
		}
	}
	h.t.Cleanup(release)
	return release
}

func regularStatus(s corev1.PodStatus, name string) corev1.ContainerStatus {
	if cs := statusByName(s.ContainerStatuses, name); cs != nil {
		return *cs
	}
	return corev1.ContainerStatus{}
}

// exitReapHeld makes the running instance of container name exit with
// code, leaving msg as its termination message, and waits until the
// engine is blocked in its reap; release lets the reap finish.
func (h *harness) exitReapHeld(name string, code int32, msg string) (release func()) {
	h.t.Helper()
	release = h.gateReap(name)
	h.rt.reapMsg[name] = msg
	h.rt.exit(h.rt.running(name), code)
	h.waitFor("reap of "+name+" held", func() bool { return h.rt.held(name) })
	return release
}

// The app's exit sends the sidecar's stop signal while the app's reap is
// still held: the engine reacts before it reaps.
func TestReap_SidecarStopBeforeReapOfExitedApp(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	release := h.exitReapHeld("r", 0, "done, bye")
	h.waitFor("sidecar stop while the reap of r is held", func() bool { return h.count("stop s 30s") == 1 })
	if h.count("reap r") != 0 {
		t.Fatalf("r reaped before the sidecar's stop: %v", h.rt.callLog())
	}
	h.waitFor("r's exit published before its reap", func() bool {
		term := regularStatus(h.status(pod.UID), "r").State.Terminated
		return term != nil && term.Reason == "Completed" && term.ExitCode == 0
	})
	release()
	h.waitPhase(pod.UID, corev1.PodSucceeded)
	calls := h.rt.callLog()
	if indexOf(calls, "stop s 30s") > indexOf(calls, "reap r") || countCalls(calls, "reap r") != 1 {
		t.Fatalf("calls %v", calls)
	}
	if term := regularStatus(h.status(pod.UID), "r").State.Terminated; term == nil || term.Message != "done, bye" {
		t.Fatalf("termination message not folded in: %+v", term)
	}
}

// A crashed sidecar is created again while its old instance's reap is
// held; the reap then adds the termination message to lastState.
func TestReap_RestartBeforeReapOfCrashedSidecar(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	release := h.exitReapHeld("s", 2, "panic: boom")
	h.waitFor("restart while the reap of s is held", func() bool { return h.count("create s") == 2 })
	release()
	h.waitFor("message in lastState", func() bool {
		lt := initStatus(h.status(pod.UID), "s").LastTerminationState.Terminated
		return lt != nil && lt.Message == "panic: boom" && lt.Reason == "Error" && lt.ExitCode == 2
	})
	calls := h.rt.callLog()
	if i, j := lastIndexOf(calls, "create s"), indexOf(calls, "reap s"); i > j {
		t.Fatalf("restart after the reap: calls %v", calls)
	}
}

func lastIndexOf(calls []string, call string) int {
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i] == call {
			return i
		}
	}
	return -1
}

// An OOM kill only the reap sees (cgroup counter, no OOM event) still
// ends up in the status and as an OOMKilling event.
func TestReap_CgroupOOMFoldedIntoStatus(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	h.startRunning(pod, "r")
	h.rt.reapOOM["r"] = true
	h.rt.exit(h.rt.running("r"), 137)
	h.waitFor("OOMKilled in lastState", func() bool {
		lt := regularStatus(h.status(pod.UID), "r").LastTerminationState.Terminated
		return lt != nil && lt.Reason == "OOMKilled" && lt.ExitCode == 137
	})
	h.waitFor("OOMKilling event", func() bool {
		return h.sink.hasEvent("OOMKilling", "Container r was OOM-killed: it exceeded its memory limit (exit code 137)")
	})
}

// R19: a plain init container exiting 0 whose OOM kill only the reap sees
// counts as failed: it is reaped before the next plan, so the next init
// container is never started and the init container runs again.
func TestReap_PlainInitExitZeroCgroupOOM_R19(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyOnFailure, []string{"i1", "i2"}, "r")
	h.start(pod)
	h.rt.reapOOM["i1"] = true
	h.rt.exit(h.waitRunning("i1"), 0)
	h.waitFor("i1 run again", func() bool { return h.count("start i1") == 2 })
	calls := h.rt.callLog()
	if countCalls(calls, "create i2") != 0 {
		t.Fatalf("next init container started after an OOM-killed one: %v", calls)
	}
	if indexOf(calls, "reap i1") > lastIndexOf(calls, "create i1") {
		t.Fatalf("i1 not reaped before the plan: %v", calls)
	}
	if lt := initStatus(h.status(pod.UID), "i1").LastTerminationState.Terminated; lt == nil || lt.Reason != "OOMKilled" {
		t.Fatalf("lastState %+v", lt)
	}
}

// Under OnFailure a regular container exiting 0 but OOM-killed is
// restarted, not completed: that exit is reaped first too.
func TestReap_OnFailureExitZeroCgroupOOMRestarts(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyOnFailure, nil, "r")
	h.startRunning(pod, "r")
	h.rt.reapOOM["r"] = true
	h.rt.exit(h.rt.running("r"), 0)
	h.stepUntil("r restarted", 0, func() bool { return h.count("start r") == 2 })
	if ph := h.status(pod.UID).Phase; ph != corev1.PodRunning {
		t.Fatalf("phase %s, calls %v", ph, h.rt.callLog())
	}
}

// A failed reap is not lost: the finishing pod tries again before its
// sandbox goes.
func TestReap_FailedReapRetriedAtFinish(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r")
	h.rt.term["s"] = termBehaviour{delay: time.Second} // the pod finishes on the fake clock
	h.startRunning(pod, "s", "r")
	h.rt.mu.Lock()
	h.rt.reapErr["r"] = errors.New("containerd busy")
	h.rt.mu.Unlock()
	h.rt.exit(h.rt.running("r"), 0)
	h.waitFor("first reap failed", func() bool { return h.count("reap r") == 1 })
	h.rt.mu.Lock()
	delete(h.rt.reapErr, "r")
	h.rt.mu.Unlock()
	h.stepUntil("Succeeded", 100*time.Millisecond, func() bool { return h.status(pod.UID).Phase == corev1.PodSucceeded })
	calls := h.rt.callLog()
	if countCalls(calls, "reap r") != 2 || lastIndexOf(calls, "reap r") > indexOf(calls, "remove-sandbox") {
		t.Fatalf("calls %v", calls)
	}
	if h.rt.has("r") {
		t.Fatal("r left in the runtime")
	}
}

// podrund stopping while a reap is held leaves the instance Unreaped in
// the store; adoption reaps it and folds in what the reap adds.
func TestReap_UnreapedInstanceReapedOnAdoption(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r", "r2")
	h.startRunning(pod, "s", "r", "r2")
	h.exitReapHeld("r", 0, "written before exit")
	h2, rec := h.restart(Options{})
	if in := newestOf(rec, "r"); in == nil || in.State != InstanceExited || !in.Unreaped {
		t.Fatalf("saved instance %+v", in)
	}
	h.rt.mu.Lock()
	delete(h.rt.reapGate, "r")
	h.rt.mu.Unlock()
	h2.adopt(rec)
	h2.waitFor("message after adoption", func() bool {
		term := regularStatus(h2.status(pod.UID), "r").State.Terminated
		return term != nil && term.Message == "written before exit"
	})
	if h.rt.has("r") {
		t.Fatalf("r not reaped on adoption: %v", h.rt.callLog())
	}
}

func newestOf(rec *PodRecord, name string) *Instance {
	var out *Instance
	for i := range rec.Engine.Instances {
		if in := &rec.Engine.Instances[i]; in.Container == name {
			out = in
		}
	}
	return out
}

// TestExitBeforeRecordedStart: a process that exits at once can carry an
// exit time (containerd's) earlier than the start time podrund read after
// the start call returned. The terminated status never shows a start
// after the exit.
func TestExitBeforeRecordedStart(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	h.start(pod)
	id := h.waitRunning("r")
	h.rt.exitAt(id, 3, t0.Add(-5*time.Millisecond))
	h.waitPhase(pod.UID, corev1.PodFailed)
	cs := statusOf(h.status(pod.UID), "r")
	if cs == nil || cs.State.Terminated == nil {
		t.Fatalf("status of r: %+v", cs)
	}
	if term := cs.State.Terminated; term.StartedAt.After(term.FinishedAt.Time) {
		t.Fatalf("terminated state starts at %v, after its exit at %v", term.StartedAt, term.FinishedAt)
	}
}
