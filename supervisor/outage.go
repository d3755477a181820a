package supervisor

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Events about a containerd outage. The kubelet reports a dead
// runtime only on the Node ("container runtime is down", PLEG not
// healthy); podrun has no Node object, so each pod whose engine is running
// gets one event per outage, on the pod itself (no fieldPath):
//
//   - Warning ContainerRuntimeUnavailable "containerd is unreachable: <error>; ..."
//     when the connection is lost (once per outage, not per retry);
//   - Normal ContainerRuntimeAvailable "containerd is reachable again after 10.2s; ..."
//     when it comes back and the pod re-observes its containers.
//
// The events go to the Sink (the store), which does not need containerd.
const (
	ReasonRuntimeUnavailable = "ContainerRuntimeUnavailable"
	ReasonRuntimeAvailable   = "ContainerRuntimeAvailable"
)

// outage remembers the current runtime outage and the pods told about it,
// so that the reconnect is reported to the same pods.
type outage struct {
	mu     sync.Mutex
	down   bool
	since  time.Time
	reason string                // the error that ended the connection
	warned map[types.UID]*worker // pods that got the Warning, by engine
}

func unavailableMessage(reason string) string {
	if reason == "" {
		reason = "connection lost"
	}
	return "containerd is unreachable: " + reason +
		"; running containers are left alone and re-observed when it is back"
}

func availableMessage(d time.Duration) string {
	return "containerd is reachable again after " + d.Round(100*time.Millisecond).String() +
		"; re-observing containers"
}

// running tells whether w's loop has not ended (a finished pod's engine
// has nothing to lose in an outage).
func running(w *worker) bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// runtimeLost records the start of an outage and warns every pod with a
// running engine; a second Disconnected within the same outage is ignored.
// Lock order is m.mu before o.mu (Start warns under neither).
func (m *Manager) runtimeLost(ctx context.Context, ev RuntimeEvent) {
	o := &m.outage
	o.mu.Lock()
	if o.down {
		o.mu.Unlock()
		return
	}
	o.down, o.since, o.reason = true, m.clk.Now(), ev.Message
	o.warned = map[types.UID]*worker{}
	o.mu.Unlock()
	for _, w := range m.runningWorkers() {
		m.warnIfDown(ctx, w)
	}
}

// runtimeBack ends the outage and tells the pods that were warned and
// still run here that their containers are being re-observed.
func (m *Manager) runtimeBack(ctx context.Context) {
	o := &m.outage
	o.mu.Lock()
	if !o.down {
		o.mu.Unlock()
		return
	}
	d := m.clk.Since(o.since)
	warned := o.warned
	o.down, o.warned = false, nil
	o.mu.Unlock()
	m.mu.Lock()
	for uid, w := range warned {
		if m.workers[uid] != w {
			delete(warned, uid) // deleted during the outage
		}
	}
	m.mu.Unlock()
	msg := availableMessage(d)
	for _, pod := range warnedPods(warned) {
		m.events.record(ctx, pod, "", corev1.EventTypeNormal, ReasonRuntimeAvailable, msg)
	}
}

// warnIfDown gives w's pod the outage's Warning unless it has it already;
// a pod started during an outage gets it too, so that its first failures
// are explained and the reconnect is reported to it.
func (m *Manager) warnIfDown(ctx context.Context, w *worker) {
	o := &m.outage
	o.mu.Lock()
	if !o.down || o.warned[w.uid] == w {
		o.mu.Unlock()
		return
	}
	o.warned[w.uid] = w
	msg := unavailableMessage(o.reason)
	o.mu.Unlock()
	m.events.record(ctx, w.snapshot().Pod, "", corev1.EventTypeWarning, ReasonRuntimeUnavailable, msg)
}

func (m *Manager) runningWorkers() []*worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		if running(w) {
			out = append(out, w)
		}
	}
	return out
}

func warnedPods(ws map[types.UID]*worker) []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.snapshot().Pod)
	}
	return out
}
