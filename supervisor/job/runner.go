package job

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
)

// syncRetry is how soon a Sync that failed (store or pod errors) runs again.
const syncRetry = 2 * time.Second

// JobSource reads Jobs from the store.
type JobSource interface {
	// GetJob returns the stored Job; a missing one is an error for which
	// apierrors.IsNotFound is true.
	GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error)
	// ListJobs returns every stored Job (all namespaces).
	ListJobs(ctx context.Context) ([]*batchv1.Job, error)
}

type jobKey struct{ namespace, name string }

// Runner drives a Controller: one goroutine syncs Jobs one at a time
// (Syncs of a Job never overlap), when they are applied, when one of
// their pods changes, and when a Sync asked to be called again. It
// implements the daemon's JobController hook (OnJobApplied, OnJobDeleted);
// the daemon also calls PodChanged for every pod write. None of these
// block or call the store, so they may be called from a store notifier.
type Runner struct {
	c   *Controller
	src JobSource
	clk clock.WithDelayedExecution
	log *zap.Logger

	mu      sync.Mutex
	queue   []jobKey
	queued  map[jobKey]bool
	timers  map[jobKey]clock.Timer
	deleted map[jobKey][]*batchv1.Job // removed Jobs whose pods must go
	wake    chan struct{}
}

// NewRunner returns a Runner; call Run to start it.
func NewRunner(c *Controller, src JobSource, clk clock.WithDelayedExecution, log *zap.Logger) *Runner {
	if log == nil {
		log = zap.NewNop()
	}
	return &Runner{c: c, src: src, clk: clk, log: log,
		queued: map[jobKey]bool{}, timers: map[jobKey]clock.Timer{}, deleted: map[jobKey][]*batchv1.Job{},
		wake: make(chan struct{}, 1)}
}

// OnJobApplied schedules a Sync of a created or updated Job.
func (r *Runner) OnJobApplied(_ context.Context, job *batchv1.Job) {
	r.enqueue(jobKey{job.Namespace, job.Name})
}

// OnJobDeleted schedules the deletion of the pods of a Job removed from the
// store (Background propagation; nothing for Orphan).
func (r *Runner) OnJobDeleted(_ context.Context, job *batchv1.Job) {
	if PropagationOf(job) == metav1.DeletePropagationOrphan {
		return
	}
	k := jobKey{job.Namespace, job.Name}
	r.mu.Lock()
	r.deleted[k] = append(r.deleted[k], job.DeepCopy())
	r.mu.Unlock()
	r.enqueue(k)
}

// PodChanged schedules a Sync of the Job that controls the pod, if any.
func (r *Runner) PodChanged(pod *corev1.Pod) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
		return
	}
	r.enqueue(jobKey{pod.Namespace, ref.Name})
}

func (r *Runner) enqueue(k jobKey) {
	r.mu.Lock()
	if !r.queued[k] {
		r.queued[k] = true
		r.queue = append(r.queue, k)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) pop() (jobKey, []*batchv1.Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return jobKey{}, nil, false
	}
	k := r.queue[0]
	r.queue = r.queue[1:]
	delete(r.queued, k)
	del := r.deleted[k]
	delete(r.deleted, k)
	return k, del, true
}

// after schedules a Sync of k in d, replacing an earlier schedule.
func (r *Runner) after(k jobKey, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.timers[k]; ok {
		t.Stop()
		delete(r.timers, k)
	}
	if d > 0 {
		r.timers[k] = r.clk.AfterFunc(d, func() { r.enqueue(k) })
	}
}

// Run syncs every stored Job once, then works until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	jobs, err := r.src.ListJobs(ctx)
	if err != nil {
		r.log.Error("list jobs at start; they are synced when they or their pods change", zap.Error(err))
	}
	for _, j := range jobs {
		r.enqueue(jobKey{j.Namespace, j.Name})
	}
	for {
		select {
		case <-ctx.Done():
			r.stopTimers()
			return nil
		case <-r.wake:
		}
		for ctx.Err() == nil {
			k, del, ok := r.pop()
			if !ok {
				break
			}
			r.process(ctx, k, del)
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

func (r *Runner) process(ctx context.Context, k jobKey, deleted []*batchv1.Job) {
	log := r.log.With(zap.String("job", k.namespace+"/"+k.name))
	for _, j := range deleted {
		if _, err := r.c.DeleteDependents(ctx, j); err != nil {
			log.Warn("delete the pods of a deleted job; retrying", zap.Error(err))
			r.mu.Lock()
			r.deleted[k] = append(r.deleted[k], j)
			r.mu.Unlock()
			r.after(k, syncRetry)
		}
	}
	job, err := r.src.GetJob(ctx, k.namespace, k.name)
	if apierrors.IsNotFound(err) {
		if len(deleted) == 0 {
			r.after(k, 0)
		}
		return
	}
	if err != nil {
		log.Warn("read job; retrying", zap.Error(err))
		r.after(k, syncRetry)
		return
	}
	d, err := r.c.Sync(ctx, job, r.clk.Now())
	if err != nil {
		log.Warn("sync job; retrying", zap.Error(err))
		d = syncRetry
	}
	r.after(k, d)
}
