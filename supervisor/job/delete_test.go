package job

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestTTLAfterFinished(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](100) }))
	h.sync()
	h.finish(h.activePods()[0], corev1.PodSucceeded, nil)
	if d := h.sync(); d != 100*time.Second {
		t.Fatalf("requeue %v, want the TTL", d)
	}
	h.wantCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", "")
	h.advance(40 * time.Second)
	if d := h.sync(); d != 60*time.Second || h.f.jobGone {
		t.Fatalf("requeue %v gone %v", d, h.f.jobGone)
	}
	h.advance(60 * time.Second)
	if d := h.sync(); d != 0 || !h.f.jobGone || len(h.f.pods) != 0 {
		t.Fatalf("after the TTL: requeue %v gone %v pods %v", d, h.f.jobGone, h.podNames())
	}
}

func TestTTLZeroDeletesAtOnce(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0) }))
	h.sync()
	h.finish(h.activePods()[0], corev1.PodSucceeded, nil)
	h.sync()
	if !h.f.jobGone {
		t.Fatal("a Job with ttlSecondsAfterFinished 0 stays")
	}
}

func TestDeleteJobPropagation(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t, newJob(func(j *batchv1.Job) { j.Spec.Parallelism, j.Spec.Completions = ptr.To[int32](2), ptr.To[int32](3) }))
		h.sync()
		h.finish(h.activePods()[0], corev1.PodSucceeded, nil)
		h.sync()
		return h
	}
	ctx := context.Background()
	t.Run("Orphan", func(t *testing.T) {
		h := setup(t)
		if d, err := h.c.DeleteJob(ctx, h.job, metav1.DeletePropagationOrphan); err != nil || d != 0 {
			t.Fatal(d, err)
		}
		if !h.f.jobGone || len(h.f.deleted) != 0 || len(h.f.pods) != 3 {
			t.Fatalf("gone %v deleted %v pods %d", h.f.jobGone, h.f.deleted, len(h.f.pods))
		}
	})
	t.Run("Background", func(t *testing.T) {
		h := setup(t)
		if d, err := h.c.DeleteJob(ctx, h.job, metav1.DeletePropagationBackground); err != nil || d != 0 {
			t.Fatal(d, err)
		}
		if !h.f.jobGone || len(h.f.deleted) != 3 {
			t.Fatalf("gone %v deleted %v", h.f.jobGone, h.f.deleted)
		}
	})
	t.Run("Foreground", func(t *testing.T) {
		h := setup(t)
		h.job.Finalizers = []string{metav1.FinalizerDeleteDependents}
		h.job.DeletionTimestamp = &metav1.Time{Time: h.now}
		h.f.job = h.job.DeepCopy()
		if d := h.sync(); d <= 0 || h.f.jobGone || len(h.f.deleted) != 3 {
			t.Fatalf("requeue %v gone %v deleted %v", d, h.f.jobGone, h.f.deleted)
		}
		if h.f.creates != 3 {
			t.Fatalf("a Job being deleted created pods: %d", h.f.creates)
		}
		h.gone()
		if d := h.sync(); d != 0 || !h.f.jobGone {
			t.Fatalf("after the pods went: requeue %v gone %v", d, h.f.jobGone)
		}
	})
}

func TestPropagationOf(t *testing.T) {
	for fin, want := range map[string]metav1.DeletionPropagation{
		"":                               metav1.DeletePropagationBackground,
		metav1.FinalizerDeleteDependents: metav1.DeletePropagationForeground,
		metav1.FinalizerOrphanDependents: metav1.DeletePropagationOrphan,
	} {
		j := &batchv1.Job{}
		if fin != "" {
			j.Finalizers = []string{fin}
		}
		if got := PropagationOf(j); got != want {
			t.Errorf("%q: %s, want %s", fin, got, want)
		}
	}
}

func TestCopyControllerState(t *testing.T) {
	h := newHarness(t, newJob(nil))
	h.sync()
	h.finish(h.activePods()[0], corev1.PodSucceeded, nil)
	h.sync()
	applied := newJob(nil) // the manifest applied again: no status, no annotation
	CopyControllerState(h.job, applied)
	if applied.Status.Succeeded != 1 || applied.Annotations[CountedPodsAnnotation] != h.job.Annotations[CountedPodsAnnotation] {
		t.Fatalf("status %+v annotations %v", applied.Status, applied.Annotations)
	}
	empty := &batchv1.Job{}
	CopyControllerState(empty, applied)
	if _, ok := applied.Annotations[CountedPodsAnnotation]; ok || applied.Status.Succeeded != 0 {
		t.Fatalf("copying an empty state left %+v %v", applied.Status, applied.Annotations)
	}
}

func TestIndexedLongJobName(t *testing.T) {
	name := strings.Repeat("j", 60)
	h := newHarness(t, indexedJob(12, 12, func(j *batchv1.Job) { j.Name = name }))
	h.sync()
	for _, n := range h.podNames() {
		if len(n) > 63 || !strings.Contains(n, "-") {
			t.Errorf("pod name %q", n)
		}
	}
	p := h.f.pods[strings.Repeat("j", 54)+"-11-00012"]
	if p == nil {
		t.Fatalf("pods %v", h.podNames())
	}
	if len(p.Spec.Hostname) > 63 {
		t.Errorf("hostname %q", p.Spec.Hostname)
	}
}
