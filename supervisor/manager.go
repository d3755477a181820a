package supervisor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Options configure a Manager.
type Options struct {
	Clock            clock.WithTicker // k8s.io/utils/clock; fake clock in tests
	Logger           *zap.Logger
	ConcurrentStarts int // bounded parallelism of first syncs when many pods start at boot
	Probes           ProbeManager
	RunHook          HookRunner
	// PrepareAhead: while a pod's initialization runs, its later containers
	// are created (process not started) in the background and only started
	// at their turn, with no change anyone can observe (prepare.go).
	PrepareAhead bool
}

// ErrPodNotFound is returned for a UID the manager does not run.
var ErrPodNotFound = errors.New("pod not found in the engine")

// Manager runs one worker per pod and routes runtime events and probe
// updates to them.
type Manager struct {
	rt     Runtime
	sink   Sink
	opts   Options
	clk    clock.WithTicker
	log    *zap.Logger
	events *eventRecorder
	killer *killer
	sem    chan struct{}
	// prepSem bounds creations ahead across pods (prepareParallel); nil
	// when containers are not prepared ahead.
	prepSem chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	workers map[types.UID]*worker

	listMu sync.Mutex
	listed map[string]map[string]RuntimeContainer // pod UID -> ID -> container
	// early holds exits of instances whose pod is not started yet (boot:
	// events flow before every pod was adopted); adoption consumes them.
	early map[string]RuntimeEvent

	outage outage // the runtime outage in progress, for pods' events (outage.go)
}

// maxEarlyExits bounds the exits kept for pods not started yet.
const maxEarlyExits = 4096

// NewManager returns a Manager; call Run to route runtime events.
func NewManager(rt Runtime, sink Sink, opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	m := &Manager{rt: rt, sink: sink, opts: opts, clk: opts.Clock, log: opts.Logger,
		workers: map[types.UID]*worker{}}
	m.events = &eventRecorder{sink: sink, clk: opts.Clock, log: opts.Logger}
	m.killer = &killer{rt: rt, clk: opts.Clock, runHook: opts.RunHook, events: m.events}
	if opts.ConcurrentStarts > 0 {
		m.sem = make(chan struct{}, opts.ConcurrentStarts)
	}
	if opts.PrepareAhead {
		m.prepSem = make(chan struct{}, prepareParallel(runtime.NumCPU()))
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Run consumes rt.Events (and probe updates) and routes them to pod
// workers until ctx ends; then the workers stop, leaving containers running.
func (m *Manager) Run(ctx context.Context) error {
	defer func() {
		m.cancel()
		m.wg.Wait()
	}()
	evs := m.rt.Events(ctx)
	var probes <-chan results.Update
	if m.opts.Probes != nil {
		probes = m.opts.Probes.Updates()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.ctx.Done():
			return nil
		case ev, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			m.route(ev)
		case u := <-probes:
			if w := m.worker(u.PodUID); w != nil {
				w.mb.push(workerMsg{kind: msgProbe, probe: u})
			}
		}
	}
}

// route hands a runtime event to its pod's worker at once (no relist, §T).
func (m *Manager) route(ev RuntimeEvent) {
	switch ev.Kind {
	case EventExit, EventOOM:
		w := m.worker(types.UID(ev.PodUID))
		if w == nil {
			w = m.workerOf(ev.ContainerID)
		}
		if w == nil {
			m.keepEarly(ev)
			return
		}
		kind := msgExit
		if ev.Kind == EventOOM {
			kind = msgOOM
		}
		w.mb.push(workerMsg{kind: kind, id: ev.ContainerID, exitCode: ev.ExitCode, at: ev.At})
	case EventReconnected:
		m.mu.Lock()
		for _, w := range m.workers {
			w.mb.push(workerMsg{kind: msgReconnected})
		}
		m.mu.Unlock()
		// Reported after the workers were told, so that the store writes
		// do not delay their reconciliation.
		m.runtimeBack(m.ctx)
	case EventDisconnected:
		m.log.Warn("runtime connection lost; waiting for reconnect", zap.String("error", ev.Message))
		m.runtimeLost(m.ctx, ev)
	}
}

func (m *Manager) worker(uid types.UID) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.workers[uid]
}

// keepEarly remembers an exit for a pod that is not started yet.
func (m *Manager) keepEarly(ev RuntimeEvent) {
	if ev.Kind != EventExit {
		return
	}
	m.listMu.Lock()
	defer m.listMu.Unlock()
	if m.early == nil || len(m.early) >= maxEarlyExits {
		m.early = map[string]RuntimeEvent{}
	}
	m.early[ev.ContainerID] = ev
}

// takeEarly returns and forgets an early exit of instance id.
func (m *Manager) takeEarly(id string) (RuntimeEvent, bool) {
	m.listMu.Lock()
	defer m.listMu.Unlock()
	ev, ok := m.early[id]
	delete(m.early, id)
	return ev, ok
}

// workerOf finds the pod of an instance when the event carried no pod UID.
func (m *Manager) workerOf(id string) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		if findInstance(&w.snapshot().Engine, id) != nil {
			return w
		}
	}
	return nil
}

// remove forgets a worker once its deleted pod finished.
func (m *Manager) remove(uid types.UID, w *worker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers[uid] == w {
		delete(m.workers, uid)
	}
}

// Start begins running a pod: a new pod (rec.Engine empty) or one re-adopted
// after a podrund restart (R94).
func (m *Manager) Start(ctx context.Context, rec *PodRecord) error {
	if rec == nil || rec.Pod == nil || rec.Pod.UID == "" {
		return errors.New("start pod: record without a pod UID")
	}
	rec = copyRecord(rec)
	m.mu.Lock()
	if _, ok := m.workers[rec.Pod.UID]; ok {
		m.mu.Unlock()
		return fmt.Errorf("start pod %s/%s: already running", rec.Pod.Namespace, rec.Pod.Name)
	}
	w := newWorker(m, rec)
	// Every pod's first sync looks for runtime containers of its UID that
	// its record does not name, not only pods with engine state: a podrund
	// SIGKILLed during a pod's first sync stored no engine state yet, while
	// containerd went on to create the instance it asked for (a shim that
	// no podrund ever logged). For a new pod this is a lookup in the
	// manager's one runtime listing.
	w.adopt = true
	m.workers[rec.Pod.UID] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(m.ctx)
	}()
	m.mu.Unlock()
	m.warnIfDown(context.WithoutCancel(ctx), w)
	return nil
}

// UpdatePod applies an in-place change (container images and
// activeDeadlineSeconds only, §R).
func (m *Manager) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	w := m.worker(pod.UID)
	if w == nil {
		return fmt.Errorf("update pod %s/%s: %w", pod.Namespace, pod.Name, ErrPodNotFound)
	}
	w.mb.push(workerMsg{kind: msgUpdate, pod: pod.DeepCopy()})
	return nil
}

// Delete begins graceful termination (R61–R69); grace nil = the pod's TGPS.
// It returns at once; Sink.PodFinished follows when everything stopped.
func (m *Manager) Delete(ctx context.Context, uid types.UID, grace *int64) error {
	w := m.worker(uid)
	if w == nil {
		return fmt.Errorf("delete pod %s: %w", uid, ErrPodNotFound)
	}
	if !w.tryPush(workerMsg{kind: msgDelete, grace: grace}) {
		// Already stopped (completed pod): nothing to kill.
		<-w.done
		m.remove(uid, w)
		rec := copyRecord(w.snapshot())
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.sink.PodFinished(m.ctx, rec); err != nil {
				m.log.Error("pod finished", zap.String("uid", string(uid)), zap.Error(err))
			}
		}()
	}
	return nil
}

// Get returns a copy of the pod record as the engine holds it now.
func (m *Manager) Get(uid types.UID) (*PodRecord, bool) {
	w := m.worker(uid)
	if w == nil {
		return nil, false
	}
	return copyRecord(w.snapshot()), true
}

// Shutdown stops every pod (node shutdown) in pod order within grace; the
// pods stay in the store and run again when podrund next starts.
func (m *Manager) Shutdown(ctx context.Context, grace time.Duration) error {
	g := int64(grace / time.Second)
	m.mu.Lock()
	var dones []chan struct{}
	for _, w := range m.workers {
		w.mb.push(workerMsg{kind: msgShutdown, grace: &g})
		dones = append(dones, w.done)
	}
	m.mu.Unlock()
	deadline := m.clk.NewTimer(grace + 2*time.Duration(minStopWindow)*time.Second)
	defer deadline.Stop()
	for _, d := range dones {
		select {
		case <-d:
		case <-deadline.C():
			return errors.New("shutdown: pods still stopping after the grace period")
		case <-ctx.Done():
			return fmt.Errorf("shutdown: %w", ctx.Err())
		}
	}
	return nil
}

// Instance returns the newest instance of a container (for exec and logs).
func (m *Manager) Instance(uid types.UID, container string) (Instance, bool) {
	w := m.worker(uid)
	if w == nil {
		return Instance{}, false
	}
	snap := w.snapshot()
	cur, _ := newest(&snap.Engine, container, -1)
	if cur == nil {
		return Instance{}, false
	}
	return *cur, true
}

// runtimeContainers lists the runtime once per manager (adoption at boot)
// and returns this pod's instances.
func (m *Manager) runtimeContainers(ctx context.Context, uid types.UID) (map[string]RuntimeContainer, error) {
	m.listMu.Lock()
	defer m.listMu.Unlock()
	if m.listed == nil {
		list, err := m.rt.ListContainers(ctx)
		if err != nil {
			return nil, fmt.Errorf("list containers: %w", err)
		}
		m.listed = map[string]map[string]RuntimeContainer{}
		for _, rc := range list {
			if m.listed[rc.PodUID] == nil {
				m.listed[rc.PodUID] = map[string]RuntimeContainer{}
			}
			m.listed[rc.PodUID][rc.ID] = rc
		}
	}
	return m.listed[string(uid)], nil
}
