package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/stats"
	"github.com/podrun/podrun/supervisor"
	"k8s.io/apimachinery/pkg/types"
)

// Diagnoser is the optional part of the engine behind /blockers: the
// probe and pull facts that only the pod's worker holds.
type Diagnoser interface {
	Diagnose(uid types.UID) (*supervisor.PodDiagnosis, bool)
}

// CgroupSampler reads one container's cgroup (daemon/stats.Reader).
type CgroupSampler interface {
	Sample(rel string) (stats.Sample, error)
}

// getBlockers serves GET .../pods/NAME/blockers: what holds the pod back
// now, one line each (supervisor.Blockers).
func (s *Server) getBlockers(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.pathPod(w, r, s.obj.LivePod)
	if !ok {
		return
	}
	d := &supervisor.PodDiagnosis{Record: rec}
	if dg, ok := s.eng().(Diagnoser); ok {
		if live, ok := dg.Diagnose(rec.Pod.UID); ok {
			d = live
		}
	}
	now := s.clk.Now()
	out := api.PodBlockers{Pod: rec.Pod.Name, Time: now, Items: []api.Blocker{}}
	for _, b := range supervisor.Blockers(d, now) {
		out.Items = append(out.Items, api.Blocker{Container: b.Container, Class: string(b.Class),
			Reason: b.Reason, Message: b.Message, Until: timePtr(b.Until)})
	}
	s.writeJSON(w, http.StatusOK, out)
}

// getTimeline serves GET .../pods/NAME/timeline: the engine's instance
// history and the pod's Killing and BackOff events.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.pathPod(w, r, s.obj.LivePod)
	if !ok {
		return
	}
	ns, name := rec.Pod.Namespace, rec.Pod.Name
	evs, _, err := s.obj.Events().List(r.Context(), ns)
	if err != nil {
		s.writeError(w, fmt.Errorf("list events of pod %s/%s: %w", ns, name, err))
		return
	}
	s.writeJSON(w, http.StatusOK, buildTimeline(rec, evs, s.clk.Now()))
}

// getStats serves GET .../pods/NAME/stats: CPU and memory of every running
// container from its cgroup, CPU as a rate over ?window= (default 500ms).
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	ns, name := chi.URLParam(r, "ns"), chi.URLParam(r, "name")
	window := 500 * time.Millisecond
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Second {
			s.writeError(w, api.NewBadRequest(fmt.Sprintf("window %q: want a duration in (0, 10s]", v)))
			return
		}
		window = d
	}
	rec, ok := s.pathPod(w, r, s.obj.LivePod)
	if !ok {
		return
	}
	sampler := s.o.Stats
	if sampler == nil {
		sampler = stats.NewReader()
	}
	out, err := samplePod(r.Context(), sampler, rec, window, s.clk.Now)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out.Pod, out.Namespace = name, ns
	s.writeJSON(w, http.StatusOK, out)
}

// The engine podrund wires in answers /blockers with its probe counts.
var _ Diagnoser = (*supervisor.Manager)(nil)
