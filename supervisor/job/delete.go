package job

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// foregroundRecheck is how soon a Foreground deletion looks again at pods
// that are still terminating (pod changes should trigger a Sync sooner).
const foregroundRecheck = time.Second

// DeleteJob deletes a Job with Kubernetes' propagation policies:
//   - Orphan: only the Job goes; its pods stay (their owner is gone, so no
//     Job will ever adopt them: selectors carry the Job's UID).
//   - Background (the default for Jobs created by podctl, as for kubectl):
//     the pods are deleted (gracefully, not awaited), then the Job.
//   - Foreground: the pods are deleted and the Job goes only once none is
//     left; until then requeueAfter > 0 and the Job must stay (the caller
//     marks it with deletionTimestamp and the foregroundDeletion finalizer
//     and calls Sync or DeleteJob again).
func (c *Controller) DeleteJob(ctx context.Context, job *batchv1.Job, policy metav1.DeletionPropagation) (requeueAfter time.Duration, err error) {
	if policy == metav1.DeletePropagationOrphan {
		return 0, c.removeJob(ctx, job)
	}
	remaining, err := c.DeleteDependents(ctx, job)
	if err != nil {
		return 0, err
	}
	if policy == metav1.DeletePropagationForeground && remaining > 0 {
		return foregroundRecheck, nil
	}
	return 0, c.removeJob(ctx, job)
}

// DeleteDependents begins the graceful deletion of every pod the Job owns
// (running and finished) and returns how many pods still exist. The daemon
// calls it for a Job already removed from the store (Background).
func (c *Controller) DeleteDependents(ctx context.Context, job *batchv1.Job) (remaining int, err error) {
	pods, err := c.ownedPods(ctx, job)
	if err != nil {
		return 0, err
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if err := c.pods.DeletePod(ctx, p.Namespace, p.Name, nil); err != nil {
			return len(pods), fmt.Errorf("delete pod %s/%s of deleted job %s: %w", p.Namespace, p.Name, job.Name, err)
		}
	}
	return len(pods), nil
}

func (c *Controller) removeJob(ctx context.Context, job *batchv1.Job) error {
	if err := c.jobs.DeleteJob(ctx, job.Namespace, job.Name); err != nil {
		return fmt.Errorf("delete job %s/%s: %w", job.Namespace, job.Name, err)
	}
	c.log.Info("job deleted", zap.String("job", job.Namespace+"/"+job.Name))
	return nil
}

// PropagationOf reads the propagation policy a deleted Job carries in its
// finalizers, as the API server records it (Background when none).
func PropagationOf(job *batchv1.Job) metav1.DeletionPropagation {
	for _, f := range job.Finalizers {
		switch f {
		case metav1.FinalizerDeleteDependents:
			return metav1.DeletePropagationForeground
		case metav1.FinalizerOrphanDependents:
			return metav1.DeletePropagationOrphan
		}
	}
	return metav1.DeletePropagationBackground
}

// finishDeletion continues the deletion of a Job that has a
// deletionTimestamp.
func (c *Controller) finishDeletion(ctx context.Context, job *batchv1.Job) (time.Duration, error) {
	return c.DeleteJob(ctx, job, PropagationOf(job))
}

// handleTTL deletes a finished Job and its pods once
// ttlSecondsAfterFinished has passed since its Complete or Failed
// condition; before that it asks to be called again when it is due.
func (c *Controller) handleTTL(ctx context.Context, job *batchv1.Job, now time.Time) (time.Duration, error) {
	ttl := job.Spec.TTLSecondsAfterFinished
	if ttl == nil {
		return 0, nil
	}
	at, ok := finishedAt(job)
	if !ok {
		return 0, nil
	}
	if wait := at.Add(time.Duration(*ttl) * time.Second).Sub(now); wait > 0 {
		return wait, nil
	}
	c.log.Info("job TTL expired", zap.String("job", job.Namespace+"/"+job.Name), zap.Int32("ttlSecondsAfterFinished", *ttl))
	c.event(job, corev1.EventTypeNormal, "TTLExpired", fmt.Sprintf("Job finished more than %ds ago", *ttl))
	return c.DeleteJob(ctx, job, metav1.DeletePropagationBackground)
}

// CopyControllerState copies what the controller owns in a Job — its
// status and CountedPodsAnnotation — from one Job into another. The daemon
// uses it (1) on a PUT of a Job, so that re-applying a manifest (which has
// no status) keeps the counts and leaves the Job unchanged, and (2) in
// UpdateJobStatus, to write the controller's state onto the stored Job
// without overwriting a spec the user changed meanwhile.
func CopyControllerState(from, to *batchv1.Job) {
	from.Status.DeepCopyInto(&to.Status)
	v, ok := from.Annotations[CountedPodsAnnotation]
	if !ok {
		delete(to.Annotations, CountedPodsAnnotation)
		return
	}
	if to.Annotations == nil {
		to.Annotations = map[string]string{}
	}
	to.Annotations[CountedPodsAnnotation] = v
}
