package supervisor

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// Reaping an exited instance (task delete, container delete, snapshot
// removal) costs some 30 ms on containerd. Done before planning, it
// delayed every reaction to an exit (sidecar stop signals, restarts, the
// phase) by that much. So an exit is recorded from the event
// itself, the worker syncs, and only then reaps and folds in what the reap
// adds: the termination message, an OOM kill seen only by the cgroup
// counter, the runtime's finishedAt when the event had none.
//
// An OOM kill learnt that late must not change a decision already taken.
// It only matters when the exit code is 0 (a non-zero exit is a failure
// anyway) and only for plain init containers (R19: OOMKilled counts as
// failed) and regular containers under restartPolicy OnFailure (restarted
// when OOMKilled). Those exits are reaped first, as before: a plain init
// exiting 0 or an OnFailure container completing is not on the
// reaction-critical path, and reading the cgroup counter needs the task,
// which the reap deletes anyway.

// reapNote is the worker's memory of an unreaped instance.
type reapNote struct {
	approxFinish bool // the event carried no exit time: take the runtime's
	failed       bool // a reap failed; retried at finish, adoption, reconnect
}

// exited records the exit event of a running instance.
func (w *worker) exited(ctx context.Context, in *Instance, code int32, at time.Time) {
	if w.outcomeNeedsReap(in, code) {
		w.reap(ctx, in, code, at)
		return
	}
	w.recordExit(in, ExitStatus{ExitCode: code, FinishedAt: at})
	in.Unreaped = true
	w.reapNotes[in.ID] = reapNote{approxFinish: at.IsZero()}
}

// outcomeNeedsReap tells whether an OOM kill the event does not show would
// change what the engine does next (see the top of this file).
func (w *worker) outcomeNeedsReap(in *Instance, code int32) bool {
	if code != 0 || w.oom[in.ID] {
		return false
	}
	pod := w.rec.Pod
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.Name == in.Container {
			return !isSidecar(c)
		}
	}
	for i := range pod.Spec.Containers {
		if c := &pod.Spec.Containers[i]; c.Name == in.Container && c.RestartPolicy != nil {
			return false // R101: a container's own policy looks at the exit code only
		}
	}
	return restartPolicy(pod) == corev1.RestartPolicyOnFailure
}

// reapAfterSync reaps the instances whose exit the last sync reacted to and
// publishes again when the reap changed their status.
func (w *worker) reapAfterSync(ctx context.Context) {
	if w.finished {
		return
	}
	if w.reapPending(ctx, false) {
		w.publish(ctx)
	}
}

// reapPending reaps the unreaped instances (those whose reap failed only
// when retryFailed) and reports whether a status changed. A reap cut short
// by podrund stopping leaves the instance Unreaped for adoption.
func (w *worker) reapPending(ctx context.Context, retryFailed bool) bool {
	changed := false
	st := &w.rec.Engine
	for i := range st.Instances {
		in := &st.Instances[i]
		note := w.reapNotes[in.ID]
		if !in.Unreaped || (note.failed && !retryFailed) {
			continue
		}
		es, err := w.m.rt.Reap(ctx, in.ID)
		if err != nil {
			if ctx.Err() != nil {
				return changed
			}
			w.log.Warn("reap instance", zap.String("container", in.Container), zap.String("id", in.ID), zap.Error(err))
			note.failed = true
			w.reapNotes[in.ID] = note
			continue
		}
		if w.foldReap(in, es, note.approxFinish) {
			changed = true
		}
	}
	return changed
}

// foldReap adds what the reap of an instance recorded from its exit event
// knows beyond the event; it reports whether the status changed. The exit
// code stays the event's (a reap of a lost task reports 137).
func (w *worker) foldReap(in *Instance, es ExitStatus, approxFinish bool) bool {
	in.Unreaped = false
	delete(w.reapNotes, in.ID)
	changed := false
	if approxFinish && !es.FinishedAt.IsZero() && !es.FinishedAt.Equal(in.FinishedAt) {
		in.FinishedAt = es.FinishedAt
		changed = true
	}
	if es.Message != "" && es.Message != in.Message {
		in.Message = es.Message
		changed = true
	}
	if es.OOMKilled && in.Reason != "OOMKilled" {
		in.Reason = "OOMKilled"
		w.oomEvent(in.Container, in.ExitCode)
		changed = true
	}
	return changed
}

// oomEvent reports an OOM kill as the kubelet's node does: the status alone
// is easy to miss once the container restarts.
func (w *worker) oomEvent(container string, code int32) {
	w.containerEvent(container, corev1.EventTypeWarning, "OOMKilling",
		fmt.Sprintf("Container %s was OOM-killed: it exceeded its memory limit (exit code %d)", container, code))
}

// reapUnreaped reaps, on adoption or reconnect, an instance whose exit was
// recorded but whose reap had not run or failed; one the runtime no longer
// lists needs none.
func (w *worker) reapUnreaped(ctx context.Context, in *Instance, listed map[string]RuntimeContainer) {
	if _, ok := listed[in.ID]; !ok {
		in.Unreaped = false
		delete(w.reapNotes, in.ID)
		return
	}
	es, err := w.m.rt.Reap(ctx, in.ID)
	if err != nil {
		w.log.Warn("reap instance", zap.String("container", in.Container), zap.String("id", in.ID), zap.Error(err))
		note := w.reapNotes[in.ID]
		note.failed = true
		w.reapNotes[in.ID] = note
		return
	}
	w.foldReap(in, es, w.reapNotes[in.ID].approxFinish)
}
