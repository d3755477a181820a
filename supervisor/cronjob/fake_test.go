package cronjob

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var jobsResource = schema.GroupResource{Group: "batch", Resource: "jobs"}

// world is an in-memory store of CronJobs and Jobs with a fake clock: the
// controller's JobControl, CronJobStore and EventRecorder.
type world struct {
	t   *testing.T
	clk *clocktesting.FakeClock

	mu      sync.Mutex
	cjs     map[string]*batchv1.CronJob
	jobs    map[string]*batchv1.Job
	events  []string // "Reason: message"
	created []string // job names in creation order
	deleted []string
	uids    int
}

func newWorld(t *testing.T, now time.Time) *world {
	return &world{t: t, clk: clocktesting.NewFakeClock(now), cjs: map[string]*batchv1.CronJob{}, jobs: map[string]*batchv1.Job{}}
}

func (w *world) controller() *Controller {
	return NewController(Options{Jobs: w, CronJobs: w, Events: w, Clock: w.clk})
}

func (w *world) uid() types.UID {
	w.uids++
	return types.UID(fmt.Sprintf("uid-%d", w.uids))
}

// addCronJob stores a defaulted CronJob created now.
func (w *world) addCronJob(schedule string, mod ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "cj", Namespace: "default", CreationTimestamp: metav1.NewTime(w.clk.Now())},
		Spec: batchv1.CronJobSpec{Schedule: schedule, JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			}}},
		}},
	}
	api.DefaultCronJob(cj)
	for _, m := range mod {
		m(cj)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cj.UID = w.uid()
	w.cjs[cj.Namespace+"/"+cj.Name] = cj
	return cj.DeepCopy()
}

func (w *world) cronJob() *batchv1.CronJob {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cjs["default/cj"].DeepCopy()
}

func (w *world) GetCronJob(_ context.Context, ns, name string) (*batchv1.CronJob, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cj, ok := w.cjs[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "batch", Resource: "cronjobs"}, name)
	}
	return cj.DeepCopy(), nil
}

func (w *world) ListCronJobs(context.Context) ([]*batchv1.CronJob, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*batchv1.CronJob
	for _, cj := range w.cjs {
		out = append(out, cj.DeepCopy())
	}
	return out, nil
}

func (w *world) UpdateCronJobStatus(_ context.Context, cj *batchv1.CronJob) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.cjs[cj.Namespace+"/"+cj.Name]
	if !ok || cur.UID != cj.UID {
		return apierrors.NewConflict(schema.GroupResource{Resource: "cronjobs"}, cj.Name, fmt.Errorf("replaced"))
	}
	cj.Status.DeepCopyInto(&cur.Status)
	return nil
}

func (w *world) CronJobEvent(_ *batchv1.CronJob, _, reason, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, reason+": "+message)
}

func (w *world) GetJob(_ context.Context, ns, name string) (*batchv1.Job, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	j, ok := w.jobs[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(jobsResource, name)
	}
	return j.DeepCopy(), nil
}

func (w *world) CreateJob(_ context.Context, j *batchv1.Job) (*batchv1.Job, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := j.Namespace + "/" + j.Name
	if _, ok := w.jobs[k]; ok {
		return nil, apierrors.NewAlreadyExists(jobsResource, j.Name)
	}
	j = j.DeepCopy()
	j.UID, j.CreationTimestamp = w.uid(), metav1.NewTime(w.clk.Now())
	w.jobs[k] = j
	w.created = append(w.created, j.Name)
	return j.DeepCopy(), nil
}

func (w *world) DeleteJob(_ context.Context, ns, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.jobs[ns+"/"+name]; !ok {
		return apierrors.NewNotFound(jobsResource, name)
	}
	delete(w.jobs, ns+"/"+name)
	w.deleted = append(w.deleted, name)
	return nil
}

func (w *world) ReleaseJob(_ context.Context, ns, name string, owner types.UID) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	j, ok := w.jobs[ns+"/"+name]
	if !ok {
		return apierrors.NewNotFound(jobsResource, name)
	}
	var kept []metav1.OwnerReference
	for _, r := range j.OwnerReferences {
		if r.UID != owner {
			kept = append(kept, r)
		}
	}
	j.OwnerReferences = kept
	return nil
}

func (w *world) ListJobs(_ context.Context, ns string) ([]*batchv1.Job, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*batchv1.Job
	for _, j := range w.jobs {
		if ns == "" || j.Namespace == ns {
			out = append(out, j.DeepCopy())
		}
	}
	return out, nil
}

// jobNames are the stored Jobs' names, sorted.
func (w *world) jobNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, j := range w.jobs {
		out = append(out, j.Name)
	}
	sort.Strings(out)
	return out
}

// finish marks a stored Job Complete or Failed, started at start and
// finished at end.
func (w *world) finish(name string, cond batchv1.JobConditionType, start, end time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.jobs["default/"+name]
	if j == nil {
		w.t.Fatalf("no job %s", name)
	}
	j.Status.StartTime = ptr.To(metav1.NewTime(start))
	if cond == batchv1.JobComplete {
		j.Status.CompletionTime = ptr.To(metav1.NewTime(end))
	}
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue})
}

func (w *world) hasEvent(reason string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if len(e) >= len(reason) && e[:len(reason)] == reason {
			return true
		}
	}
	return false
}

// sync runs one sync of default/cj and fails the test on an error.
func (w *world) sync(c *Controller) *time.Duration {
	w.t.Helper()
	d, err := c.Sync(context.Background(), "default", "cj")
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	return d
}

// minuteJob is the Job name of the schedule time t.
func minuteJob(t time.Time) string { return JobName("cj", t) }

// syncAt sets the clock to each time in turn and syncs at it.
func (w *world) syncAt(c *Controller, times ...time.Time) {
	w.t.Helper()
	for _, at := range times {
		w.clk.SetTime(at)
		w.sync(c)
	}
}
