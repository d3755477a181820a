package supervisor

import (
	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// probeUpdate records a probe result change (R40–R47).
func (w *worker) probeUpdate(u *results.Update) {
	in := findInstance(&w.rec.Engine, u.InstanceID)
	if in == nil || in.State != InstanceRunning {
		return
	}
	ps, ok := w.probes[u.InstanceID]
	if !ok {
		return
	}
	st := &w.rec.Engine
	w.countProbe(u)
	if u.Failed {
		w.containerEvent(in.Container, corev1.EventTypeWarning, "Unhealthy",
			string(u.Kind)+" probe failed: "+u.Output)
	}
	if u.Warning {
		w.containerEvent(in.Container, corev1.EventTypeWarning, "ProbeWarning",
			string(u.Kind)+" probe warning: "+u.Output)
	}
	switch u.Kind {
	case results.Liveness:
		ps.Liveness = u.Result
	case results.Readiness:
		ps.Readiness = u.Result
		st.Ready[u.InstanceID] = u.Result == results.Success
	case results.Startup:
		ps.Startup = u.Result
		if u.Result == results.Success && !st.Started[u.InstanceID] {
			st.Started[u.InstanceID] = true
			if ps.Readiness != results.Success && w.m.opts.Probes != nil {
				w.m.opts.Probes.ProbeReadinessNow(u.InstanceID) // R44
			}
		}
	}
	w.probes[u.InstanceID] = ps
	w.noteReady(u.InstanceID)
}

// update applies an in-place spec change: container images and
// activeDeadlineSeconds only (R93); the planner does the rest.
func (w *worker) update(pod *corev1.Pod) {
	np := *w.rec.Pod
	np.Spec = *w.rec.Pod.Spec.DeepCopy()
	setImages := func(dst []corev1.Container, src []corev1.Container) {
		for i := range dst {
			for j := range src {
				if src[j].Name == dst[i].Name {
					dst[i].Image = src[j].Image
				}
			}
		}
	}
	setImages(np.Spec.InitContainers, pod.Spec.InitContainers)
	setImages(np.Spec.Containers, pod.Spec.Containers)
	np.Spec.ActiveDeadlineSeconds = pod.Spec.ActiveDeadlineSeconds
	w.rec.Pod = &np
}

func copyEngine(st *EngineState) EngineState {
	c := *st
	c.Instances = append([]Instance(nil), st.Instances...)
	c.Backoff = copyMap(st.Backoff)
	c.Started = copyMap(st.Started)
	c.Ready = copyMap(st.Ready)
	c.Waiting = copyMap(st.Waiting)
	c.History = append([]InstanceRecord(nil), st.History...)
	if st.Terminating != nil {
		t := *st.Terminating
		c.Terminating = &t
	}
	return c
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func copyRecord(r *PodRecord) *PodRecord {
	return &PodRecord{Pod: r.Pod.DeepCopy(), Engine: copyEngine(&r.Engine)}
}
