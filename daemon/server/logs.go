package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// getLog serves GET .../pods/NAME/log: the CRI log of the container's
// current instance (previous=true: the one before), without the CRI prefix
// (timestamps=true keeps the timestamp), optionally the last tailLines
// lines or those of the last sinceSeconds; follow=true streams until the
// instance has exited and its log is drained.
func (s *Server) getLog(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.pathPod(w, r, s.obj.Pod)
	if !ok {
		return
	}
	opts, previous, err := s.logQuery(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	container, err := pickContainer(rec.Pod, r.URL.Query().Get("container"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	if e := s.eng(); e != nil {
		if live, ok := e.Get(rec.Pod.UID); ok {
			rec = live
		}
	}
	inst, err := pickInstance(rec, container, previous)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if previous {
		opts.Follow = false
	}
	if opts.Follow {
		release, err := s.follows.acquire()
		if err != nil {
			s.writeError(w, err)
			return
		}
		defer release()
	}
	path := inst.LogPath
	if path == "" {
		p := crilog.Pod{Namespace: rec.Pod.Namespace, Name: rec.Pod.Name, UID: string(rec.Pod.UID)}
		path = crilog.Path(s.o.Root, p, container, inst.Attempt)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	ls := &crilog.Streamer{Path: path, Options: opts, Poll: s.o.LogPollInterval, Out: w,
		Exited: func() bool { return s.instanceDone(r.Context(), rec.Pod, container, inst.ID) }}
	if f, ok := w.(http.Flusher); ok {
		ls.Flush = f.Flush
		f.Flush()
	}
	if err := ls.Run(r.Context()); err != nil {
		s.log.Debug("log stream ended", zapPod(rec.Pod), zap.Error(err))
	}
}

func (s *Server) logQuery(r *http.Request) (crilog.ReadOptions, bool, error) {
	var o crilog.ReadOptions
	var err error
	if o.Follow, err = queryBool(r, "follow"); err != nil {
		return o, false, err
	}
	if o.Timestamps, err = queryBool(r, "timestamps"); err != nil {
		return o, false, err
	}
	previous, err := queryBool(r, "previous")
	if err != nil {
		return o, false, err
	}
	if o.Tail, err = queryInt(r, "tailLines"); err != nil {
		return o, false, err
	}
	since, err := queryInt(r, "sinceSeconds")
	if err != nil {
		return o, false, err
	}
	if since != nil {
		o.Since = s.clk.Now().Add(-time.Duration(*since) * time.Second)
	}
	return o, previous, nil
}

// pickContainer checks the container name; without one, a pod with a
// single container means that one (kubectl's rule).
func pickContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if name == "" {
		if len(pod.Spec.Containers) == 1 && len(pod.Spec.InitContainers) == 0 {
			return pod.Spec.Containers[0].Name, nil
		}
		return "", api.NewBadRequest(fmt.Sprintf(
			"a container name must be specified for pod %s, choose one of: %v", pod.Name, names))
	}
	for _, n := range names {
		if n == name {
			return name, nil
		}
	}
	return "", api.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// pickInstance finds the container's newest instance, or the one before
// it for previous.
func pickInstance(rec *supervisor.PodRecord, container string, previous bool) (supervisor.Instance, error) {
	var mine []supervisor.Instance
	for _, in := range rec.Engine.Instances {
		if in.Container == container {
			mine = append(mine, in)
		}
	}
	switch {
	case previous && len(mine) < 2:
		return supervisor.Instance{}, api.NewBadRequest(fmt.Sprintf(
			"previous terminated container %q in pod %q not found", container, rec.Pod.Name))
	case previous:
		return mine[len(mine)-2], nil
	case len(mine) == 0:
		reason := waitingReason(rec, container)
		return supervisor.Instance{}, api.NewBadRequest(fmt.Sprintf(
			"container %q in pod %q is waiting to start: %s", container, rec.Pod.Name, reason))
	}
	return mine[len(mine)-1], nil
}

// instanceDone reports whether a followed instance will write no more:
// it exited, was replaced by a newer instance, or its pod is gone.
func (s *Server) instanceDone(ctx context.Context, pod *corev1.Pod, container, id string) bool {
	var rec *supervisor.PodRecord
	if e := s.eng(); e != nil {
		if live, ok := e.Get(pod.UID); ok {
			rec = live
		}
	}
	if rec == nil {
		stored, err := s.obj.Pod(ctx, pod.Namespace, pod.Name)
		if err != nil || stored.Pod.UID != pod.UID {
			return true
		}
		rec = stored
	}
	var newest, mine *supervisor.Instance
	for i := range rec.Engine.Instances {
		in := &rec.Engine.Instances[i]
		if in.Container == container {
			newest = in
		}
		if in.ID == id {
			mine = in
		}
	}
	return mine == nil || newest.ID != id || mine.State == supervisor.InstanceExited
}

func zapPod(p *corev1.Pod) zap.Field { return zap.String("pod", p.Namespace+"/"+p.Name) }

// waitingReason is why a container has no instance yet, as its status
// says (kubectl's "is waiting to start: REASON").
func waitingReason(rec *supervisor.PodRecord, container string) string {
	all := append(append([]corev1.ContainerStatus{}, rec.Pod.Status.InitContainerStatuses...), rec.Pod.Status.ContainerStatuses...)
	for _, cs := range all {
		if cs.Name == container && cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			return cs.State.Waiting.Reason
		}
	}
	if wr, ok := rec.Engine.Waiting[container]; ok && wr.Reason != "" {
		return wr.Reason
	}
	return "ContainerCreating"
}
