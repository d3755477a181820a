package probe

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// updateBuffer lets workers hand results over without waiting for the
// engine in the common case.
const updateBuffer = 256

// Manager runs the probe workers of every container instance: one goroutine
// and one ticker per (instance, probe kind), nothing else (R42).
type Manager struct {
	prober  Prober
	clk     clock.WithTicker
	log     *zap.Logger
	updates chan results.Update
	observe func(results.Update) // nil: nothing watches the updates
	start   time.Time            // instances started before it were adopted after a podrund restart

	mu        sync.Mutex
	instances map[string]*instance
	pods      map[types.UID]*podState
}

// podState is what instances of one pod share.
type podState struct {
	pod         atomic.Pointer[corev1.Pod] // newest copy: its sandbox may have changed (R14)
	transport   *http.Transport            // dials into the pod's netns; reused by every HTTP probe
	instances   int
	terminating bool // StopLivenessAndStartup was called (R49)
}

// Option configures a Manager.
type Option func(*Manager)

// WithObserver has f see every update once the engine's channel took it:
// podrund counts them in its metrics.
func WithObserver(f func(results.Update)) Option {
	return func(m *Manager) { m.observe = f }
}

// NewManager returns a Manager whose workers tick on clk.
func NewManager(p Prober, clk clock.WithTicker, log *zap.Logger, opts ...Option) *Manager {
	if log == nil {
		log = zap.NewNop()
	}
	m := &Manager{
		prober:    p,
		clk:       clk,
		log:       log,
		updates:   make(chan results.Update, updateBuffer),
		start:     clk.Now(),
		instances: map[string]*instance{},
		pods:      map[types.UID]*podState{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Updates delivers probe results (see Update for when one is sent). An
// update of an instance may still be buffered after RemoveInstance returns;
// consumers match updates by InstanceID.
func (m *Manager) Updates() <-chan results.Update { return m.updates }

// AddInstance starts the probe workers of a container instance that just
// started (R40: every new instance starts with the initial results).
// Adding an instance ID twice replaces the first one's workers.
func (m *Manager) AddInstance(pod *corev1.Pod, c *corev1.Container, instanceID string, startedAt time.Time) {
	if pod == nil || c == nil {
		return
	}
	m.RemoveInstance(instanceID)
	pod, c = pod.DeepCopy(), c.DeepCopy()
	m.mu.Lock()
	ps := m.pods[pod.UID]
	if ps == nil {
		ps = &podState{}
		ps.transport = newTransport(m.prober, ps.pod.Load)
		m.pods[pod.UID] = ps
	}
	ps.instances++
	terminating := ps.terminating || pod.DeletionTimestamp != nil
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{
		m:         m,
		t:         target{prober: m.prober, pod: pod, container: c, instanceID: instanceID, transport: ps.transport},
		startedAt: startedAt,
		ctx:       ctx,
		cancel:    cancel,
		started:   make(chan struct{}),
		log: m.log.With(zap.String("pod", pod.Namespace+"/"+pod.Name),
			zap.String("container", c.Name), zap.String("instance", instanceID)),
	}
	inst.addWorkers()
	m.instances[instanceID] = inst
	ps.pod.Store(pod)
	// Started under the lock so that a concurrent RemoveInstance sees them.
	inst.start(terminating)
	m.mu.Unlock()
}

// RemoveInstance stops every worker of the instance and waits for them; a
// probe attempt in flight is cancelled.
func (m *Manager) RemoveInstance(instanceID string) {
	m.mu.Lock()
	inst := m.instances[instanceID]
	if inst == nil {
		m.mu.Unlock()
		return
	}
	delete(m.instances, instanceID)
	uid := inst.t.pod.UID
	if ps := m.pods[uid]; ps != nil {
		ps.instances--
		if ps.instances <= 0 {
			delete(m.pods, uid)
			ps.transport.CloseIdleConnections()
		}
	}
	m.mu.Unlock()
	inst.cancel()
	inst.wg.Wait()
}

// StopLivenessAndStartup is called when the pod starts terminating (R49):
// liveness and startup workers of its instances stop with their results
// forced to Success, so nothing is killed for failing them; readiness goes
// on. Instances added later get no liveness or startup worker.
func (m *Manager) StopLivenessAndStartup(podUID types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ps := m.pods[podUID]; ps != nil {
		ps.terminating = true
	}
	for _, inst := range m.instances {
		if inst.t.pod.UID != podUID {
			continue
		}
		for _, w := range inst.workers {
			if w.kind != results.Readiness {
				w.stop()
			}
		}
	}
}

// ProbeReadinessNow makes the instance's readiness worker probe at once and
// restart its period (R44). Without a readiness probe it does nothing; while
// the startup probe has not succeeded the request waits for it.
func (m *Manager) ProbeReadinessNow(instanceID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inst := m.instances[instanceID]
	if inst == nil || inst.readiness == nil {
		return
	}
	select {
	case inst.readiness.trigger <- struct{}{}:
	default: // one pending request is enough
	}
}

// instance is one container instance and its workers.
type instance struct {
	m         *Manager
	t         target
	startedAt time.Time
	log       *zap.Logger

	ctx    context.Context // ends with RemoveInstance
	cancel context.CancelFunc
	wg     sync.WaitGroup

	started     chan struct{} // closed once the container is "started" (R43, R45)
	startedOnce sync.Once

	workers   []*worker // fixed at creation
	readiness *worker
}

func (inst *instance) addWorkers() {
	c := inst.t.container
	for _, p := range []struct {
		kind results.Kind
		spec *corev1.Probe
	}{{results.Startup, c.StartupProbe}, {results.Liveness, c.LivenessProbe}, {results.Readiness, c.ReadinessProbe}} {
		if p.spec == nil {
			continue
		}
		w := newWorker(inst, p.kind, p.spec)
		inst.workers = append(inst.workers, w)
		if p.kind == results.Readiness {
			inst.readiness = w
		}
	}
}

// start launches the workers; on a terminating pod liveness and startup
// are stopped from the outset (R49).
func (inst *instance) start(terminating bool) {
	if inst.t.container.StartupProbe == nil {
		inst.markStarted()
	}
	for _, w := range inst.workers {
		if terminating && w.kind != results.Readiness {
			w.stop()
		}
		inst.wg.Add(1)
		go w.run()
	}
}

func (inst *instance) markStarted() {
	inst.startedOnce.Do(func() { close(inst.started) })
}
