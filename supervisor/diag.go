package supervisor

import (
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"k8s.io/apimachinery/pkg/types"
)

// ProbeInfo is what the engine knows of one probe of one instance beyond
// its result: how many attempts in a row failed and when the last ran.
type ProbeInfo struct {
	Result   results.Result
	Failures int       // consecutive failed attempts (reset by a success)
	LastAt   time.Time // the last attempt the engine heard of
}

// PodDiagnosis is the engine's view of a pod for the operator: the record
// plus the facts that live only in the worker (probe counts, image pull
// back-off), as of the last published status.
type PodDiagnosis struct {
	Record *PodRecord
	// Probes is keyed by instance ID, then probe kind.
	Probes map[string]map[results.Kind]ProbeInfo
	// PullBackoff is keyed by image as written in the spec: the next pull
	// is not tried before LastUpdate+Backoff.
	PullBackoff map[string]BackoffEntry
}

type probeKey struct {
	id   string
	kind results.Kind
}

type diagSnapshot struct {
	probes      map[string]map[results.Kind]ProbeInfo
	pullBackoff map[string]BackoffEntry
}

// Diagnose returns the pod's record and the worker-only facts behind its
// blockers (see Blockers). False when the engine does not run the pod.
func (m *Manager) Diagnose(uid types.UID) (*PodDiagnosis, bool) {
	w := m.worker(uid)
	if w == nil {
		return nil, false
	}
	w.snapMu.Lock()
	rec, d := w.snap, w.diag
	w.snapMu.Unlock()
	return &PodDiagnosis{Record: copyRecord(rec), Probes: d.probes, PullBackoff: copyMap(d.pullBackoff)}, true
}

// countProbe keeps the consecutive failures of each probe: the probe
// workers report every failed attempt (Failed) and every result change.
func (w *worker) countProbe(u *results.Update) {
	k := probeKey{u.InstanceID, u.Kind}
	pi := w.probeCounts[k]
	pi.Result = u.Result
	pi.LastAt = w.m.clk.Now()
	switch {
	case u.Failed:
		pi.Failures++
	case u.Result == results.Success:
		pi.Failures = 0
	}
	w.probeCounts[k] = pi
}

// diagSnapshot copies the probe counts of the current instances and the
// image pull back-off for Diagnose; it is built on every publish.
func (w *worker) diagSnapshot() diagSnapshot {
	d := diagSnapshot{probes: map[string]map[results.Kind]ProbeInfo{}, pullBackoff: w.pulls.backoffCopy()}
	for k, pi := range w.probeCounts {
		if findInstance(&w.rec.Engine, k.id) == nil {
			delete(w.probeCounts, k) // the instance is gone
			continue
		}
		if d.probes[k.id] == nil {
			d.probes[k.id] = map[results.Kind]ProbeInfo{}
		}
		d.probes[k.id][k.kind] = pi
	}
	return d
}

// instanceReady is the container-status readiness of a running instance
// (status.go): started, and ready by its probe when it has one.
func (w *worker) instanceReady(in *Instance) bool {
	c, init := findContainer(w.rec.Pod, in.Container)
	if c == nil || classOf(c, init) == PlainInit {
		return false
	}
	st := &w.rec.Engine
	return st.Started[in.ID] && (c.ReadinessProbe == nil || st.Ready[in.ID])
}

// noteReady stamps the instance's readiness on its history record the
// moment the engine learns it (a publish may come only after the next
// container started, which would misplace the mark).
func (w *worker) noteReady(id string) {
	st := &w.rec.Engine
	in := findInstance(st, id)
	if in == nil || in.State != InstanceRunning || !w.instanceReady(in) {
		return
	}
	if r := ensureRecord(st, in); r.ReadyAt.IsZero() {
		r.ReadyAt = w.m.clk.Now()
	}
}

// noteSignalled is called from a kill goroutine when it sends the stop
// signal; the worker marks it on the history and publishes.
func (w *worker) noteSignalled(id string, at time.Time) {
	w.tryPush(workerMsg{kind: msgSignalled, id: id, at: at})
}
