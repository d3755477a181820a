package cronjob

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// syncRetry is how soon a sync that failed (store or Job errors) runs again.
const syncRetry = 5 * time.Second

type key struct{ namespace, name string }

// Runner drives a Controller: one goroutine syncs CronJobs one at a
// time, when they are applied, when one of their Jobs changes, and at
// the requeue time a sync asked for, measured on the injected clock. It
// also deletes the Jobs of a deleted CronJob (its owner references, as
// Kubernetes' garbage collector does). Its hooks never block or call the
// store, so they may be called from a store notifier.
type Runner struct {
	c   *Controller
	clk clock.WithDelayedExecution
	log *zap.Logger

	mu      sync.Mutex
	pending map[key]bool // to sync at the next Drain
	timers  map[key]clock.Timer
	deleted map[key][]deletedOwner // deleted CronJobs whose Jobs must go or be released
	wake    chan struct{}
}

// NewRunner returns a Runner; call Run to start it.
func NewRunner(c *Controller, clk clock.WithDelayedExecution, log *zap.Logger) *Runner {
	if log == nil {
		log = zap.NewNop()
	}
	return &Runner{c: c, clk: clk, log: log, pending: map[key]bool{}, timers: map[key]clock.Timer{},
		deleted: map[key][]deletedOwner{}, wake: make(chan struct{}, 1)}
}

// CronJobApplied schedules a sync of a created or changed CronJob.
func (r *Runner) CronJobApplied(cj *batchv1.CronJob) {
	r.enqueue(key{cj.Namespace, cj.Name})
}

// deletedOwner is a removed CronJob: its Jobs are deleted, or only
// released from it when it was deleted with propagationPolicy Orphan.
type deletedOwner struct {
	uid    types.UID
	orphan bool
}

// CronJobDeleted schedules what happens to the Jobs of a removed CronJob
// (R115).
func (r *Runner) CronJobDeleted(cj *batchv1.CronJob) {
	k := key{cj.Namespace, cj.Name}
	r.mu.Lock()
	r.deleted[k] = append(r.deleted[k], deletedOwner{cj.UID, slices.Contains(cj.Finalizers, metav1.FinalizerOrphanDependents)})
	r.mu.Unlock()
	r.enqueue(k)
}

// JobChanged schedules a sync of the CronJob that controls a written or
// removed Job, if any.
func (r *Runner) JobChanged(j *batchv1.Job) {
	ref := metav1.GetControllerOf(j)
	if ref == nil || ref.Kind != "CronJob" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
		return
	}
	r.enqueue(key{j.Namespace, ref.Name})
}

// Resync schedules a sync of every CronJob and a sweep of the Jobs whose
// CronJob is gone: at start, and whenever the Job feed was interrupted.
func (r *Runner) Resync(ctx context.Context) {
	cjs, err := r.c.cjs.ListCronJobs(ctx)
	if err != nil {
		r.log.Error("list cronjobs; they are synced when they change", zap.Error(err))
		return
	}
	for _, cj := range cjs {
		r.enqueue(key{cj.Namespace, cj.Name})
	}
	r.sweepOrphans(ctx, cjs)
}

func (r *Runner) enqueue(k key) {
	r.mu.Lock()
	r.pending[k] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// takeAll empties the pending set: the CronJobs to sync, in name order,
// and what to do for the deleted ones.
func (r *Runner) takeAll() ([]key, map[key][]deletedOwner) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]key, 0, len(r.pending))
	for k := range r.pending {
		keys = append(keys, k)
	}
	deleted := r.deleted
	r.pending, r.deleted = map[key]bool{}, map[key][]deletedOwner{}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	return keys, deleted
}

// after schedules a sync of k in d, replacing an earlier schedule.
func (r *Runner) after(k key, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.timers[k]; ok {
		t.Stop()
		delete(r.timers, k)
	}
	r.timers[k] = r.clk.AfterFunc(d, func() { r.enqueue(k) })
}

// Run resyncs, then works until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	r.Resync(ctx)
	for {
		select {
		case <-ctx.Done():
			r.stopTimers()
			return
		case <-r.wake:
		}
		r.Drain(ctx)
	}
}

// Drain syncs every pending CronJob until none is left (Run calls it;
// tests call it on a fake clock).
func (r *Runner) Drain(ctx context.Context) {
	for ctx.Err() == nil {
		keys, deleted := r.takeAll()
		if len(keys) == 0 {
			return
		}
		for _, k := range keys {
			for _, o := range deleted[k] {
				r.dependentsGone(ctx, k.namespace, o)
			}
			r.process(ctx, k)
		}
	}
}

func (r *Runner) process(ctx context.Context, k key) {
	requeue, err := r.c.Sync(ctx, k.namespace, k.name)
	switch {
	case err != nil:
		r.log.Warn("sync cronjob", zap.String("cronjob", k.namespace+"/"+k.name), zap.Error(err))
		r.after(k, syncRetry)
	case requeue != nil:
		r.after(k, *requeue)
	}
}

// dependentsGone deletes (or releases) the Jobs controlled by a deleted
// CronJob.
func (r *Runner) dependentsGone(ctx context.Context, namespace string, o deletedOwner) {
	jobs, err := r.c.jobs.ListJobs(ctx, namespace)
	if err != nil {
		r.log.Error("list jobs of a deleted cronjob", zap.Error(err))
		return
	}
	for _, j := range jobs {
		ref := metav1.GetControllerOf(j)
		if ref == nil || ref.UID != o.uid {
			continue
		}
		if o.orphan {
			err = r.c.jobs.ReleaseJob(ctx, j.Namespace, j.Name, o.uid)
		} else {
			err = r.c.jobs.DeleteJob(ctx, j.Namespace, j.Name)
		}
		if err != nil {
			r.log.Warn("jobs of a deleted cronjob", zap.String("job", j.Namespace+"/"+j.Name), zap.Error(err))
		}
	}
}

// sweepOrphans deletes the Jobs whose controlling CronJob no longer
// exists (podrund stopped between deleting a CronJob and its Jobs).
func (r *Runner) sweepOrphans(ctx context.Context, cjs []*batchv1.CronJob) {
	live := make(map[types.UID]bool, len(cjs))
	for _, cj := range cjs {
		live[cj.UID] = true
	}
	jobs, err := r.c.jobs.ListJobs(ctx, "")
	if err != nil {
		r.log.Error("list jobs for the orphan sweep", zap.Error(err))
		return
	}
	for _, j := range jobs {
		ref := metav1.GetControllerOf(j)
		if ref == nil || ref.Kind != "CronJob" || live[ref.UID] {
			continue
		}
		if err := r.c.jobs.DeleteJob(ctx, j.Namespace, j.Name); err != nil {
			r.log.Warn("delete orphaned job", zap.String("job", j.Namespace+"/"+j.Name), zap.Error(err))
		}
	}
}

func (r *Runner) stopTimers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range r.timers {
		t.Stop()
		delete(r.timers, k)
	}
}
