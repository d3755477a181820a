// Package cronjob is podrun's CronJob controller: the rules of
// Kubernetes' CronJob controller (pkg/controller/cronjob, the v2
// controller) over an injected clock, acting through interfaces the
// daemon implements (docs/semantics.md R109-R116). It imports nothing
// from daemon/, so its tests run on a fake clock and fake stores.
package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// JobControl creates and removes the Jobs of CronJobs through the same
// path as the API (defaulting, validation, admission, the Job controller).
type JobControl interface {
	// GetJob returns a stored Job; a missing one is apierrors NotFound.
	GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error)
	// CreateJob creates a Job; an existing name is apierrors AlreadyExists.
	CreateJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error)
	// DeleteJob removes a Job and, in the background, its pods.
	DeleteJob(ctx context.Context, namespace, name string) error
	// ListJobs lists the Jobs of a namespace ("" = all).
	ListJobs(ctx context.Context, namespace string) ([]*batchv1.Job, error)
	// ReleaseJob removes owner's reference from a Job (a CronJob deleted
	// with propagationPolicy Orphan leaves its Jobs standing on their own).
	ReleaseJob(ctx context.Context, namespace, name string, owner types.UID) error
}

// CronJobStore reads CronJobs and writes their status.
type CronJobStore interface {
	GetCronJob(ctx context.Context, namespace, name string) (*batchv1.CronJob, error)
	ListCronJobs(ctx context.Context) ([]*batchv1.CronJob, error)
	// UpdateCronJobStatus writes cj's status onto the stored CronJob of
	// the same UID, keeping its spec.
	UpdateCronJobStatus(ctx context.Context, cj *batchv1.CronJob) error
}

// EventRecorder records an event about a CronJob.
type EventRecorder interface {
	CronJobEvent(cj *batchv1.CronJob, eventType, reason, message string)
}

// Options configure a Controller.
type Options struct {
	Jobs     JobControl
	CronJobs CronJobStore
	Events   EventRecorder
	Clock    clock.PassiveClock
	Logger   *zap.Logger
}

// Controller syncs one CronJob at a time (its Runner never overlaps two
// syncs of the same CronJob).
type Controller struct {
	jobs   JobControl
	cjs    CronJobStore
	events EventRecorder
	clk    clock.PassiveClock
	log    *zap.Logger
}

// NewController returns a Controller.
func NewController(o Options) *Controller {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return &Controller{jobs: o.Jobs, cjs: o.CronJobs, events: o.Events, clk: o.Clock, log: o.Logger}
}

// Sync reconciles one CronJob with its Jobs (the controller's sync):
// history pruning, then the schedule, then one status write if anything
// changed. It returns when to sync again (nil: only on a change).
func (c *Controller) Sync(ctx context.Context, namespace, name string) (*time.Duration, error) {
	stored, err := c.cjs.GetCronJob(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	jobs, err := c.jobsOf(ctx, stored)
	if err != nil {
		return nil, err
	}
	cj := stored.DeepCopy()
	cleaned := c.cleanupFinishedJobs(ctx, cj, jobs)
	requeue, synced, syncErr := c.syncCronJob(ctx, cj, jobs)
	if cleaned || synced {
		if err := c.cjs.UpdateCronJobStatus(ctx, cj); err != nil {
			return nil, err
		}
	}
	if requeue != nil {
		return requeue, nil
	}
	return nil, syncErr
}

// jobsOf lists the Jobs cj controls (by UID, as the controller's index).
func (c *Controller) jobsOf(ctx context.Context, cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	all, err := c.jobs.ListJobs(ctx, cj.Namespace)
	if err != nil {
		return nil, err
	}
	var out []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			out = append(out, j)
		}
	}
	return out, nil
}

func (c *Controller) event(cj *batchv1.CronJob, eventType, reason, format string, args ...any) {
	if c.events != nil {
		c.events.CronJobEvent(cj, eventType, reason, fmt.Sprintf(format, args...))
	}
}

// syncCronJob is the controller's syncCronJob (R109-R113): it brings
// status.active and lastSuccessfulTime up to date, then starts the Job of
// the most recent unmet schedule time, if any and if allowed. It reports
// when to sync again and whether the status changed.
func (c *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (*time.Duration, bool, error) {
	now := c.clk.Now()
	changed := c.reconcileActive(ctx, cj, jobs)
	if missing, err := c.dropMissingActive(ctx, cj, jobs); err != nil {
		return nil, changed, err
	} else if missing {
		changed = true
	}
	if cj.DeletionTimestamp != nil {
		return nil, changed, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.event(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return nil, changed, nil
		}
	}
	if ptr.Deref(cj.Spec.Suspend, false) {
		return nil, changed, nil
	}
	sched, err := parseSchedule(cj)
	if err != nil {
		c.event(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return nil, changed, nil
	}
	_, scheduled, m, err := mostRecentScheduleTime(cj, now, sched, true)
	if err != nil {
		c.event(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return nil, changed, nil
	}
	next := func() *time.Duration { return ptr.To(nextScheduleDuration(cj, now, sched)) }
	if scheduled == nil {
		return next(), changed, nil
	}
	if m == manyMissed {
		c.event(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.event(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s",
			scheduled.UTC().Format(time.RFC1123Z))
		return next(), changed, nil
	}
	name := JobName(cj.Name, *scheduled)
	if activeByName(cj, name) || cj.Status.LastScheduleTime.Equal(&metav1.Time{Time: *scheduled}) {
		return next(), changed, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
		c.event(cj, corev1.EventTypeNormal, "JobAlreadyActive",
			"Not starting job because prior execution is running and concurrency policy is Forbid")
		return next(), changed, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent {
		for _, ref := range cj.Status.Active {
			j, err := c.jobs.GetJob(ctx, ref.Namespace, ref.Name)
			if err != nil {
				c.event(cj, corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
				return nil, changed, err
			}
			if !c.deleteJob(ctx, cj, j) {
				return nil, changed, fmt.Errorf("could not replace job %s/%s", j.Namespace, j.Name)
			}
			changed = true
		}
	}
	created, err := c.createJob(ctx, cj, *scheduled)
	if err != nil || created == nil {
		return nil, changed, err
	}
	cj.Status.Active = append(cj.Status.Active, jobRef(created))
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	return next(), true, nil
}

// createJob creates the Job of a schedule time. A Job of that name that
// already exists is the one made before a crash or a backward clock jump
// (R111): it is taken into status.active if this CronJob controls it and
// it is not there yet, and never made twice. It returns nil when there
// is nothing to add.
func (c *Controller) createJob(ctx context.Context, cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	req, err := jobFromTemplate(cj, scheduled)
	if err != nil {
		return nil, err
	}
	created, err := c.jobs.CreateJob(ctx, req)
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, err := c.jobs.GetJob(ctx, cj.Namespace, req.Name)
		if err != nil {
			return nil, err
		}
		if !metav1.IsControlledBy(existing, cj) || inActive(cj, existing.UID) {
			return nil, nil
		}
		c.log.Info("job already exists", zap.String("cronjob", cj.Namespace+"/"+cj.Name), zap.String("job", req.Name))
		return existing, nil
	case err != nil:
		c.event(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return nil, err
	}
	c.event(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	return created, nil
}

// reconcileActive drops finished Jobs from status.active and advances
// lastSuccessfulTime; an unfinished Job of ours that is not in the list
// is reported (UnexpectedJob), as after a crash between create and
// status write.
func (c *Controller) reconcileActive(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	changed := false
	for _, j := range jobs {
		found := inActive(cj, j.UID)
		finished, cond := finishedCondition(j)
		switch {
		case !found && !finished:
			// The copy being synced may predate the status write that
			// took this Job in; the stored CronJob decides, and only the
			// reference is taken from it so that this sync's other
			// changes are kept.
			if fresh, err := c.cjs.GetCronJob(ctx, cj.Namespace, cj.Name); err == nil && inActive(fresh, j.UID) {
				cj.Status.Active = append(cj.Status.Active, jobRef(j))
				changed = true
				continue
			}
			c.event(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case finished:
			if found {
				removeActive(cj, j.UID)
				c.event(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
				changed = true
			}
			if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
				(cj.Status.LastSuccessfulTime == nil || j.Status.CompletionTime.After(cj.Status.LastSuccessfulTime.Time)) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime
				changed = true
			}
		}
	}
	return changed
}

// dropMissingActive removes from status.active the Jobs that are gone
// (MissingJob), so that a deleted Job never holds a Forbid CronJob.
func (c *Controller) dropMissingActive(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (bool, error) {
	listed := make(map[types.UID]bool, len(jobs))
	for _, j := range jobs {
		listed[j.UID] = true
	}
	changed := false
	for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
		if listed[ref.UID] {
			continue
		}
		_, err := c.jobs.GetJob(ctx, ref.Namespace, ref.Name)
		switch {
		case apierrors.IsNotFound(err):
			c.event(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			removeActive(cj, ref.UID)
			changed = true
		case err != nil:
			return changed, err
		}
	}
	return changed, nil
}

// cleanupFinishedJobs keeps the newest successfulJobsHistoryLimit
// complete and failedJobsHistoryLimit failed Jobs and deletes the older
// ones, oldest start first (R114).
func (c *Controller) cleanupFinishedJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch _, cond := finishedCondition(j); cond {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	changed := false
	prune := func(js []*batchv1.Job, limit *int32) {
		if limit == nil || len(js) <= int(*limit) {
			return
		}
		sort.Slice(js, func(a, b int) bool { return startedBefore(js[a], js[b]) })
		for _, j := range js[:len(js)-int(*limit)] {
			if c.deleteJob(ctx, cj, j) {
				changed = true
			}
		}
	}
	prune(succeeded, cj.Spec.SuccessfulJobsHistoryLimit)
	prune(failed, cj.Spec.FailedJobsHistoryLimit)
	return changed
}

// deleteJob deletes a Job with its pods and drops it from status.active.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) bool {
	if err := c.jobs.DeleteJob(ctx, j.Namespace, j.Name); err != nil && !apierrors.IsNotFound(err) {
		c.event(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		c.log.Error("delete job of cronjob", zap.String("job", j.Namespace+"/"+j.Name), zap.Error(err))
		return false
	}
	removeActive(cj, j.UID)
	c.event(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", j.Name)
	return true
}

// startedBefore orders Jobs by start time, unstarted last, then by name
// (the controller's byJobStartTime).
func startedBefore(a, b *batchv1.Job) bool {
	sa, sb := a.Status.StartTime, b.Status.StartTime
	switch {
	case sa == nil && sb != nil:
		return false
	case sa != nil && sb == nil:
		return true
	case sa.Equal(sb):
		return a.Name < b.Name
	}
	return sa.Before(sb)
}

// finishedCondition reports whether the Job is finished and how
// (Complete or Failed).
func finishedCondition(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func inActive(cj *batchv1.CronJob, uid types.UID) bool {
	for _, r := range cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func activeByName(cj *batchv1.CronJob, name string) bool {
	for _, r := range cj.Status.Active {
		if r.Name == name && r.Namespace == cj.Namespace {
			return true
		}
	}
	return false
}

func removeActive(cj *batchv1.CronJob, uid types.UID) {
	kept := []corev1.ObjectReference{}
	for _, r := range cj.Status.Active {
		if r.UID != uid {
			kept = append(kept, r)
		}
	}
	cj.Status.Active = kept
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name,
		UID: j.UID, ResourceVersion: j.ResourceVersion}
}
