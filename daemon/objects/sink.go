package objects

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

var _ supervisor.Sink = (*Objects)(nil)

// SavePod commits the engine's status and state of a pod. Objects own
// metadata and spec (deletionTimestamp, in-place image updates), so only
// status and engine state are taken from rec. A record for a pod that no
// longer holds the name is ignored. Watchers get MODIFIED when anything
// changed.
func (b *Objects) SavePod(ctx context.Context, rec *supervisor.PodRecord) error {
	return b.SavePodWithEvents(ctx, rec, nil)
}

// SavePodWithEvents is the engine's Sink.SavePodWithEvents: the status
// and the events of one sync in one store transaction.
func (b *Objects) SavePodWithEvents(ctx context.Context, rec *supervisor.PodRecord, events []*corev1.Event) error {
	var before, after corev1.PodStatus
	var created corev1.Pod
	saved := false
	err := b.st.SavePodWithEvents(ctx, rec.Pod.Namespace, rec.Pod.Name, func(cur *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		if cur.Pod.UID != rec.Pod.UID {
			return nil, store.ErrPodGone
		}
		before = cur.Pod.Status
		cur.Pod.Status = *rec.Pod.Status.DeepCopy()
		cur.Engine = rec.Engine
		after, created = cur.Pod.Status, *cur.Pod
		saved = true
		return cur, nil
	}, events, b.clk.Now())
	if err != nil {
		return fmt.Errorf("save pod %s/%s: %w", rec.Pod.Namespace, rec.Pod.Name, err)
	}
	if !saved {
		b.log.Debug("status of a pod that is gone; ignored", zap.String("pod", rec.Pod.Namespace+"/"+rec.Pod.Name))
		return nil
	}
	b.observeStart(&created, &before, &after)
	b.observeCompletion(&before, &after)
	return nil
}

// observeCompletion records, when a pod reaches a terminal phase, how long
// after its last regular container exited that happened (the sidecars'
// termination in a Job-style completion).
func (b *Objects) observeCompletion(before, after *corev1.PodStatus) {
	if terminal(before.Phase) || !terminal(after.Phase) {
		return
	}
	var last time.Time
	for _, cs := range after.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.FinishedAt.After(last) {
			last = t.FinishedAt.Time
		}
	}
	if !last.IsZero() {
		b.rec.ObserveJobCompletion(b.clk.Since(last))
	}
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// observeStart records the pod start latency once per pod: when all its
// containers have started for the first time.
func (b *Objects) observeStart(pod *corev1.Pod, before, after *corev1.PodStatus) {
	if pod.UID == "" || !allStarted(after) || allStarted(before) {
		return
	}
	b.startedMu.Lock()
	seen := b.started[pod.UID]
	b.started[pod.UID] = true
	b.startedMu.Unlock()
	if !seen {
		b.rec.ObservePodStart(b.clk.Since(pod.CreationTimestamp.Time))
	}
}

func allStarted(st *corev1.PodStatus) bool {
	if len(st.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range st.ContainerStatuses {
		if cs.Started == nil || !*cs.Started {
			return false
		}
	}
	return true
}

// RecordEvent stores (or bumps) an event; watchers of events see it.
func (b *Objects) RecordEvent(ctx context.Context, ev *corev1.Event) error {
	if _, err := b.st.RecordEvent(ctx, ev, b.clk.Now()); err != nil {
		return fmt.Errorf("record event %s for %s/%s: %w", ev.Reason, ev.InvolvedObject.Namespace, ev.InvolvedObject.Name, err)
	}
	return nil
}

// PodFinished removes a pod that has stopped everything; watchers get
// DELETED with the final object. A replacement waiting for the name is
// started.
func (b *Objects) PodFinished(ctx context.Context, rec *supervisor.PodRecord) error {
	final := rec.Pod.DeepCopy()
	if cur, err := b.st.Pods().Get(ctx, final.Namespace, final.Name); err == nil && cur.Pod.UID == final.UID {
		// Keep the stored metadata and spec; the engine's status is final.
		status := final.Status
		final = cur.Pod.DeepCopy()
		final.Status = status
	}
	return b.finishPod(ctx, final)
}

func (b *Objects) finishPod(ctx context.Context, final *corev1.Pod) error {
	promoted, err := b.st.FinishPod(ctx, final)
	if err != nil {
		return fmt.Errorf("remove finished pod %s/%s: %w", final.Namespace, final.Name, err)
	}
	// After the record: a crash in between leaves a log dir of an unknown
	// pod, which the boot sweep removes; the other way round a pod could
	// lose its logs and stay.
	if b.o.Logs != nil {
		if err := b.o.Logs.RemovePodLogs(final); err != nil {
			b.log.Warn("remove logs of deleted pod", zap.String("pod", final.Namespace+"/"+final.Name), zap.Error(err))
		}
	}
	b.startedMu.Lock()
	delete(b.started, final.UID)
	b.startedMu.Unlock()
	if promoted == nil {
		return nil
	}
	// Start the replacement off the engine's goroutine: the engine may be
	// calling us with its own locks held.
	go func() {
		if err := b.startPod(context.WithoutCancel(ctx), promoted); err != nil {
			b.log.Error("start replacement pod", zap.String("pod", final.Namespace+"/"+final.Name),
				zap.String("uid", string(promoted.Pod.UID)), zap.Error(err))
		}
	}()
	return nil
}
