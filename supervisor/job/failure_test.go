package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// R-V2: failed pods count against backoffLimit; re-creation waits 10 s,
// 20 s, ... after failures.
func TestBackoffLimitCountsFailedPods(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](1) }))
	h.sync()
	h.finish(h.activePods()[0], corev1.PodFailed, nil)
	d := h.sync()
	if h.job.Status.Failed != 1 || h.f.creates != 1 || d != 10*time.Second {
		t.Fatalf("first failure: failed %d creates %d requeue %v, want 1, 1, 10s", h.job.Status.Failed, h.f.creates, d)
	}
	h.advance(4 * time.Second)
	if d := h.sync(); d != 6*time.Second || h.f.creates != 1 {
		t.Fatalf("during back-off: requeue %v creates %d", d, h.f.creates)
	}
	h.c = h.newController() // a podrund restart keeps the back-off: it comes from the pods
	h.advance(6 * time.Second)
	if d := h.sync(); d != 0 || h.f.creates != 2 {
		t.Fatalf("after back-off: requeue %v creates %d", d, h.f.creates)
	}
	h.wantNoCondition(batchv1.JobFailed)
	h.finish(h.activePods()[0], corev1.PodFailed, nil)
	h.sync()
	if h.job.Status.Failed != 2 {
		t.Fatalf("failed %d", h.job.Status.Failed)
	}
	h.wantCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	h.wantCondition(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
	if h.job.Status.CompletionTime != nil || h.f.creates != 2 {
		t.Fatalf("a failed Job has no completionTime (%v) and no new pod (creates %d)", h.job.Status.CompletionTime, h.f.creates)
	}
	if !h.hasEvent("Warning BackoffLimitExceeded") {
		t.Errorf("events %v", h.f.events)
	}
}

func TestBackoffDelayDoublesUpToSixMinutes(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 6 * time.Minute, 6 * time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &syncState{now: now}
	for n, w := range want {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, LastTransitionTime: metav1.NewTime(now)}}}}
		st.failed = append(st.failed, p)
		if got := st.backoffRemaining(); got != w {
			t.Errorf("%d failures: delay %v, want %v", n+1, got, w)
		}
	}
	// A success after the failures resets the back-off.
	st.succeeded = []*corev1.Pod{{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, LastTransitionTime: metav1.NewTime(now.Add(time.Second))}}}}}
	if got := st.backoffRemaining(); got != 0 {
		t.Errorf("after a success: delay %v", got)
	}
}

// R-V2: under OnFailure the restarts of every container of the running
// pods count, sidecars included.
func TestOnFailureRestartsCountSidecars(t *testing.T) {
	for _, tc := range []struct {
		name                string
		limit, sidecar, app int32
		wantFail            bool
	}{
		{"below the limit", 3, 1, 1, false},
		{"sidecar and app restarts reach the limit", 2, 1, 1, true},
		{"sidecar restarts alone", 2, 2, 0, true},
		{"limit 0: any restart", 0, 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newJob(func(j *batchv1.Job) {
				j.Spec.BackoffLimit = ptr.To(tc.limit)
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			}))
			h.sync()
			p := h.activePods()[0]
			h.run(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", RestartCount: tc.sidecar}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pi", RestartCount: tc.app}}
			h.sync()
			if !tc.wantFail {
				h.wantNoCondition(batchv1.JobFailureTarget)
				return
			}
			h.wantCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", "")
			h.wantNoCondition(batchv1.JobFailed) // the pod is still terminating
			if len(h.f.deleted) != 1 || h.job.Status.Terminating == nil || *h.job.Status.Terminating != 1 {
				t.Fatalf("deleted %v terminating %v", h.f.deleted, h.job.Status.Terminating)
			}
			h.wantFailedOnceGone("BackoffLimitExceeded")
		})
	}
}

// R-V4: the Job's deadline fails it and deletes its running pods.
func TestActiveDeadline(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) }))
	if d := h.sync(); d != 60*time.Second {
		t.Fatalf("requeue %v, want the deadline", d)
	}
	h.run(h.activePods()[0])
	h.advance(30 * time.Second)
	if d := h.sync(); d != 30*time.Second {
		t.Fatalf("requeue %v", d)
	}
	h.advance(30 * time.Second)
	h.sync()
	h.wantCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", "Job was active longer than specified deadline")
	if len(h.f.deleted) != 1 {
		t.Fatalf("running pod not deleted: %v", h.f.deleted)
	}
	h.wantNoCondition(batchv1.JobFailed)
	h.wantFailedOnceGone("DeadlineExceeded")
}

// A pod deleted by someone else counts as failed at once and is replaced
// (podReplacementPolicy TerminatingOrFailed); with Failed, the replacement
// waits until the pod is gone.
func TestTerminatingPodReplacement(t *testing.T) {
	for _, policy := range []batchv1.PodReplacementPolicy{batchv1.TerminatingOrFailed, batchv1.Failed} {
		t.Run(string(policy), func(t *testing.T) {
			h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(policy) }))
			h.sync()
			p := h.activePods()[0]
			h.run(p)
			p.DeletionTimestamp = &metav1.Time{Time: h.now}
			h.sync()
			wantCreates := 2
			if policy == batchv1.Failed {
				wantCreates = 1
			}
			if h.f.creates != wantCreates || *h.job.Status.Terminating != 1 {
				t.Fatalf("creates %d terminating %d", h.f.creates, *h.job.Status.Terminating)
			}
			h.gone()
			h.advance(time.Minute)
			h.sync()
			if h.f.creates != 2 {
				t.Fatalf("after the pod went: creates %d", h.f.creates)
			}
		})
	}
}

func TestSuspendAndResume(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Suspend = ptr.To(true)
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
	}))
	h.sync()
	if h.f.creates != 0 || h.job.Status.StartTime != nil {
		t.Fatalf("suspended at creation: creates %d startTime %v", h.f.creates, h.job.Status.StartTime)
	}
	h.wantCondition(batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended")
	h.advance(time.Hour) // the deadline does not run while suspended
	h.f.job.Spec.Suspend = ptr.To(false)
	h.sync()
	h.wantCondition(batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed")
	if h.f.creates != 1 || !h.job.Status.StartTime.Time.Equal(h.now) {
		t.Fatalf("resumed: creates %d startTime %v", h.f.creates, h.job.Status.StartTime)
	}
	h.run(h.activePods()[0])
	h.f.job.Spec.Suspend = ptr.To(true)
	h.advance(time.Second)
	h.sync()
	if len(h.f.deleted) != 1 || h.job.Status.StartTime != nil || h.job.Status.Active != 0 {
		t.Fatalf("suspend while running: deleted %v startTime %v active %d", h.f.deleted, h.job.Status.StartTime, h.job.Status.Active)
	}
	// The deleted pod ends Failed: that is not a failure of the Job.
	h.finish(h.f.pods[h.f.deleted[0]], corev1.PodFailed, map[string]int32{"pi": 143})
	h.sync()
	if h.job.Status.Failed != 0 {
		t.Fatalf("a pod stopped by suspend counted as failed")
	}
	if !h.hasEvent("Suspended") || !h.hasEvent("Resumed") {
		t.Errorf("events %v", h.f.events)
	}
}
