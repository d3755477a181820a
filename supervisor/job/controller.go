// Package job is podrun's Job controller: a reconciler that looks at a
// batch/v1 Job and the pods it owns and creates, deletes and accounts for
// those pods as Kubernetes' job controller does (docs/semantics.md §V).
//
// It holds no state of its own between calls: everything it needs is
// derived from the pods (their phases, container statuses, labels) and the
// Job (its status and the counted-pods annotation), so a Sync after a
// podrund restart neither loses nor repeats a completion. It imports no
// containerd, HTTP or store code; the daemon provides PodControl and
// JobStore.
//
// Wiring in the daemon:
//   - c := NewController(Options{Pods, Jobs, Events, Logger}); r :=
//     NewRunner(c, jobSource, clock.RealClock{}, log); go r.Run(ctx).
//   - r is the server's JobController (OnJobApplied, OnJobDeleted); every
//     pod write (store notifier) calls r.PodChanged(pod).
//   - JobStore.UpdateJobStatus = store Mutate of the stored Job with
//     CopyControllerState(job, stored), so a concurrent spec PUT survives.
//   - A Job PUT copies the stored controller state into the new object
//     (CopyControllerState(stored, incoming)) and checks
//     api.ValidateJobUpdate, so re-applying a manifest keeps the counts.
package job

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// PodControl is what the controller needs from the pod store and engine.
type PodControl interface {
	// CreatePod stores and starts a new pod (the daemon defaults,
	// validates and assigns the UID).
	CreatePod(ctx context.Context, pod *corev1.Pod) error
	// DeletePod begins graceful termination; grace nil = the pod's own.
	DeletePod(ctx context.Context, namespace, name string, grace *int64) error
	// ListPods returns the pods of a namespace matching selector,
	// including terminating and finished ones.
	ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]*corev1.Pod, error)
}

// JobStore persists what the controller decides about a Job.
type JobStore interface {
	// UpdateJobStatus persists job.Status AND job.Annotations (the
	// controller keeps CountedPodsAnnotation there) in one write; the
	// two must be stored together or completions may be counted twice.
	UpdateJobStatus(ctx context.Context, job *batchv1.Job) error
	// DeleteJob removes the Job object itself (its pods are the
	// controller's business, see Controller.DeleteJob).
	DeleteJob(ctx context.Context, namespace, name string) error
}

// EventRecorder records events on a Job (reason and message as the
// Kubernetes job controller words them). Optional.
type EventRecorder interface {
	JobEvent(job *batchv1.Job, eventType, reason, message string)
}

// Options configure a Controller.
type Options struct {
	Pods   PodControl
	Jobs   JobStore
	Events EventRecorder // nil: no events
	Logger *zap.Logger   // nil: no logs
	// RandSuffix returns the n random characters of a generated pod name;
	// nil uses Kubernetes' alphabet with math/rand. Tests fix it.
	RandSuffix func(n int) string
	// MaxPodCreatesPerSync caps the pods one Sync creates; 0 is the Job
	// controller's 500 (burstReplicas).
	MaxPodCreatesPerSync int
}

// Controller reconciles Jobs. It is safe for concurrent use on different
// Jobs; Syncs of one Job must not overlap (the caller's queue ensures it).
type Controller struct {
	pods   PodControl
	jobs   JobStore
	events EventRecorder
	log    *zap.Logger
	rand   func(n int) string
	burst  int // pods one Sync creates at most
}

// NewController returns a Controller.
func NewController(o Options) *Controller {
	c := &Controller{pods: o.Pods, jobs: o.Jobs, events: o.Events, log: o.Logger, rand: o.RandSuffix,
		burst: o.MaxPodCreatesPerSync}
	if c.burst <= 0 {
		c.burst = maxPodCreatesPerSync
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.rand == nil {
		c.rand = randomSuffix
	}
	return c
}

// randomSuffix draws from the alphabet of k8s.io/apimachinery's
// utilrand.String, which has no vowels (no words) and no confusable 0/1/3.
func randomSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// Sync reconciles one Job at time now: it counts pods that finished since
// the last Sync, decides whether the Job failed, succeeded, is suspended or
// needs pods created or deleted, acts through PodControl and persists the
// status. requeueAfter > 0 asks the caller to call Sync again after that
// long even if no pod changes (back-off, deadline, TTL); pod changes should
// trigger a Sync as well.
func (c *Controller) Sync(ctx context.Context, in *batchv1.Job, now time.Time) (requeueAfter time.Duration, err error) {
	job := in.DeepCopy()
	log := c.log.With(zap.String("job", job.Namespace+"/"+job.Name))
	if job.DeletionTimestamp != nil {
		return c.finishDeletion(ctx, job)
	}
	if job.UID == "" {
		return 0, fmt.Errorf("sync job %s/%s: the job has no UID yet", job.Namespace, job.Name)
	}
	if finished(job) {
		return c.handleTTL(ctx, job, now)
	}
	pods, err := c.ownedPods(ctx, job)
	if err != nil {
		return 0, err
	}
	before := job.DeepCopy()
	st := newSyncState(job, pods, now)
	st.countFinishedPods()
	requeue, actErr := c.reconcile(ctx, st, log)
	st.updateStatusCounts()
	st.storeCounted()
	if changed(before, job) {
		if err := c.jobs.UpdateJobStatus(ctx, job); err != nil {
			return 0, fmt.Errorf("update status of job %s/%s: %w", job.Namespace, job.Name, err)
		}
	}
	if actErr != nil {
		return 0, actErr
	}
	if finished(job) {
		return c.handleTTL(ctx, job, now)
	}
	return requeue, nil
}

func (c *Controller) ownedPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := selectorFor(job)
	if err != nil {
		return nil, err
	}
	all, err := c.pods.ListPods(ctx, job.Namespace, sel)
	if err != nil {
		return nil, fmt.Errorf("list pods of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	var owned []*corev1.Pod
	for _, p := range all {
		if isControlledBy(p, job) {
			owned = append(owned, p)
		}
	}
	return owned, nil
}

func (c *Controller) event(job *batchv1.Job, eventType, reason, message string) {
	if c.events != nil {
		c.events.JobEvent(job, eventType, reason, message)
	}
}

// reconcile decides and acts, in the job controller's order: a Job already
// on its way to an end finishes; else failure, then success, then suspend,
// then pod management.
func (c *Controller) reconcile(ctx context.Context, st *syncState, log *zap.Logger) (time.Duration, error) {
	job := st.job
	if cond := finishingCondition(job); cond != nil {
		return 0, c.finish(ctx, st, cond)
	}
	if reason, msg, ok := st.failure(); ok {
		log.Info("job failed", zap.String("reason", reason), zap.String("message", msg))
		c.event(job, corev1.EventTypeWarning, reason, msg)
		cond := setCondition(&job.Status, batchv1.JobFailureTarget, corev1.ConditionTrue, reason, msg, st.now)
		return 0, c.finish(ctx, st, cond)
	}
	if reason, msg, ok := st.success(); ok {
		log.Info("job succeeded", zap.String("reason", reason))
		cond := setCondition(&job.Status, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, reason, msg, st.now)
		return 0, c.finish(ctx, st, cond)
	}
	if isSuspended(job) {
		return 0, c.suspend(ctx, st)
	}
	c.resumeIfSuspended(st)
	if job.Status.StartTime == nil {
		t := metaTime(st.now)
		job.Status.StartTime = &t
	}
	requeue, err := c.managePods(ctx, st)
	if d := deadlineRemaining(job, st.now); d > 0 && (requeue == 0 || d < requeue) {
		requeue = d
	}
	return requeue, err
}

// finish deletes the remaining active pods of a Job that met its success
// criteria or its failure target and, once no pod runs any more, adds the
// final Complete or Failed condition.
func (c *Controller) finish(ctx context.Context, st *syncState, target *batchv1.JobCondition) error {
	deleted := len(st.terminating)
	err := c.deletePods(ctx, st, st.active)
	if target.Type == batchv1.JobFailureTarget {
		// Once a Job is failing, Kubernetes' controller counts every pod
		// that did not terminate on its own as failed ("when the job is
		// considered finished, every non-terminated pod is considered
		// failed"): a Job past its deadline or backoff limit reports the
		// pods it stopped in status.failed.
		st.job.Status.Failed += int32(len(st.terminating) - deleted)
	}
	if len(st.active) > 0 || len(st.terminating) > 0 {
		return err
	}
	job := st.job
	if target.Type == batchv1.JobSuccessCriteriaMet {
		if setCondition(&job.Status, batchv1.JobComplete, corev1.ConditionTrue, target.Reason, target.Message, st.now) != nil {
			t := metaTime(st.now)
			job.Status.CompletionTime = &t
			c.event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		}
		return err
	}
	setCondition(&job.Status, batchv1.JobFailed, corev1.ConditionTrue, target.Reason, target.Message, st.now)
	return err
}

// suspend deletes the active pods (not counted as failures) and records
// the Suspended condition; startTime is cleared so activeDeadlineSeconds
// counts only time spent running (R-V4).
func (c *Controller) suspend(ctx context.Context, st *syncState) error {
	err := c.deletePods(ctx, st, st.active)
	job := st.job
	if setCondition(&job.Status, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", st.now) != nil {
		c.event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
	}
	job.Status.StartTime = nil
	return err
}

func (c *Controller) resumeIfSuspended(st *syncState) {
	job := st.job
	if cond := getCondition(&job.Status, batchv1.JobSuspended); cond == nil || cond.Status != corev1.ConditionTrue {
		return
	}
	setCondition(&job.Status, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", st.now)
	c.event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
	t := metaTime(st.now)
	job.Status.StartTime = &t
}

// deletePods deletes pods the controller no longer wants; they are marked
// counted so their termination is never taken for a failure.
func (c *Controller) deletePods(ctx context.Context, st *syncState, pods []*corev1.Pod) error {
	var firstErr error
	for _, p := range pods {
		if err := c.pods.DeletePod(ctx, p.Namespace, p.Name, nil); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("delete pod %s/%s of job %s: %w", p.Namespace, p.Name, st.job.Name, err)
			}
			continue
		}
		st.counted.Insert(string(p.UID))
		st.markDeleted(p)
		c.event(st.job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+p.Name)
	}
	return firstErr
}
