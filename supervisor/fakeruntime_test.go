package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"k8s.io/apimachinery/pkg/util/wait"
)

// termBehaviour says how a fake container reacts to its stop signal.
type termBehaviour struct {
	delay  time.Duration // time until it exits after the signal
	code   int32         // exit code when it exits on its own after the signal
	ignore bool          // ignores the signal: SIGKILLed at grace end (137)
}

type fakeContainer struct {
	id, podUID, name string
	attempt          int32
	sandbox          int32 // the sandbox attempt it was created in
	state            InstanceState
	exit             *ExitStatus
	startedAt        time.Time
	exited           chan struct{} // closed when it exits
}

type stopRecord struct {
	name  string
	at    time.Time
	grace time.Duration
}

// fakeRuntime is an in-memory Runtime that records calls in order and
// emits exit events; time is the fake clock's.
type fakeRuntime struct {
	mu         sync.Mutex
	clk        *clocktesting.FakeClock
	events     chan RuntimeEvent
	calls      []string
	containers map[string]*fakeContainer
	images     map[string]ImageStatus
	pullErr    map[string]error
	createErr  map[string]error
	stopErr    map[string]error // the next stop of that container fails, leaving it running
	startErr   map[string]error
	sandboxes  map[string]int32
	term       map[string]termBehaviour
	stops      []stopRecord
	seq        int
	// What Reap adds beyond the exit event, by container name: the
	// termination message, an OOM kill only the cgroup counter saw, an error.
	reapMsg map[string]string
	reapOOM map[string]bool
	reapErr map[string]error
	// reapGate holds Reap of a container until the channel is closed, to
	// show what the engine does while a reap is slow.
	reapGate map[string]chan struct{}
	reaping  []string // names whose Reap reached its gate
	// onPull, when set, runs inside PullImage with its progress callback
	// (as the runtime's reporting goroutine would call it).
	onPull func(progress PullProgress)
	// prepare-ahead (prepare_test.go): createGate holds CreateContainer of
	// a container until closed; stale makes PreparedCurrent say no.
	createGate map[string]chan struct{}
	stale      map[string]bool
	// orphan sweep (orphans_test.go): pods with leftovers on the host, and
	// the pods whose logs were removed.
	leftovers   []PodRef
	removedLogs []types.UID
	// listErrs makes that many ListContainers calls fail (a shim dying
	// while containerd lists its task); lists counts the calls.
	listErrs, lists int
}

func newFakeRuntime(clk *clocktesting.FakeClock) *fakeRuntime {
	return &fakeRuntime{
		clk:        clk,
		events:     make(chan RuntimeEvent, 1000),
		containers: map[string]*fakeContainer{},
		images:     map[string]ImageStatus{"busybox:1.28": {Present: true, Ref: "docker.io/library/busybox:1.28", ID: "sha256:bb"}},
		pullErr:    map[string]error{},
		createErr:  map[string]error{},
		stopErr:    map[string]error{},
		startErr:   map[string]error{},
		sandboxes:  map[string]int32{},
		term:       map[string]termBehaviour{},
		reapMsg:    map[string]string{},
		reapOOM:    map[string]bool{},
		reapErr:    map[string]error{},
		reapGate:   map[string]chan struct{}{},
		createGate: map[string]chan struct{}{},
		stale:      map[string]bool{},
	}
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeRuntime) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRuntime) ImageStatus(ctx context.Context, ref string) (ImageStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], nil
}

func (f *fakeRuntime) PullImage(ctx context.Context, ref string, progress PullProgress) (ImageStatus, error) {
	f.mu.Lock()
	onPull := f.onPull
	f.mu.Unlock()
	if onPull != nil && progress != nil {
		onPull(progress)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pull %s", ref)
	if err := f.pullErr[ref]; err != nil {
		return ImageStatus{}, err
	}
	st := ImageStatus{Present: true, Ref: "docker.io/library/" + ref, ID: "sha256:" + ref, Size: 100}
	f.images[ref] = st
	return st, nil
}

func (f *fakeRuntime) EnsureSandbox(ctx context.Context, pod *corev1.Pod, attempt int32) (Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("sandbox %d", attempt)
	f.sandboxes[string(pod.UID)] = attempt
	return Sandbox{Attempt: attempt, PodIP: "10.88.0.2", HostIPs: []string{"192.168.1.1"}}, nil
}

func (f *fakeRuntime) SandboxExists(ctx context.Context, pod *corev1.Pod) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.sandboxes[string(pod.UID)]
	return ok, nil
}

func (f *fakeRuntime) RemoveSandbox(ctx context.Context, pod *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("remove-sandbox")
	delete(f.sandboxes, string(pod.UID))
	return nil
}

func (f *fakeRuntime) CreateContainer(ctx context.Context, req CreateRequest) (Instance, error) {
	f.mu.Lock()
	gate := f.createGate[req.Container.Name]
	if gate != nil {
		f.record("held %s", req.Container.Name)
	}
	f.mu.Unlock()
	if err := waitGate(ctx, gate); err != nil {
		return Instance{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Ahead {
		f.record("prepare %s", req.Container.Name)
	} else {
		f.record("create %s", req.Container.Name)
	}
	if err := f.createErr[req.Container.Name]; err != nil {
		return Instance{}, err
	}
	f.seq++
	id := fmt.Sprintf("%s-%d", req.Container.Name, f.seq)
	f.containers[id] = &fakeContainer{id: id, podUID: string(req.Pod.UID), name: req.Container.Name,
		attempt: req.Attempt, sandbox: req.Sandbox.Attempt, state: InstanceCreated, exited: make(chan struct{})}
	return Instance{ID: id, ImageRef: req.ImageRef}, nil
}

func (f *fakeRuntime) StartContainer(ctx context.Context, id string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	f.record("start %s", c.name)
	if err := f.startErr[c.name]; err != nil {
		return time.Time{}, err
	}
	c.state = InstanceRunning
	c.startedAt = f.clk.Now()
	return c.startedAt, nil
}

// StopContainer simulates the stop signal and SIGKILL on the fake clock.
func (f *fakeRuntime) StopContainer(ctx context.Context, id string, sig syscall.Signal, grace time.Duration) error {
	f.mu.Lock()
	c := f.containers[id]
	if c == nil || c.state != InstanceRunning {
		f.mu.Unlock()
		return nil
	}
	if err := f.stopErr[c.name]; err != nil {
		delete(f.stopErr, c.name)
		f.record("stop %s failed", c.name)
		f.mu.Unlock()
		return err
	}
	f.record("stop %s %s", c.name, grace)
	f.stops = append(f.stops, stopRecord{name: c.name, at: f.clk.Now(), grace: grace})
	b, ok := f.term[c.name]
	if !ok {
		b = termBehaviour{code: 143}
	}
	exited := c.exited
	f.mu.Unlock()
	code := b.code
	wait := b.delay
	if b.ignore || b.delay > grace {
		wait, code = grace, 137
	}
	if wait > 0 {
		select {
		case <-f.clk.After(wait):
		case <-exited: // stopped by another call
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.exit(id, code)
	return nil
}

// exit ends a running fake container and emits its exit event.
func (f *fakeRuntime) exit(id string, code int32) { f.exitAt(id, code, f.clk.Now()) }

// exitAt is exit with containerd's exit time at.
func (f *fakeRuntime) exitAt(id string, code int32, at time.Time) {
	f.mu.Lock()
	c := f.containers[id]
	if c == nil || c.state != InstanceRunning {
		f.mu.Unlock()
		return
	}
	c.state = InstanceExited
	close(c.exited)
	c.exit = &ExitStatus{ExitCode: code, FinishedAt: at}
	f.record("exit %s %d", c.name, code)
	ev := RuntimeEvent{Kind: EventExit, PodUID: c.podUID, ContainerID: id, ExitCode: code, At: at}
	f.mu.Unlock()
	f.events <- ev
}

func (f *fakeRuntime) Reap(ctx context.Context, id string) (ExitStatus, error) {
	f.mu.Lock()
	c := f.containers[id]
	if gate := f.reapGate[nameOf(c)]; gate != nil {
		f.reaping = append(f.reaping, c.name)
		f.mu.Unlock()
		if err := waitGate(ctx, gate); err != nil {
			return ExitStatus{}, err
		}
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if c == nil || c.exit == nil {
		return ExitStatus{}, errors.New("not exited")
	}
	f.record("reap %s", c.name)
	if err := f.reapErr[c.name]; err != nil {
		return ExitStatus{}, err
	}
	delete(f.containers, id)
	es := *c.exit
	es.Message, es.OOMKilled = f.reapMsg[c.name], f.reapOOM[c.name]
	return es, nil
}

func nameOf(c *fakeContainer) string {
	if c == nil {
		return ""
	}
	return c.name
}

// has tells whether the runtime still holds an instance of container name.
func (f *fakeRuntime) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.name == name {
			return true
		}
	}
	return false
}

// held tells whether a Reap of container name waits at its gate.
func (f *fakeRuntime) held(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.reaping {
		if n == name {
			return true
		}
	}
	return false
}

func (f *fakeRuntime) RemoveContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	return nil
}

func (f *fakeRuntime) ListContainers(ctx context.Context) ([]RuntimeContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.listErrs > 0 {
		f.listErrs--
		return nil, errors.New("task status: ttrpc: closed")
	}
	var out []RuntimeContainer
	for _, c := range f.containers {
		out = append(out, RuntimeContainer{ID: c.id, PodUID: c.podUID, Container: c.name,
			Attempt: c.attempt, State: c.state, StartedAt: c.startedAt, Exit: c.exit,
			SandboxAttempt: c.sandbox, StopSignal: syscall.SIGTERM, LogPath: "/logs/" + c.id})
	}
	return out, nil
}

func (f *fakeRuntime) Exec(ctx context.Context, id string, req ExecRequest) (int, error) {
	return 0, nil
}

func (f *fakeRuntime) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	return nil, errors.New("no network in the fake runtime")
}

func (f *fakeRuntime) Events(ctx context.Context) <-chan RuntimeEvent { return f.events }

// running returns the ID of the running instance of container name.
func (f *fakeRuntime) running(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.containers {
		if c.name == name && c.state == InstanceRunning {
			return id
		}
	}
	return ""
}

// fakeSink records what the engine reports.
type fakeSink struct {
	mu       sync.Mutex
	last     *PodRecord
	saves    []*PodRecord
	events   []*corev1.Event
	finished chan *PodRecord
}

func newFakeSink() *fakeSink { return &fakeSink{finished: make(chan *PodRecord, 10)} }

func (s *fakeSink) SavePod(ctx context.Context, rec *PodRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = rec
	s.saves = append(s.saves, rec)
	return nil
}

func (s *fakeSink) SavePodWithEvents(ctx context.Context, rec *PodRecord, events []*corev1.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = rec
	s.saves = append(s.saves, rec)
	for _, ev := range events {
		s.events = append(s.events, ev.DeepCopy())
	}
	return nil
}

func (s *fakeSink) RecordEvent(ctx context.Context, ev *corev1.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *fakeSink) PodFinished(ctx context.Context, rec *PodRecord) error {
	s.finished <- rec
	return nil
}

func (s *fakeSink) eventList() []*corev1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*corev1.Event(nil), s.events...)
}

func (s *fakeSink) hasEvent(reason, msg string) bool {
	for _, e := range s.eventList() {
		if e.Reason == reason && (msg == "" || e.Message == msg) {
			return true
		}
	}
	return false
}

// harness wires a Manager to the fakes with a fake clock.
type harness struct {
	t      *testing.T
	clk    *clocktesting.FakeClock
	rt     *fakeRuntime
	sink   *fakeSink
	m      *Manager
	cancel context.CancelFunc
	done   chan struct{}
	before int
}

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	before := runtime.NumGoroutine()
	clk := clocktesting.NewFakeClock(t0)
	h := &harness{t: t, clk: clk, rt: newFakeRuntime(clk), sink: newFakeSink(), before: before}
	opts.Clock = clk
	h.m = NewManager(h.rt, h.sink, opts)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		_ = h.m.Run(ctx)
	}()
	t.Cleanup(h.stop)
	return h
}

// stop ends the manager and checks that no goroutine was left behind.
func (h *harness) stop() {
	h.cancel()
	<-h.done
	_ = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 2*time.Second, true, func(context.Context) (bool, error) { return runtime.NumGoroutine() <= h.before, nil })
	if n := runtime.NumGoroutine(); n > h.before {
		buf := make([]byte, 1<<16)
		h.t.Errorf("goroutine leak: %d before, %d after\n%s", h.before, n, buf[:runtime.Stack(buf, true)])
	}
}

func (h *harness) start(pod *corev1.Pod) {
	h.t.Helper()
	if err := h.m.Start(context.Background(), &PodRecord{Pod: pod}); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor polls cond in real time (the engine runs in goroutines).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		h.t.Fatalf("timed out waiting for %s; calls: %v", what, h.rt.callLog())
	}
}

// waitEvent waits for an event with reason and message ("" for any):
// a worker sends the events of a sync only after publishing its status,
// so one looked up right after a status was seen may not be there yet.
func (h *harness) waitEvent(reason, msg string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("event %s %q", reason, msg), func() bool { return h.sink.hasEvent(reason, msg) })
}

func (h *harness) status(uid types.UID) corev1.PodStatus {
	rec, ok := h.m.Get(uid)
	if !ok {
		return corev1.PodStatus{}
	}
	return rec.Pod.Status
}

func (h *harness) waitRunning(name string) string {
	h.t.Helper()
	var id string
	h.waitFor(name+" running", func() bool { id = h.rt.running(name); return id != "" })
	return id
}

// waitIdle waits until the worker has processed everything it was sent.
func (h *harness) waitPhase(uid types.UID, phase corev1.PodPhase) {
	h.t.Helper()
	h.waitFor("phase "+string(phase), func() bool { return h.status(uid).Phase == phase })
}

// stepUntil advances the fake clock in small steps until cond holds.
func (h *harness) stepUntil(what string, step time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out stepping for %s; calls: %v", what, h.rt.callLog())
		}
		h.clk.Step(step)
		h.settle()
	}
}

// settle waits until the engine's goroutines stopped reacting to the last
// clock step (waiters and goroutine count unchanged for a few polls), so
// that fake-time measurements do not depend on the machine's load.
func (h *harness) settle() {
	last, lastG, same := -1, -1, 0
	for i := 0; i < 100 && same < 3; i++ {
		time.Sleep(time.Millisecond)
		n, g := h.clk.Waiters(), runtime.NumGoroutine()
		if n == last && g == lastG {
			same++
		} else {
			same = 0
		}
		last, lastG = n, g
	}
}

// testPod builds a pod: inits "name" or "name:sidecar", regular names.
func testPod(policy corev1.RestartPolicy, inits []string, regulars ...string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	tgps := int64(30)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: types.UID("uid-" + fmt.Sprint(len(inits), len(regulars), policy))},
		Spec:       corev1.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: &tgps},
	}
	for _, n := range inits {
		c := corev1.Container{Name: n, Image: "busybox:1.28"}
		if len(n) > 8 && n[len(n)-8:] == ":sidecar" {
			c.Name = n[:len(n)-8]
			c.RestartPolicy = &always
		}
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	for _, n := range regulars {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: n, Image: "busybox:1.28"})
	}
	return pod
}

// waitGate holds a call until gate is closed (at once for no gate) or ctx
// ends.
func waitGate(ctx context.Context, gate <-chan struct{}) error {
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
