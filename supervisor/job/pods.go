package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/api"
)

// Pod re-creation back-off after failures: 10 s doubling, at most 6 min.
const (
	podFailureBackoff    = 10 * time.Second
	maxPodFailureBackoff = 6 * time.Minute
	// maxGeneratedNameBase leaves room for the 5 random characters within
	// a 63-character name (the API server's generateName rule).
	maxGeneratedNameBase = 58
	randomSuffixLength   = 5
	// maxPodCreatesPerSync is how many pods one Sync creates at most (the
	// Job controller's burstReplicas, MaxPodCreateDeletePerSync): a Job
	// asking for 10,000 pods gets them over several syncs, each started by
	// the pod changes of the one before, instead of in one burst that holds
	// the Job's sync for all of them.
	maxPodCreatesPerSync = 500
	// slowStartInitialBatch is the first batch of a Sync's creations; each
	// batch that fully succeeds doubles the next (SlowStartInitialBatchSize).
	slowStartInitialBatch = 1
)

// managePods creates missing and deletes surplus pods.
func (c *Controller) managePods(ctx context.Context, st *syncState) (time.Duration, error) {
	if st.indexed {
		return c.manageIndexed(ctx, st)
	}
	job := st.job
	parallelism := ptr.Deref(job.Spec.Parallelism, 1)
	want := parallelism
	switch {
	case job.Spec.Completions != nil:
		want = min(*job.Spec.Completions-job.Status.Succeeded, parallelism)
	case job.Status.Succeeded > 0: // work queue: leave the running ones, start none
		want = int32(len(st.active))
	}
	want = max(want, 0)
	if surplus := len(st.active) - int(want); surplus > 0 {
		return 0, c.deletePods(ctx, st, deletionOrder(st.active)[:surplus])
	}
	missing := int(want) - st.busy()
	if missing <= 0 {
		return 0, nil
	}
	if wait := st.backoffRemaining(); wait > 0 {
		return wait, nil
	}
	n := c.capCreates(st, missing)
	_, err := slowStartBatch(n, slowStartInitialBatch, func(int) error {
		return c.createPod(ctx, st, nil)
	})
	return 0, err
}

// capCreates is how many of the missing pods this Sync creates.
func (c *Controller) capCreates(st *syncState, missing int) int {
	if missing <= c.burst {
		return missing
	}
	c.log.Debug("pod creations capped for this sync", zap.String("job", st.job.Namespace+"/"+st.job.Name),
		zap.Int("missing", missing), zap.Int("creating", c.burst))
	return c.burst
}

// manageIndexed keeps one pod per pending index, lowest indexes first.
func (c *Controller) manageIndexed(ctx context.Context, st *syncState) (time.Duration, error) {
	job := st.job
	completions := ptr.Deref(job.Spec.Completions, 0)
	var keep, extra []*corev1.Pod
	seen := sets.New[int32]()
	order := deletionOrder(st.active)
	for k := len(order) - 1; k >= 0; k-- { // best pods first: they are kept
		p := order[k]
		i := podIndex(p)
		if i < 0 || i >= completions || st.completed.Has(i) || st.failedIdx.Has(i) || seen.Has(i) {
			extra = append(extra, p)
			continue
		}
		seen.Insert(i)
		keep = append(keep, p)
	}
	parallelism := int(ptr.Deref(job.Spec.Parallelism, 1))
	if len(keep) > parallelism {
		extra = append(extra, keep[parallelism:]...)
		keep = keep[:parallelism]
	}
	if len(extra) > 0 {
		return 0, c.deletePods(ctx, st, extra)
	}
	held := keep
	if !st.replaceTerminating() {
		held = append(held, st.terminating...)
	}
	pending := st.pendingIndexes(held)
	free := parallelism - st.busy()
	if free <= 0 || len(pending) == 0 {
		return 0, nil
	}
	if wait := st.backoffRemaining(); wait > 0 {
		return wait, nil
	}
	create := pending[:c.capCreates(st, min(free, len(pending)))]
	_, err := slowStartBatch(len(create), slowStartInitialBatch, func(k int) error {
		return c.createPod(ctx, st, ptr.To(create[k]))
	})
	return 0, err
}

// slowStartBatch makes count calls of fn (with 0..count-1) in batches of
// initial, 2×initial, 4×initial, ..., as the Job controller's
// slowStartBatch does: every call of a batch is made, and a batch with a
// failure ends the run, so a Job whose pods cannot be created (an admission
// refusal, a full disk) costs a few failed calls per Sync, not thousands.
// podrund's pod creation is a local store write, serialised there anyway,
// so a batch's calls are made one after another: the order of pod names
// and events stays that of the calls. It returns how many calls succeeded.
func slowStartBatch(count, initial int, fn func(i int) error) (int, error) {
	ok, next := 0, 0
	for batch := min(initial, count); batch > 0; batch = min(2*batch, count-next) {
		var errs []error
		for end := next + batch; next < end; next++ {
			if err := fn(next); err != nil {
				errs = append(errs, err)
			} else {
				ok++
			}
		}
		if len(errs) > 0 {
			return ok, errors.Join(errs...)
		}
	}
	return ok, nil
}

// busy is the number of pods that occupy a parallelism slot: the active
// ones, plus the terminating ones under podReplacementPolicy Failed.
func (st *syncState) busy() int {
	if st.replaceTerminating() {
		return len(st.active)
	}
	return len(st.active) + len(st.terminating)
}

// backoffRemaining is the controller's delay before it creates pods again
// after failures: 10 s × 2^(n-1), at most 6 min, n = the failures since the
// last success, counted from the last failure. Derived from the pods, so a
// restart of podrund keeps it.
func (st *syncState) backoffRemaining() time.Duration {
	var lastSuccess, lastFailure time.Time
	for _, p := range st.succeeded {
		if t := finishTime(p); t.After(lastSuccess) {
			lastSuccess = t
		}
	}
	n := 0
	for _, p := range st.failed {
		if t := finishTime(p); t.After(lastSuccess) {
			n++
			if t.After(lastFailure) {
				lastFailure = t
			}
		}
	}
	if n == 0 {
		return 0
	}
	delay := maxPodFailureBackoff
	if n <= 6 { // 10 s << 5 = 320 s; one more doubling passes the cap
		delay = min(podFailureBackoff<<(n-1), maxPodFailureBackoff)
	}
	return max(lastFailure.Add(delay).Sub(st.now), 0)
}

// deletionOrder sorts the pods the controller should delete first to the
// front: not yet running, then not ready, then the newest.
func deletionOrder(pods []*corev1.Pod) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), pods...)
	rank := func(p *corev1.Pod) int {
		switch {
		case p.Status.Phase != corev1.PodRunning:
			return 0
		case !podReady(p):
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[j].CreationTimestamp.Before(&out[i].CreationTimestamp)
	})
	return out
}

func (c *Controller) createPod(ctx context.Context, st *syncState, index *int32) error {
	pod := c.newPod(st, index)
	if err := c.pods.CreatePod(ctx, pod); err != nil {
		c.event(st.job, corev1.EventTypeWarning, "FailedCreate", fmt.Sprintf("Error creating: %v", err))
		return fmt.Errorf("create pod %s for job %s/%s: %w", pod.Name, st.job.Namespace, st.job.Name, err)
	}
	st.active = append(st.active, pod)
	c.event(st.job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+pod.Name)
	return nil
}

// newPod builds a pod from the Job's template with the names, labels,
// annotations, owner reference and (Indexed) JOB_COMPLETION_INDEX that
// Kubernetes' job controller gives it.
func (c *Controller) newPod(st *syncState, index *int32) *corev1.Pod {
	job := st.job
	tmpl := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       job.Namespace,
			Labels:          tmpl.Labels,
			Annotations:     tmpl.Annotations,
			OwnerReferences: []metav1.OwnerReference{*ownerReference(job)},
		},
		Spec: tmpl.Spec,
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	for k, v := range jobLabels(job) {
		pod.Labels[k] = v
	}
	base := truncate(job.Name+"-", maxGeneratedNameBase)
	if index != nil {
		idx := strconv.Itoa(int(*index))
		// podGenerateNameWithIndex: a long Job name is cut, the index kept.
		suffix := "-" + idx + "-"
		base = job.Name + suffix
		if len(base) > maxGeneratedNameBase {
			base = job.Name[:maxGeneratedNameBase-len(suffix)] + suffix
		}
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = idx
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = idx
		if job.Spec.BackoffLimitPerIndex != nil {
			pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(st.indexFailures(*index)))
		}
		addCompletionIndexEnv(&pod.Spec)
		// As Kubernetes does, the hostname names the index (a DNS label).
		pod.Spec.Hostname = strings.TrimRight(truncate(fmt.Sprintf("%s-%d", job.Name, *index), 63), "-.")
	}
	pod.Name = base + c.rand(randomSuffixLength)
	return pod
}

// addCompletionIndexEnv gives every container (init ones included)
// JOB_COMPLETION_INDEX from the pod's index label, as Kubernetes does.
func addCompletionIndexEnv(spec *corev1.PodSpec) {
	ev := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		APIVersion: "v1",
		FieldPath:  fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation),
	}}}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			if !hasEnv(list[i].Env, ev.Name) {
				list[i].Env = append(list[i].Env, ev)
			}
		}
	}
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// jobLabels are the labels every pod of the Job carries.
func jobLabels(job *batchv1.Job) map[string]string {
	uid := string(job.UID)
	return map[string]string{
		batchv1.JobNameLabel:         job.Name,
		api.LegacyJobNameLabel:       job.Name,
		batchv1.ControllerUidLabel:   uid,
		api.LegacyControllerUIDLabel: uid,
	}
}

func ownerReference(job *batchv1.Job) *metav1.OwnerReference {
	return metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))
}

// selectorFor is the Job's selector, or the generated one when the server
// has not set it.
func selectorFor(job *batchv1.Job) (labels.Selector, error) {
	if job.Spec.Selector == nil {
		return labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: string(job.UID)}), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return sel, nil
}

func isControlledBy(p *corev1.Pod, job *batchv1.Job) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == job.UID
}
