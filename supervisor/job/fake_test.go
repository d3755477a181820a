package job

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/api"
)

// fakeCluster is PodControl, JobStore and EventRecorder in memory. Pods
// deleted through it become terminating; the test ends them.
type fakeCluster struct {
	mu      sync.Mutex
	now     time.Time
	pods    map[string]*corev1.Pod // by name
	job     *batchv1.Job           // as last persisted
	deleted []string               // pod names passed to DeletePod
	creates int
	updates int
	jobGone bool
	events  []string
	seq     int
	// createFails, when set, is asked before each CreatePod (n counts the
	// calls from 1); its error fails the call.
	createFails func(n int) error
	createCalls int
}

func newFakeCluster(now time.Time) *fakeCluster {
	return &fakeCluster{now: now, pods: map[string]*corev1.Pod{}}
}

func (f *fakeCluster) CreatePod(_ context.Context, p *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createCalls++
	if f.createFails != nil {
		if err := f.createFails(f.createCalls); err != nil {
			return err
		}
	}
	if _, dup := f.pods[p.Name]; dup {
		return fmt.Errorf("pod %s already exists", p.Name)
	}
	c := p.DeepCopy()
	f.seq++
	c.UID = types.UID(fmt.Sprintf("uid-%s", p.Name))
	c.CreationTimestamp = metav1.NewTime(f.now.Add(time.Duration(f.seq) * time.Millisecond))
	c.Status.Phase = corev1.PodPending
	f.pods[p.Name] = c
	f.creates++
	return nil
}

func (f *fakeCluster) DeletePod(_ context.Context, _, name string, _ *int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pods[name]
	if !ok {
		return fmt.Errorf("pod %s not found", name)
	}
	f.deleted = append(f.deleted, name)
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		delete(f.pods, name) // a finished pod goes at once
		return nil
	}
	t := metav1.NewTime(f.now)
	p.DeletionTimestamp = &t
	return nil
}

func (f *fakeCluster) ListPods(_ context.Context, _ string, sel labels.Selector) ([]*corev1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*corev1.Pod
	for _, p := range f.pods {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeCluster) UpdateJobStatus(_ context.Context, j *batchv1.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.job = j.DeepCopy()
	f.updates++
	return nil
}

func (f *fakeCluster) DeleteJob(_ context.Context, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobGone = true
	return nil
}

func (f *fakeCluster) JobEvent(_ *batchv1.Job, eventType, reason, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, eventType+" "+reason+" "+message)
}

// harness drives one Job through Syncs at a controllable time.
type harness struct {
	t    *testing.T
	f    *fakeCluster
	c    *Controller
	job  *batchv1.Job
	now  time.Time
	rand int
}

func newHarness(t *testing.T, job *batchv1.Job) *harness {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := &harness{t: t, f: newFakeCluster(now), job: job, now: now}
	h.c = h.newController()
	return h
}

func (h *harness) newController() *Controller {
	return NewController(Options{Pods: h.f, Jobs: h.f, Events: h.f, RandSuffix: func(n int) string {
		h.rand++
		return fmt.Sprintf("%0*d", n, h.rand)
	}})
}

// sync runs Sync on the Job as last stored (a real store round trip) and
// returns the requeue delay.
func (h *harness) sync() time.Duration {
	h.t.Helper()
	if h.f.job != nil {
		h.job = h.f.job.DeepCopy()
	}
	h.f.now = h.now
	d, err := h.c.Sync(context.Background(), h.job, h.now)
	if err != nil {
		h.t.Fatalf("Sync: %v", err)
	}
	if h.f.job != nil {
		h.job = h.f.job.DeepCopy()
	}
	return d
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

// podNames returns the names of the pods, sorted.
func (h *harness) podNames() []string {
	var out []string
	for n := range h.f.pods {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (h *harness) activePods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, n := range h.podNames() {
		p := h.f.pods[n]
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// run marks a pod Running and Ready.
func (h *harness) run(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
}

// finish ends a pod with a phase; exit codes of the containers by name.
func (h *harness) finish(p *corev1.Pod, phase corev1.PodPhase, exit map[string]int32) {
	p.Status.Phase = phase
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse,
		LastTransitionTime: metav1.NewTime(h.now)}}
	term := func(c corev1.Container) corev1.ContainerStatus {
		code, ok := exit[c.Name]
		if !ok && phase == corev1.PodFailed {
			code = 1
		}
		return corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, FinishedAt: metav1.NewTime(h.now)}}}
	}
	p.Status.InitContainerStatuses, p.Status.ContainerStatuses = nil, nil
	for _, c := range p.Spec.InitContainers {
		cs := term(c)
		if _, ok := exit[c.Name]; !ok {
			cs.State.Terminated.ExitCode = 0
		}
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, cs)
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, term(c))
	}
}

// gone removes terminating pods, as podrund does once they stopped.
func (h *harness) gone() {
	for n, p := range h.f.pods {
		if p.DeletionTimestamp != nil {
			delete(h.f.pods, n)
		}
	}
}

func (h *harness) condition(t batchv1.JobConditionType) *batchv1.JobCondition {
	return getCondition(&h.job.Status, t)
}

// wantFailedOnceGone lets the deleted pod go and wants the Job Failed for
// reason, with that pod counted as failed once: as in Kubernetes, the pod
// deleted because the Job failed is a failure.
func (h *harness) wantFailedOnceGone(reason string) {
	h.t.Helper()
	h.gone()
	h.sync()
	h.wantCondition(batchv1.JobFailed, corev1.ConditionTrue, reason, "")
	if h.job.Status.Failed != 1 {
		h.t.Fatalf("the pod deleted for the failure (%s): failed %d, want 1", reason, h.job.Status.Failed)
	}
}

func (h *harness) wantCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string) {
	h.t.Helper()
	c := h.condition(t)
	if c == nil {
		h.t.Fatalf("no %s condition; conditions %+v", t, h.job.Status.Conditions)
	}
	if c.Status != status || c.Reason != reason || (msg != "" && c.Message != msg) {
		h.t.Fatalf("%s condition = %s %q %q, want %s %q %q", t, c.Status, c.Reason, c.Message, status, reason, msg)
	}
}

func (h *harness) wantNoCondition(t batchv1.JobConditionType) {
	h.t.Helper()
	if c := h.condition(t); c != nil {
		h.t.Fatalf("unexpected %s condition %+v", t, c)
	}
}

func (h *harness) hasEvent(substr string) bool {
	for _, e := range h.f.events {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

// newJob is a defaulted Job as the server stores it (UID and generated
// selector set): an app container and a native sidecar.
func newJob(mutate func(j *batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy:  corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{Name: "proxy", Image: "busybox:1.28", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
			Containers:     []corev1.Container{{Name: "pi", Image: "busybox:1.28"}},
		}}},
	}
	if mutate != nil {
		mutate(j)
	}
	api.DefaultJob(j)
	api.GenerateJobSelector(j)
	return j
}
