package job

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"k8s.io/apimachinery/pkg/util/wait"
)

// GetJob and ListJobs make fakeCluster a JobSource.
func (f *fakeCluster) GetJob(_ context.Context, _, name string) (*batchv1.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.job == nil || f.jobGone || f.job.Name != name {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "batch", Resource: "jobs"}, name)
	}
	return f.job.DeepCopy(), nil
}

func (f *fakeCluster) ListJobs(context.Context) ([]*batchv1.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.job == nil || f.jobGone {
		return nil, nil
	}
	return []*batchv1.Job{f.job.DeepCopy()}, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 2*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestRunnerDrivesJobs(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	f := newFakeCluster(start)
	f.job = newJob(nil)
	c := NewController(Options{Pods: f, Jobs: f})
	r := NewRunner(c, f, clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	locked := func(fn func() bool) func() bool {
		return func() bool { f.mu.Lock(); defer f.mu.Unlock(); return fn() }
	}
	// Run syncs the stored Job at start.
	waitFor(t, "the first pod", locked(func() bool { return f.creates == 1 }))

	// A pod that fails triggers a Sync through PodChanged; the replacement
	// waits for the 10 s back-off, driven by the clock.
	var failed *corev1.Pod
	locked(func() bool {
		for _, p := range f.pods {
			failed = p
		}
		f.now = clk.Now()
		p := failed
		p.Status.Phase = corev1.PodFailed
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, LastTransitionTime: metaTime(clk.Now())}}
		return true
	})()
	r.PodChanged(failed.DeepCopy())
	waitFor(t, "the failure counted", locked(func() bool { return f.job.Status.Failed == 1 }))
	time.Sleep(20 * time.Millisecond)
	if locked(func() bool { return f.creates != 1 })() {
		t.Fatal("replacement created before the back-off")
	}
	waitFor(t, "the back-off timer", func() bool { return clk.HasWaiters() })
	clk.Step(10 * time.Second)
	waitFor(t, "the replacement pod", locked(func() bool { return f.creates == 2 }))

	// Deleting the Job (already removed from the store) deletes its pods.
	var gone *batchv1.Job
	locked(func() bool { f.jobGone, gone = true, f.job.DeepCopy(); return true })()
	r.OnJobDeleted(context.Background(), gone)
	waitFor(t, "the pods deleted", locked(func() bool { return len(f.deleted) == 2 }))
}
