package supervisor

import (
	"context"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// effectiveGrace is R61: the requested grace (nil: the pod's), never below 1.
func effectiveGrace(pod *corev1.Pod, grace *int64) int64 {
	g := podGrace(pod)
	if grace != nil {
		g = *grace
	}
	return max(g, 1)
}

// delete begins (or shortens) the pod's termination (R61, R62).
func (w *worker) delete(ctx context.Context, reason string, grace *int64) {
	g := effectiveGrace(w.rec.Pod, grace)
	if reason == TermDeleted {
		w.deleted = true
		if w.rec.Pod.DeletionTimestamp == nil {
			np := *w.rec.Pod
			now := metav1.NewTime(w.m.clk.Now())
			np.DeletionTimestamp = &now
			np.DeletionGracePeriodSeconds = &g
			w.rec.Pod = &np
		}
	}
	t := w.rec.Engine.Terminating
	if t == nil {
		w.beginTermination(ctx, reason, g)
		return
	}
	if reason == TermDeleted && t.Reason == TermShutdown {
		t.Reason = TermDeleted
	}
	if g < t.GracePeriod {
		w.shortenGrace(g)
	}
}

// beginTermination starts the ordered stop of every running container
// (R62, R63, R72, R75): one grace for all, all kills (and so all preStops)
// begin together, sidecars wait for their turn.
func (w *worker) beginTermination(ctx context.Context, reason string, grace int64) {
	w.startTermination(ctx, &Termination{Reason: reason, Since: w.m.clk.Now(), GracePeriod: grace})
}

// startTermination is beginTermination of a prepared Termination (one
// that carries a message).
func (w *worker) startTermination(ctx context.Context, t *Termination) {
	st := &w.rec.Engine
	pod := w.rec.Pod
	reason, grace := t.Reason, t.GracePeriod
	st.Terminating = t
	clear(st.Waiting)
	if w.m.opts.Probes != nil {
		w.m.opts.Probes.StopLivenessAndStartup(w.uid) // R49
	}
	if reason == TermDeadlineExceeded {
		w.podEvent(corev1.EventTypeNormal, "DeadlineExceeded", deadlineMessage)
	}
	if hasSidecar(pod) {
		w.ordering = newTerminationOrdering(pod, w.runningContainers())
	}
	w.log.Info("terminating pod", zap.String("reason", reason), zap.Int64("grace", grace))
	w.driveTermination(ctx)
}

// driveTermination kills every running instance not yet being killed and
// finishes the pod when nothing runs any more.
func (w *worker) driveTermination(ctx context.Context) {
	st := &w.rec.Engine
	t := st.Terminating
	if w.ordering == nil && hasSidecar(w.rec.Pod) {
		w.ordering = newTerminationOrdering(w.rec.Pod, w.runningContainers()) // resumed after a restart
	}
	anyRunning := false
	for i := range st.Instances {
		in := &st.Instances[i]
		if in.State != InstanceRunning {
			continue
		}
		anyRunning = true
		if w.kills.busy(in.ID) {
			continue
		}
		c, _ := findContainer(w.rec.Pod, in.Container)
		if c == nil {
			continue
		}
		if w.podGrace == nil {
			w.podGrace = newTerminationGrace(t.GracePeriod)
		}
		elapsed := int64(w.m.clk.Since(t.Since).Seconds())
		w.launchKill(ctx, killRequest{Pod: w.rec.Pod, Container: c, InstanceID: in.ID,
			Grace: t.GracePeriod, PodGrace: w.podGrace, Offset: elapsed, Ordering: w.ordering})
	}
	if !anyRunning && w.kills.none() {
		w.finish(ctx)
	}
}

// shortenGrace applies a shorter grace to the termination in progress
// (R61): every kill's remaining waits and stop window shrink with it.
func (w *worker) shortenGrace(g int64) {
	w.rec.Engine.Terminating.GracePeriod = g
	if w.podGrace != nil {
		w.podGrace.shrink(g)
	}
}

// killDone notes a finished kill; an instance still marked running is
// reaped now rather than waiting for its exit event.
func (w *worker) killDone(ctx context.Context, id string, err error) {
	w.kills.end(id)
	in := findInstance(&w.rec.Engine, id)
	if err != nil {
		w.log.Warn("kill instance", zap.String("id", id), zap.Error(err))
		return
	}
	if in != nil && w.ordering != nil {
		w.ordering.containerTerminated(in.Container)
	}
	if in != nil && in.State == InstanceRunning && !w.kills.busy(id) {
		w.reap(ctx, in, 137, w.m.clk.Now())
	}
}

// finish tears the pod down once nothing runs: sandbox removed, terminal
// status published, and for a deleted pod Sink.PodFinished (R62, R83).
func (w *worker) finish(ctx context.Context) {
	st := &w.rec.Engine
	// Containers go before their sandbox; a failed reap gets a last try;
	// containers prepared for a turn that never came are removed.
	w.prep.end()
	w.reapPending(ctx, true)
	for i := range st.Instances {
		w.forgetInstance(&st.Instances[i])
	}
	if err := w.m.rt.RemoveSandbox(ctx, w.rec.Pod); err != nil {
		w.log.Warn("remove sandbox", zap.Error(err))
	}
	w.sandboxReady = false
	w.sandbox = Sandbox{}
	w.finished = true
	w.publish(ctx)
	w.log.Info("pod stopped", zap.String("reason", st.Terminating.Reason))
	if w.deleted {
		if err := w.m.sink.PodFinished(ctx, copyRecord(w.snapshot())); err != nil {
			w.log.Error("pod finished", zap.Error(err))
		}
		w.m.remove(w.uid, w)
	}
}

func (w *worker) runningContainers() map[string]bool {
	running := map[string]bool{}
	for i := range w.rec.Engine.Instances {
		if in := &w.rec.Engine.Instances[i]; in.State == InstanceRunning {
			running[in.Container] = true
		}
	}
	return running
}
