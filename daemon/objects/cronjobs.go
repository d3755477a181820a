package objects

import (
	"context"
	"fmt"
	"slices"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor/cronjob"
	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// BucketCronJobs is the kind name of CronJobs in lists and watches.
const BucketCronJobs = store.BucketCronJobs

// CronJobs is the stored CronJobs.
func (b *Objects) CronJobs() Collection[*batchv1.CronJob] { return b.st.CronJobs() }

// PrepareCronJob defaults and validates a new or replacing CronJob and
// admits its pod template as the pods of its Jobs will be.
func (b *Objects) PrepareCronJob(cj *batchv1.CronJob) error {
	api.DefaultCronJob(cj)
	if err := api.Validate(cj); err != nil {
		return err
	}
	meta := cj.Spec.JobTemplate.Spec.Template.ObjectMeta
	meta.Namespace, meta.Name = cj.Namespace, cj.Name
	return b.Admit("CronJob", cj.Name, &meta, &cj.Spec.JobTemplate.Spec.Template.Spec)
}

// MergeCronJobUpdate keeps the controller's status across a PUT and
// validates the update against the stored CronJob. The 52-character name
// limit of a create is not applied, as the API server does not.
func MergeCronJobUpdate(next, cur *batchv1.CronJob) error {
	cur.Status.DeepCopyInto(&next.Status)
	if errs := api.ValidateCronJobUpdate(next, cur); len(errs) > 0 {
		return api.NewInvalid("CronJob", next.Name, errs)
	}
	return nil
}

// DeleteCronJob removes a CronJob. Its Jobs go too (the controller's
// runner deletes them once it sees the deletion), unless policy is
// Orphan, which is recorded on the deleted object as the API server's
// orphan finalizer so the runner releases them instead (R115).
func (b *Objects) DeleteCronJob(ctx context.Context, policy, namespace, name string) (*batchv1.CronJob, error) {
	return b.st.CronJobs().Delete(ctx, namespace, name, "", func(cj *batchv1.CronJob) *batchv1.CronJob {
		if metav1.DeletionPropagation(policy) == metav1.DeletePropagationOrphan &&
			!slices.Contains(cj.Finalizers, metav1.FinalizerOrphanDependents) {
			cj.Finalizers = append(cj.Finalizers, metav1.FinalizerOrphanDependents)
		}
		return cj
	})
}

// CronJobHooks is what the CronJob controller's runner hears.
type CronJobHooks interface {
	CronJobApplied(cj *batchv1.CronJob)
	CronJobDeleted(cj *batchv1.CronJob)
	JobChanged(j *batchv1.Job)
	Resync(ctx context.Context)
}

// FeedCronJobs hands every committed CronJob and Job change to hooks
// until ctx ends. It follows the store's own change feed (two watches)
// rather than the API handlers, so Jobs the Job controller updates and
// CronJobs written by any path are seen alike. A watch dropped for
// falling behind is re-subscribed and followed by a resync, as an
// informer re-lists.
func (b *Objects) FeedCronJobs(ctx context.Context, hooks CronJobHooks) {
	for ctx.Err() == nil {
		cjs, jobs := b.Watch(everything(BucketCronJobs)), b.Watch(everything(BucketJobs))
		hooks.Resync(ctx)
		b.follow(ctx, cjs, jobs, hooks)
		b.Unwatch(cjs)
		b.Unwatch(jobs)
	}
}

// everything is the filter of every object of a kind.
func everything(bucket string) Filter {
	f, _ := NewFilter(bucket, "", "") // no selector: no error
	return f
}

func (b *Objects) follow(ctx context.Context, cjs, jobs *Subscription, hooks CronJobHooks) {
	for {
		var c Change
		var ok bool
		select {
		case <-ctx.Done():
			return
		case c, ok = <-cjs.Changes():
		case c, ok = <-jobs.Changes():
		}
		if !ok {
			b.log.Warn("the cronjob controller's change feed fell behind; resyncing")
			return
		}
		switch o := c.Object.(type) {
		case *batchv1.Job:
			hooks.JobChanged(o)
		case *batchv1.CronJob:
			if c.Type == store.Deleted {
				hooks.CronJobDeleted(o)
			} else {
				hooks.CronJobApplied(o)
			}
		}
	}
}

// CronJobControl is the CronJob controller's access to the objects
// (cronjob.JobControl, CronJobStore and EventRecorder).
type CronJobControl struct{ b *Objects }

var (
	_ cronjob.JobControl    = CronJobControl{}
	_ cronjob.CronJobStore  = CronJobControl{}
	_ cronjob.EventRecorder = CronJobControl{}
)

// CronJobControl returns the CronJob controller's adapter.
func (b *Objects) CronJobControl() CronJobControl { return CronJobControl{b} }

// GetJob reads a stored Job.
func (c CronJobControl) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	return c.b.st.Jobs().Get(ctx, namespace, name)
}

// ListJobs lists the Jobs of a namespace ("" = all).
func (c CronJobControl) ListJobs(ctx context.Context, namespace string) ([]*batchv1.Job, error) {
	jobs, _, err := c.b.st.Jobs().List(ctx, namespace)
	return jobs, err
}

// CreateJob creates a Job as a POST does: identity, defaulting, the
// generated selector, validation, admission, then the Job controller.
func (c CronJobControl) CreateJob(ctx context.Context, j *batchv1.Job) (*batchv1.Job, error) {
	j = j.DeepCopy()
	j.UID = uuid.NewUUID()
	j.CreationTimestamp = metav1.NewTime(c.b.clk.Now())
	j.ResourceVersion, j.Generation = "", 1
	if err := c.b.PrepareJob(j); err != nil {
		return nil, err
	}
	created, err := c.b.st.Jobs().Create(ctx, j)
	if err != nil {
		return nil, err
	}
	c.b.JobApplied(ctx, created)
	return created, nil
}

// DeleteJob removes a Job as a DELETE with Background propagation does:
// the Job controller then deletes its pods.
func (c CronJobControl) DeleteJob(ctx context.Context, namespace, name string) error {
	j, err := c.b.st.Jobs().Delete(ctx, namespace, name, "", nil)
	if err != nil {
		return err
	}
	c.b.JobDeleted(ctx, j)
	return nil
}

// ReleaseJob removes owner's reference from a stored Job.
func (c CronJobControl) ReleaseJob(ctx context.Context, namespace, name string, owner types.UID) error {
	_, err := c.b.st.Jobs().Mutate(ctx, namespace, name, func(j *batchv1.Job) (*batchv1.Job, error) {
		j.OwnerReferences = slices.DeleteFunc(j.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == owner })
		return j, nil
	})
	return err
}

// GetCronJob reads a stored CronJob.
func (c CronJobControl) GetCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
	return c.b.st.CronJobs().Get(ctx, namespace, name)
}

// ListCronJobs lists every stored CronJob.
func (c CronJobControl) ListCronJobs(ctx context.Context) ([]*batchv1.CronJob, error) {
	cjs, _, err := c.b.st.CronJobs().List(ctx, "")
	return cjs, err
}

// UpdateCronJobStatus writes the controller's status onto the stored
// CronJob of the same UID, keeping its spec.
func (c CronJobControl) UpdateCronJobStatus(ctx context.Context, cj *batchv1.CronJob) error {
	_, err := c.b.st.CronJobs().Mutate(ctx, cj.Namespace, cj.Name, func(cur *batchv1.CronJob) (*batchv1.CronJob, error) {
		if cur.UID != cj.UID {
			return nil, api.NewConflict("cronjob", cj.Name, fmt.Errorf("the cronjob was replaced"))
		}
		cj.Status.DeepCopyInto(&cur.Status)
		return cur, nil
	})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile: nothing to record
	}
	return err
}

// CronJobEvent records an event about a CronJob (SuccessfulCreate,
// TooManyMissedTimes, ...), from the cronjob-controller as in Kubernetes.
func (c CronJobControl) CronJobEvent(cj *batchv1.CronJob, eventType, reason, message string) {
	ev := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "CronJob", APIVersion: "batch/v1", Namespace: cj.Namespace,
			Name: cj.Name, UID: cj.UID, ResourceVersion: cj.ResourceVersion},
		Type: eventType, Reason: reason, Message: message,
		Source: corev1.EventSource{Component: "cronjob-controller"},
	}
	if err := c.b.RecordEvent(context.Background(), ev); err != nil {
		c.b.log.Warn("record cronjob event", zap.String("cronjob", cj.Namespace+"/"+cj.Name), zap.Error(err))
	}
}
