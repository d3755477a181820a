package supervisor

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestPostStartFailure_R53: FailedPostStartHook event, the instance is
// killed, and a regular container under Never is not restarted.
func TestPostStartFailure_R53(t *testing.T) {
	h := newHarness(t, Options{RunHook: func(ctx context.Context, p *corev1.Pod, c *corev1.Container, id string, hd *corev1.LifecycleHandler) error {
		return errors.New("hook exited 1")
	}})
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
	h.start(pod)
	h.waitPhase(pod.UID, corev1.PodFailed)
	if !h.sink.hasEvent("FailedPostStartHook", "PostStartHook failed") {
		t.Fatal("no FailedPostStartHook event")
	}
	if h.count("start r") != 1 || h.count("stop r 30s") != 1 {
		t.Fatalf("calls %v", h.rt.callLog())
	}
}

// TestActiveDeadline_R70_Worker: at the deadline the pod is Failed with
// reason DeadlineExceeded and its containers are killed; the timer fires
// exactly at the deadline.
func TestActiveDeadline_R70_Worker(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	ads := int64(60)
	pod.Spec.ActiveDeadlineSeconds = &ads
	h.startRunning(pod, "r")
	h.waitFor("deadline timer", h.clk.HasWaiters)
	h.clk.Step(59 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if h.status(pod.UID).Phase != corev1.PodRunning {
		t.Fatal("failed before the deadline")
	}
	h.clk.Step(time.Second)
	h.waitPhase(pod.UID, corev1.PodFailed)
	st := h.status(pod.UID)
	if st.Reason != "DeadlineExceeded" || st.Message != deadlineMessage {
		t.Fatalf("reason %q message %q", st.Reason, st.Message)
	}
	h.waitFor("container stopped", func() bool { return h.rt.running("r") == "" })
	h.waitFor("sandbox removed", func() bool { return h.count("remove-sandbox") == 1 })
	if h.count("start r") != 1 {
		t.Fatal("restarted after the deadline")
	}
}

// TestDeleteAfterCompletion: a pod that completed on its own is reported
// finished at once when deleted, and its worker is gone.
func TestDeleteAfterCompletion(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	h.start(pod)
	h.rt.exit(h.waitRunning("r"), 0)
	h.waitPhase(pod.UID, corev1.PodSucceeded)
	if err := h.m.Delete(context.Background(), pod.UID, nil); err != nil {
		t.Fatal(err)
	}
	rec := h.waitFinished(pod.UID)
	if rec.Pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("phase %s", rec.Pod.Status.Phase)
	}
	if _, ok := h.m.Get(pod.UID); ok {
		t.Fatal("finished pod still held")
	}
	if err := h.m.Delete(context.Background(), pod.UID, nil); !errors.Is(err, ErrPodNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestOOMKilled_R86: an OOM event before the exit gives reason OOMKilled;
// a plain init OOMKilled with exit 0 counts as failed (R19).
func TestOOMKilled_R86(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyOnFailure, []string{"i"}, "r")
	h.start(pod)
	i := h.waitRunning("i")
	h.rt.events <- RuntimeEvent{Kind: EventOOM, PodUID: string(pod.UID), ContainerID: i}
	h.rt.exit(i, 0)
	h.waitFor("init restarted", func() bool { return h.count("start i") == 2 })
	lt := initStatus(h.status(pod.UID), "i").LastTerminationState.Terminated
	if lt == nil || lt.Reason != "OOMKilled" {
		t.Fatalf("lastState %+v", lt)
	}
	h.waitEvent("OOMKilling", "Container i was OOM-killed: it exceeded its memory limit (exit code 0)")
}

// TestShutdown: node shutdown stops every pod in order, keeps the records
// (no PodFinished) and leaves them non-terminal so they run again.
func TestShutdown(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar"}, "r")
	h.startRunning(pod, "s", "r")
	done := make(chan error, 1)
	go func() { done <- h.m.Shutdown(context.Background(), 10*time.Second) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("shutdown hung; calls %v", h.rt.callLog())
	}
	calls := h.rt.callLog()
	if countCalls(calls, "stop r 10s") != 1 || h.rt.running("s") != "" {
		t.Fatalf("calls %v", calls)
	}
	select {
	case <-h.sink.finished:
		t.Fatal("shutdown must not remove the pod")
	default:
	}
	if ph := h.status(pod.UID).Phase; ph == corev1.PodFailed || ph == corev1.PodSucceeded {
		t.Fatalf("phase %s after shutdown", ph)
	}
}

// TestConcurrentStarts bounds the first syncs running at once.
func TestConcurrentStarts(t *testing.T) {
	var inHook, maxIn atomic.Int32
	release := make(chan struct{})
	h := newHarness(t, Options{ConcurrentStarts: 1, RunHook: func(ctx context.Context, p *corev1.Pod, c *corev1.Container, id string, hd *corev1.LifecycleHandler) error {
		n := inHook.Add(1)
		for {
			m := maxIn.Load()
			if n <= m || maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		inHook.Add(-1)
		return nil
	}})
	for i := range 3 {
		pod := testPod(corev1.RestartPolicyAlways, nil, "r")
		pod.UID = types.UID("pod-" + string(rune('a'+i)))
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{}}}
		h.start(pod)
	}
	h.waitFor("first hook", func() bool { return inHook.Load() == 1 })
	time.Sleep(20 * time.Millisecond)
	if h.count("create r") != 1 {
		t.Fatalf("more than one first sync at once: %v", h.rt.callLog())
	}
	close(release)
	h.waitFor("all started", func() bool { return h.count("start r") == 3 })
	if maxIn.Load() != 1 {
		t.Fatalf("max concurrent first syncs %d", maxIn.Load())
	}
}

// TestActiveDeadlineFromFirstSync_R70: a pod whose record came with a
// status but no startTime still gets its deadline timer at once.
func TestActiveDeadlineFromFirstSync_R70(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	pod.Status.Phase = corev1.PodPending // as the server may store it
	ads := int64(5)
	pod.Spec.ActiveDeadlineSeconds = &ads
	h.start(pod)
	h.waitRunning("r")
	h.waitFor("deadline timer", h.clk.HasWaiters)
	h.clk.Step(5 * time.Second)
	h.waitPhase(pod.UID, corev1.PodFailed)
}

// TestWorkerEndsWithPod: once a pod finished (deleted, or completed on its
// own) its worker goroutine and every kill goroutine are gone, while the
// manager keeps running.
func TestWorkerEndsWithPod(t *testing.T) {
	h := newHarness(t, Options{})
	time.Sleep(10 * time.Millisecond)
	base := goroutines()
	for i := range 3 {
		pod := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r")
		pod.UID = types.UID("leak-" + string(rune('a'+i)))
		h.startRunning(pod, "s", "r")
		if i == 0 {
			h.rt.exit(h.rt.running("r"), 0) // Job-style completion
			h.waitPhase(pod.UID, corev1.PodSucceeded)
			continue
		}
		_ = h.m.Delete(context.Background(), pod.UID, nil)
		h.waitFinished(pod.UID)
	}
	_ = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 2*time.Second, true, func(context.Context) (bool, error) { return goroutines() <= base, nil })
	if n := goroutines(); n > base {
		t.Fatalf("%d goroutines left after the pods finished, %d before", n, base)
	}
}

func goroutines() int { return runtime.NumGoroutine() }
