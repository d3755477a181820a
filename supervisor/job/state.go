package job

import (
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// CountedPodsAnnotation holds, on the Job, the UIDs of its existing
// finished (or controller-deleted) pods that status.succeeded/failed
// already account for. It is the finalizer-free stand-in for Kubernetes'
// job-tracking finalizer: a pod is counted exactly once, also across
// repeated Syncs and podrund restarts, and a pod's removal never uncounts
// it. UIDs of pods that no longer exist are pruned.
const CountedPodsAnnotation = "batch.podrun.io/counted-pods"

// syncState is one Sync's view of a Job and its pods.
type syncState struct {
	job *batchv1.Job
	now time.Time

	pods        []*corev1.Pod // every owned pod, as listed
	active      []*corev1.Pod // not finished, not being deleted
	terminating []*corev1.Pod // not finished, being deleted
	succeeded   []*corev1.Pod // phase Succeeded
	failed      []*corev1.Pod // phase Failed

	counted sets.Set[string] // pod UIDs reflected in the status

	indexed   bool
	completed sets.Set[int32] // Indexed: completed indexes
	failedIdx sets.Set[int32] // Indexed with backoffLimitPerIndex: failed indexes

	failJob *string // podFailurePolicy FailJob message (R-V3)
}

func newSyncState(job *batchv1.Job, pods []*corev1.Pod, now time.Time) *syncState {
	st := &syncState{job: job, now: now, pods: pods, counted: sets.New[string]()}
	for _, uid := range strings.Split(job.Annotations[CountedPodsAnnotation], ",") {
		if uid != "" {
			st.counted.Insert(uid)
		}
	}
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			st.succeeded = append(st.succeeded, p)
		case p.Status.Phase == corev1.PodFailed:
			st.failed = append(st.failed, p)
		case p.DeletionTimestamp != nil:
			st.terminating = append(st.terminating, p)
		default:
			st.active = append(st.active, p)
		}
	}
	st.indexed = ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	if st.indexed {
		limit := ptr.Deref(job.Spec.Completions, 0)
		st.completed = parseIndexSet(job.Status.CompletedIndexes, limit)
		st.failedIdx = parseIndexSet(ptr.Deref(job.Status.FailedIndexes, ""), limit)
	}
	return st
}

// countFinishedPods adds the pods that finished since the last Sync to the
// status counters (R-V1: only the pod phase matters; sidecars' exits do
// not), applying the pod failure policy to failed pods (R-V3).
func (st *syncState) countFinishedPods() {
	sortByFinishTime(st.succeeded)
	sortByFinishTime(st.failed)
	for _, p := range st.succeeded {
		if st.counted.Has(string(p.UID)) {
			continue
		}
		st.counted.Insert(string(p.UID))
		if !st.indexed {
			st.job.Status.Succeeded++
			continue
		}
		if i := podIndex(p); i >= 0 && i < ptr.Deref(st.job.Spec.Completions, 0) && !st.failedIdx.Has(i) {
			st.completed.Insert(i)
		}
	}
	for _, p := range st.failed {
		if !st.counted.Has(string(p.UID)) {
			st.counted.Insert(string(p.UID))
			st.countFailure(p)
		}
	}
	if st.replaceTerminating() {
		// A pod deleted by someone else counts as failed at once, as it
		// may never get to report a terminal phase.
		for _, p := range st.terminating {
			if !st.counted.Has(string(p.UID)) {
				st.counted.Insert(string(p.UID))
				st.countFailure(p)
			}
		}
	}
}

// replaceTerminating: with podReplacementPolicy TerminatingOrFailed (and no
// pod failure policy, which needs the final state) a terminating pod is a
// failed pod.
func (st *syncState) replaceTerminating() bool {
	return st.job.Spec.PodFailurePolicy == nil &&
		ptr.Deref(st.job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.TerminatingOrFailed
}

func (st *syncState) countFailure(p *corev1.Pod) {
	action := batchv1.PodFailurePolicyActionCount
	if pfp := st.job.Spec.PodFailurePolicy; pfp != nil && p.Status.Phase == corev1.PodFailed {
		if msg, act, ok := matchPodFailurePolicy(pfp, p); ok {
			action = act
			if act == batchv1.PodFailurePolicyActionFailJob && st.failJob == nil {
				st.failJob = &msg
			}
		}
	}
	if action == batchv1.PodFailurePolicyActionIgnore {
		return
	}
	st.job.Status.Failed++
	if !st.indexed || st.job.Spec.BackoffLimitPerIndex == nil {
		return
	}
	i := podIndex(p)
	if i < 0 || st.completed.Has(i) {
		return
	}
	if action == batchv1.PodFailurePolicyActionFailIndex || podIndexFailures(p)+1 > *st.job.Spec.BackoffLimitPerIndex {
		st.failedIdx.Insert(i)
	}
}

// markDeleted moves a pod the controller just deleted from active to
// terminating.
func (st *syncState) markDeleted(p *corev1.Pod) {
	for i, a := range st.active {
		if a == p {
			st.active = append(st.active[:i:i], st.active[i+1:]...)
			st.terminating = append(st.terminating, p)
			return
		}
	}
}

// updateStatusCounts writes active, ready, terminating and the index sets.
func (st *syncState) updateStatusCounts() {
	s := &st.job.Status
	s.Active = int32(len(st.active))
	ready := int32(0)
	for _, p := range st.active {
		if podReady(p) {
			ready++
		}
	}
	s.Ready = ptr.To(ready)
	s.Terminating = ptr.To(int32(len(st.terminating)))
	if s.UncountedTerminatedPods == nil {
		s.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	if st.indexed {
		s.CompletedIndexes = formatIndexSet(st.completed)
		s.Succeeded = int32(st.completed.Len())
		if st.job.Spec.BackoffLimitPerIndex != nil {
			s.FailedIndexes = ptr.To(formatIndexSet(st.failedIdx))
		}
	}
}

// storeCounted writes the counted set, pruned to pods that still exist.
func (st *syncState) storeCounted() {
	existing := sets.New[string]()
	for _, p := range st.pods {
		existing.Insert(string(p.UID))
	}
	keep := sets.List(st.counted.Intersection(existing))
	if len(keep) == 0 {
		delete(st.job.Annotations, CountedPodsAnnotation)
		return
	}
	if st.job.Annotations == nil {
		st.job.Annotations = map[string]string{}
	}
	st.job.Annotations[CountedPodsAnnotation] = strings.Join(keep, ",")
}

// finishTime is when a finished pod stopped: its last container
// termination, else its last condition change, else its creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
				t = term.FinishedAt.Time
			}
		}
	}
	if !t.IsZero() {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	return p.CreationTimestamp.Time
}

func sortByFinishTime(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishTime(pods[i]).Before(finishTime(pods[j])) })
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
