package job

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func indexedJob(completions, parallelism int32, mutate func(j *batchv1.Job)) *batchv1.Job {
	return newJob(func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr.To(completions), ptr.To(parallelism)
		if mutate != nil {
			mutate(j)
		}
	})
}

func podOfIndex(h *harness, i string) *corev1.Pod {
	for _, p := range h.activePods() {
		if p.Labels[batchv1.JobCompletionIndexAnnotation] == i {
			return p
		}
	}
	h.t.Fatalf("no active pod for index %s in %v", i, h.podNames())
	return nil
}

func TestIndexedPods(t *testing.T) {
	h := newHarness(t, indexedJob(3, 2, nil))
	h.sync()
	if got := strings.Join(h.podNames(), " "); got != "pi-0-00001 pi-1-00002" {
		t.Fatalf("pods %q", got)
	}
	p := h.f.pods["pi-1-00002"]
	if p.Labels[batchv1.JobCompletionIndexAnnotation] != "1" || p.Annotations[batchv1.JobCompletionIndexAnnotation] != "1" {
		t.Errorf("index label/annotation %v %v", p.Labels, p.Annotations)
	}
	if p.Spec.Hostname != "pi-1" {
		t.Errorf("hostname %q", p.Spec.Hostname)
	}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if len(c.Env) != 1 || c.Env[0].Name != "JOB_COMPLETION_INDEX" ||
			c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("container %s env %+v", c.Name, c.Env)
		}
	}
	if h.f.job.Spec.Template.Spec.Containers[0].Env != nil {
		t.Error("the Job's template was modified")
	}

	h.finish(podOfIndex(h, "1"), corev1.PodSucceeded, nil)
	h.sync()
	if s := h.job.Status; s.CompletedIndexes != "1" || s.Succeeded != 1 {
		t.Fatalf("completedIndexes %q succeeded %d", s.CompletedIndexes, s.Succeeded)
	}
	podOfIndex(h, "2") // index 2 started in the freed slot
	h.finish(podOfIndex(h, "0"), corev1.PodFailed, nil)
	h.advance(10 * time.Second)
	h.sync()
	h.finish(podOfIndex(h, "2"), corev1.PodSucceeded, nil)
	h.finish(podOfIndex(h, "0"), corev1.PodSucceeded, nil)
	h.sync()
	s := h.job.Status
	if s.CompletedIndexes != "0-2" || s.Succeeded != 3 || s.Failed != 1 {
		t.Fatalf("completedIndexes %q succeeded %d failed %d", s.CompletedIndexes, s.Succeeded, s.Failed)
	}
	h.wantCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", "")
}

// A second succeeded pod for an index already completed adds nothing.
func TestIndexedDuplicateSuccessCountsOnce(t *testing.T) {
	h := newHarness(t, indexedJob(2, 2, nil))
	h.sync()
	dup := h.f.pods["pi-0-00001"].DeepCopy()
	dup.Name, dup.UID = "pi-0-dup", "uid-dup"
	h.f.pods[dup.Name] = dup
	h.sync()
	if len(h.f.deleted) != 1 {
		t.Fatalf("duplicate active pod for index 0 not deleted: %v", h.f.deleted)
	}
	h.finish(h.f.pods["pi-0-00001"], corev1.PodSucceeded, nil)
	h.finish(dup, corev1.PodSucceeded, nil)
	h.sync()
	if s := h.job.Status; s.Succeeded != 1 || s.CompletedIndexes != "0" {
		t.Fatalf("succeeded %d completedIndexes %q", s.Succeeded, s.CompletedIndexes)
	}
}

func TestSuccessPolicy(t *testing.T) {
	h := newHarness(t, indexedJob(3, 3, func(j *batchv1.Job) {
		j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
			{SucceededIndexes: ptr.To("0-1"), SucceededCount: ptr.To[int32](2)}, {SucceededIndexes: ptr.To("0")}}}
	}))
	h.sync()
	h.run(podOfIndex(h, "1"))
	h.finish(podOfIndex(h, "0"), corev1.PodSucceeded, nil)
	h.sync()
	h.wantCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "SuccessPolicy", "Matched rules at index 1")
	h.wantNoCondition(batchv1.JobComplete)
	if len(h.f.deleted) != 2 {
		t.Fatalf("the remaining pods were not deleted: %v", h.f.deleted)
	}
	h.gone()
	h.sync()
	h.wantCondition(batchv1.JobComplete, corev1.ConditionTrue, "SuccessPolicy", "Matched rules at index 1")
	if h.job.Status.CompletedIndexes != "0" || h.job.Status.Failed != 0 {
		t.Fatalf("status %+v", h.job.Status)
	}
}

// backoffLimitPerIndex: an index that failed too often is failed; the
// Job fails once every index is done.
func TestBackoffLimitPerIndex(t *testing.T) {
	h := newHarness(t, indexedJob(2, 2, func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }))
	h.sync()
	h.finish(podOfIndex(h, "0"), corev1.PodFailed, nil)
	h.advance(10 * time.Second)
	h.sync()
	retry := podOfIndex(h, "0")
	if retry.Annotations[batchv1.JobIndexFailureCountAnnotation] != "1" {
		t.Fatalf("failure count annotation %v", retry.Annotations)
	}
	h.finish(retry, corev1.PodFailed, nil)
	h.sync()
	if s := h.job.Status; ptr.Deref(s.FailedIndexes, "") != "0" {
		t.Fatalf("failedIndexes %v", s.FailedIndexes)
	}
	h.wantNoCondition(batchv1.JobFailed)
	h.finish(podOfIndex(h, "1"), corev1.PodSucceeded, nil)
	h.sync()
	h.wantCondition(batchv1.JobFailed, corev1.ConditionTrue, "FailedIndexes", "Job has failed indexes")
}

func TestFailIndexAndMaxFailedIndexes(t *testing.T) {
	h := newHarness(t, indexedJob(3, 3, func(j *batchv1.Job) {
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](5)
		j.Spec.MaxFailedIndexes = ptr.To[int32](0)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			exitRule(batchv1.PodFailurePolicyActionFailIndex, nil, batchv1.PodFailurePolicyOnExitCodesOpIn, 3)}}
	}))
	h.sync()
	h.finish(podOfIndex(h, "2"), corev1.PodFailed, map[string]int32{"pi": 3})
	h.sync()
	if ptr.Deref(h.job.Status.FailedIndexes, "") != "2" {
		t.Fatalf("failedIndexes %v", h.job.Status.FailedIndexes)
	}
	h.wantCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, "MaxFailedIndexesExceeded", "")
}

// A Job that skipped validation (Indexed without completions) must not
// crash the controller.
func TestIndexedWithoutCompletionsDoesNotPanic(t *testing.T) {
	j := indexedJob(1, 1, nil)
	j.Spec.Completions = nil
	h := newHarness(t, j)
	h.sync()
	if h.f.creates != 0 {
		t.Fatalf("creates %d", h.f.creates)
	}
}
