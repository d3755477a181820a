package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestCreatesPodFromTemplate(t *testing.T) {
	h := newHarness(t, newJob(nil))
	if d := h.sync(); d != 0 {
		t.Fatalf("requeue %v", d)
	}
	names := h.podNames()
	if len(names) != 1 || names[0] != "pi-00001" {
		t.Fatalf("pods %v, want [pi-00001]", names)
	}
	p := h.f.pods[names[0]]
	for k, v := range map[string]string{
		"batch.kubernetes.io/job-name": "pi", "job-name": "pi",
		"batch.kubernetes.io/controller-uid": "job-uid", "controller-uid": "job-uid",
	} {
		if p.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], v)
		}
	}
	if len(p.OwnerReferences) != 1 {
		t.Fatalf("ownerReferences %+v", p.OwnerReferences)
	}
	ref := p.OwnerReferences[0]
	if ref.Kind != "Job" || ref.APIVersion != "batch/v1" || ref.Name != "pi" || ref.UID != "job-uid" ||
		!ptr.Deref(ref.Controller, false) || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("owner reference %+v", ref)
	}
	if p.Namespace != "default" || p.Spec.InitContainers[0].Name != "proxy" || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("pod spec not from the template: %+v", p.Spec)
	}
	if _, ok := p.Labels[batchv1.JobCompletionIndexAnnotation]; ok {
		t.Error("NonIndexed pod has a completion index")
	}
	s := h.job.Status
	if s.Active != 1 || s.StartTime == nil || !s.StartTime.Time.Equal(h.now) || *s.Ready != 0 {
		t.Errorf("status %+v", s)
	}
	if !h.hasEvent("Normal SuccessfulCreate Created pod: pi-00001") {
		t.Errorf("events %v", h.f.events)
	}
	// A second Sync with nothing changed creates nothing and writes nothing.
	updates := h.f.updates
	h.sync()
	if h.f.creates != 1 || h.f.updates != updates {
		t.Errorf("idle sync: creates %d updates %d→%d", h.f.creates, updates, h.f.updates)
	}
}

func TestLongJobNameIsTruncatedForPods(t *testing.T) {
	name := "a234567890b234567890c234567890d234567890e234567890f234567890"
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Name = name }))
	h.sync()
	got := h.podNames()[0]
	if len(got) != 63 || got[:58] != (name + "-")[:58] {
		t.Fatalf("pod name %q (%d chars)", got, len(got))
	}
}

// R-V1: completions and parallelism count pods by phase.
func TestParallelCompletions(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](2)
	}))
	h.sync()
	if got := len(h.activePods()); got != 2 {
		t.Fatalf("active %d, want parallelism 2", got)
	}
	for _, p := range h.activePods() {
		h.run(p)
	}
	h.sync()
	if s := h.job.Status; s.Active != 2 || *s.Ready != 2 {
		t.Fatalf("active %d ready %d", s.Active, *s.Ready)
	}
	h.advance(time.Second)
	h.finish(h.activePods()[0], corev1.PodSucceeded, nil)
	h.sync()
	if h.job.Status.Succeeded != 1 || len(h.activePods()) != 2 {
		t.Fatalf("after one success: succeeded %d active %d", h.job.Status.Succeeded, len(h.activePods()))
	}
	for _, p := range h.activePods() {
		h.finish(p, corev1.PodSucceeded, nil)
	}
	h.advance(time.Second)
	h.sync()
	s := h.job.Status
	if s.Succeeded != 3 || s.Active != 0 || h.f.creates != 3 {
		t.Fatalf("succeeded %d active %d creates %d", s.Succeeded, s.Active, h.f.creates)
	}
	h.wantCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", msgCompletions)
	h.wantCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", msgCompletions)
	if s.CompletionTime == nil || !s.CompletionTime.Time.Equal(h.now) || !h.hasEvent("Normal Completed Job completed") {
		t.Fatalf("completionTime %v events %v", s.CompletionTime, h.f.events)
	}
}

// A completion is counted once: repeated Syncs, a new controller (podrund
// restart), and a finished pod deleted by the user change nothing.
func TestCompletionCountedExactlyOnce(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](1)
	}))
	h.sync()
	first := h.activePods()[0]
	h.finish(first, corev1.PodSucceeded, nil)
	for i := 0; i < 3; i++ {
		h.sync()
	}
	if h.job.Status.Succeeded != 1 || h.f.creates != 2 {
		t.Fatalf("succeeded %d creates %d", h.job.Status.Succeeded, h.f.creates)
	}
	if h.job.Annotations[CountedPodsAnnotation] != string(first.UID) {
		t.Fatalf("counted annotation %q", h.job.Annotations[CountedPodsAnnotation])
	}
	h.c = h.newController() // podrund restart: a fresh controller, state from the store
	h.sync()
	if h.job.Status.Succeeded != 1 || h.f.creates != 2 {
		t.Fatalf("after restart: succeeded %d creates %d", h.job.Status.Succeeded, h.f.creates)
	}
	delete(h.f.pods, first.Name) // the user deletes the finished pod
	h.sync()
	if h.job.Status.Succeeded != 1 || h.f.creates != 2 || h.job.Annotations[CountedPodsAnnotation] != "" {
		t.Fatalf("after deleting a counted pod: succeeded %d creates %d annotation %q",
			h.job.Status.Succeeded, h.f.creates, h.job.Annotations[CountedPodsAnnotation])
	}
	// A crash between the pod's end and the status write: the Sync that
	// did not persist is simply repeated and counts the pod once.
	second := h.activePods()[0]
	h.finish(second, corev1.PodSucceeded, nil)
	stale := h.job.DeepCopy()
	h.sync()
	h.f.job = stale // the status write was lost; the pod created meanwhile exists
	h.sync()
	if h.job.Status.Succeeded != 2 || h.f.creates != 3 {
		t.Fatalf("after a lost status write: succeeded %d creates %d, want 2 and 3", h.job.Status.Succeeded, h.f.creates)
	}
}

// Work queue: no completions; done when one pod succeeded and none runs.
func TestWorkQueue(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](2) }))
	if h.job.Spec.Completions != nil {
		t.Fatal("defaulting set completions")
	}
	h.sync()
	pods := h.activePods()
	if len(pods) != 2 {
		t.Fatalf("active %d", len(pods))
	}
	h.finish(pods[0], corev1.PodSucceeded, nil)
	h.sync()
	if h.f.creates != 2 || h.condition(batchv1.JobComplete) != nil {
		t.Fatalf("after first success: creates %d conditions %+v", h.f.creates, h.job.Status.Conditions)
	}
	h.finish(pods[1], corev1.PodSucceeded, nil)
	h.sync()
	h.wantCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", "")
	if h.job.Status.Succeeded != 2 {
		t.Fatalf("succeeded %d", h.job.Status.Succeeded)
	}
}

func TestParallelismLoweredDeletesSurplus(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](5), ptr.To[int32](3)
	}))
	h.sync()
	pods := h.activePods()
	h.run(pods[0])
	h.run(pods[2])
	h.f.job.Spec.Parallelism = ptr.To[int32](2)
	h.sync()
	if len(h.f.deleted) != 1 || h.f.deleted[0] != pods[1].Name {
		t.Fatalf("deleted %v, want the pod not yet running (%s)", h.f.deleted, pods[1].Name)
	}
	h.gone()
	h.sync()
	if h.job.Status.Failed != 0 || h.f.creates != 3 {
		t.Fatalf("a surplus pod deleted by the controller is no failure: failed %d creates %d", h.job.Status.Failed, h.f.creates)
	}
}

// Seed example 02: a regular-container sidecar keeps the pod Running, so
// the Job stays incomplete (R-V1).
func TestLegacySidecarJobStaysIncomplete(t *testing.T) {
	h := newHarness(t, newJob(nil))
	h.sync()
	p := h.activePods()[0]
	h.run(p)
	p.Status.Conditions[0].Status = corev1.ConditionFalse // pi exited, sidecar runs: NotReady
	h.advance(time.Hour)
	if d := h.sync(); d != 0 {
		t.Fatalf("requeue %v", d)
	}
	if h.job.Status.Succeeded != 0 || h.job.Status.Active != 1 || *h.job.Status.Ready != 0 || len(h.job.Status.Conditions) != 0 {
		t.Fatalf("status %+v", h.job.Status)
	}
}

func TestFormatAndParseIndexSet(t *testing.T) {
	tests := map[string][]int32{"": nil, "1": {1}, "1,2": {1, 2}, "0-2": {0, 1, 2}, "1,3-5,7": {1, 3, 4, 5, 7}, "0,2,4-6": {0, 2, 4, 5, 6}}
	for want, idx := range tests {
		s := parseIndexSet(want, 100)
		if s.Len() != len(idx) {
			t.Errorf("parse %q = %v", want, s)
		}
		for _, i := range idx {
			if !s.Has(i) {
				t.Errorf("parse %q lacks %d", want, i)
			}
		}
		if got := formatIndexSet(s); got != want {
			t.Errorf("format %v = %q, want %q", idx, got, want)
		}
	}
	if s := parseIndexSet("0-9", 3); s.Len() != 3 {
		t.Errorf("limit not applied: %v", s)
	}
	if s := parseIndexSet("x,2", 3); s.Len() != 1 || !s.Has(2) {
		t.Errorf("lenient parse: %v", s)
	}
}
