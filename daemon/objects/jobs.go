package objects

import (
	"context"
	"fmt"
	"slices"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor/job"
	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The Job controller (supervisor/job) acts through Objects: these
// methods implement its job.PodControl, job.JobStore and job.JobSource.
var (
	_ job.PodControl    = (*Objects)(nil)
	_ job.JobStore      = (*Objects)(nil)
	_ job.JobSource     = (*Objects)(nil)
	_ job.EventRecorder = (*Objects)(nil)
)

// JobEvent records an event about a Job (the controller's
// SuccessfulCreate, Completed, BackoffLimitExceeded, ...).
func (b *Objects) JobEvent(j *batchv1.Job, eventType, reason, message string) {
	ev := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace,
			Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion},
		Type: eventType, Reason: reason, Message: message,
		Source: corev1.EventSource{Component: "job-controller"},
	}
	if err := b.RecordEvent(context.Background(), ev); err != nil {
		b.log.Warn("record job event", zap.String("job", j.Namespace+"/"+j.Name), zap.Error(err))
	}
}

// CreatePod stores and starts a pod made by a controller, with the same
// defaulting, validation, policy and identity as a POST.
func (b *Objects) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	pod = pod.DeepCopy()
	api.DefaultPod(pod)
	if err := api.Validate(pod); err != nil {
		return err
	}
	if err := b.AdmitPod(pod); err != nil {
		return err
	}
	if _, err := b.SubmitPod(ctx, pod); err != nil {
		return err
	}
	return nil
}

// DeletePod begins the graceful deletion of a pod, as DELETE does.
func (b *Objects) DeletePod(ctx context.Context, namespace, name string, grace *int64) error {
	rec, err := b.st.Pods().Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	if rec.Pod.DeletionTimestamp != nil && grace == nil {
		return nil // already on its way out
	}
	_, err = b.beginDelete(ctx, rec, grace)
	return err
}

// ListPods lists a namespace's pods matching selector, terminating and
// finished ones included.
func (b *Objects) ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]*corev1.Pod, error) {
	recs, _, err := b.st.Pods().List(ctx, namespace)
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %w", namespace, err)
	}
	var out []*corev1.Pod
	for _, rec := range recs {
		if selector == nil || selector.Matches(labels.Set(rec.Pod.Labels)) {
			out = append(out, rec.Pod)
		}
	}
	return out, nil
}

// UpdateJobStatus writes the controller's state (status and counted-pods
// annotation, together) onto the stored Job, keeping its spec.
func (b *Objects) UpdateJobStatus(ctx context.Context, j *batchv1.Job) error {
	_, err := b.st.Jobs().Mutate(ctx, j.Namespace, j.Name, func(cur *batchv1.Job) (*batchv1.Job, error) {
		if cur.UID != j.UID {
			return nil, api.NewConflict("job", j.Name, fmt.Errorf("the job was replaced"))
		}
		job.CopyControllerState(j, cur)
		return cur, nil
	})
	return err
}

// DeleteJob removes the Job object (its pods are the controller's business).
func (b *Objects) DeleteJob(ctx context.Context, namespace, name string) error {
	_, err := b.st.Jobs().Delete(ctx, namespace, name, "", nil)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// GetJob reads a stored Job.
func (b *Objects) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	return b.st.Jobs().Get(ctx, namespace, name)
}

// ListJobs lists every stored Job.
func (b *Objects) ListJobs(ctx context.Context) ([]*batchv1.Job, error) {
	jobs, _, err := b.st.Jobs().List(ctx, "")
	return jobs, err
}

// MergeJobUpdate keeps what the controller owns across a PUT and checks
// the fields the API server keeps immutable.
func MergeJobUpdate(next, cur *batchv1.Job) error {
	job.CopyControllerState(cur, next)
	if cur.DeletionTimestamp != nil {
		// A Job on its way out (Foreground) stays so: re-applying its
		// manifest must not revive it, or the controller would recreate
		// the pods it is deleting.
		next.DeletionTimestamp, next.Finalizers = cur.DeletionTimestamp, cur.Finalizers
	}
	if errs := api.ValidateJobUpdate(next, cur); len(errs) > 0 {
		return api.NewInvalid("Job", next.Name, errs)
	}
	return nil
}

// JobPropagation records a DELETE's propagationPolicy on the deleted Job
// the way the API server does (as a finalizer), for the controller.
func JobPropagation(j *batchv1.Job, policy string) {
	switch metav1.DeletionPropagation(policy) {
	case metav1.DeletePropagationOrphan:
		j.Finalizers = append(j.Finalizers, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		j.Finalizers = append(j.Finalizers, metav1.FinalizerDeleteDependents)
	}
}

// ForegroundDeleteJob handles a DELETE with propagationPolicy Foreground
// as the API server does: the Job is not removed but marked (deletion
// timestamp and the foregroundDeletion finalizer) and stays visible while
// the controller deletes its pods; the controller removes it once none is
// left (job.Controller.DeleteJob). Other policies remove it at once.
func (b *Objects) ForegroundDeleteJob(ctx context.Context, policy, namespace, name string) (*batchv1.Job, bool, error) {
	if metav1.DeletionPropagation(policy) != metav1.DeletePropagationForeground {
		return nil, false, nil
	}
	j, err := b.st.Jobs().Mutate(ctx, namespace, name, func(cur *batchv1.Job) (*batchv1.Job, error) {
		if cur.DeletionTimestamp == nil {
			now := metav1.Now()
			cur.DeletionTimestamp = &now
		}
		if !slices.Contains(cur.Finalizers, metav1.FinalizerDeleteDependents) {
			cur.Finalizers = append(cur.Finalizers, metav1.FinalizerDeleteDependents)
		}
		return cur, nil
	})
	if err != nil {
		return nil, false, err
	}
	if jc := b.jobController(); jc != nil {
		jc.OnJobApplied(context.WithoutCancel(ctx), j.DeepCopy())
	}
	return j, true, nil
}

// JobApplied tells the Job controller about a created or changed Job.
func (b *Objects) JobApplied(ctx context.Context, j *batchv1.Job) {
	if jc := b.jobController(); jc != nil {
		jc.OnJobApplied(context.WithoutCancel(ctx), j.DeepCopy())
	}
}

// JobDeleted tells the Job controller about a removed Job.
func (b *Objects) JobDeleted(ctx context.Context, j *batchv1.Job) {
	if jc := b.jobController(); jc != nil {
		jc.OnJobDeleted(context.WithoutCancel(ctx), j.DeepCopy())
	}
}

// PrepareJob defaults and validates a new or replacing Job and admits its
// template.
func (b *Objects) PrepareJob(j *batchv1.Job) error {
	api.DefaultJob(j)
	api.GenerateJobSelector(j)
	if err := api.Validate(j); err != nil {
		return err
	}
	// The template is held to the namespace's level as the pods the Job
	// controller makes from it will be (CreatePod checks each again), so a
	// Job that could only make refused pods is refused at submit.
	meta := j.Spec.Template.ObjectMeta
	meta.Namespace, meta.Name = j.Namespace, j.Name
	return b.Admit("Job", j.Name, &meta, &j.Spec.Template.Spec)
}
