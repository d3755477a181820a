package server

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

var _ supervisor.Sink = (*Server)(nil)

// SavePod commits the engine's status and state of a pod. The server owns
// metadata and spec (deletionTimestamp, in-place image updates), so only
// status and engine state are taken from rec. A record for a pod that no
// longer holds the name is ignored. Watchers get MODIFIED when anything
// changed.
func (s *Server) SavePod(ctx context.Context, rec *supervisor.PodRecord) error {
	var before, after corev1.PodStatus
	var created corev1.Pod
	_, err := s.st.Pods().Mutate(ctx, rec.Pod.Namespace, rec.Pod.Name, func(cur *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		if cur.Pod.UID != rec.Pod.UID {
			return cur, nil
		}
		before = cur.Pod.Status
		cur.Pod.Status = *rec.Pod.Status.DeepCopy()
		cur.Engine = rec.Engine
		after, created = cur.Pod.Status, *cur.Pod
		return cur, nil
	})
	if apierrors.IsNotFound(err) {
		s.log.Debug("status of a pod that is gone; ignored", zap.String("pod", rec.Pod.Namespace+"/"+rec.Pod.Name))
		return nil
	}
	if err != nil {
		return fmt.Errorf("save pod %s/%s: %w", rec.Pod.Namespace, rec.Pod.Name, err)
	}
	s.observeStart(&created, &before, &after)
	s.observeCompletion(&before, &after)
	return nil
}

// observeCompletion records, when a pod reaches a terminal phase, how long
// after its last regular container exited that happened (the sidecars'
// termination in a Job-style completion).
func (s *Server) observeCompletion(before, after *corev1.PodStatus) {
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
		s.rec.ObserveJobCompletion(s.clk.Since(last))
	}
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

// observeStart records the pod start latency once per pod: when all its
// containers have started for the first time.
func (s *Server) observeStart(pod *corev1.Pod, before, after *corev1.PodStatus) {
	if pod.UID == "" || !allStarted(after) || allStarted(before) {
		return
	}
	s.startedMu.Lock()
	seen := s.started[pod.UID]
	s.started[pod.UID] = true
	s.startedMu.Unlock()
	if !seen {
		s.rec.ObservePodStart(s.clk.Since(pod.CreationTimestamp.Time))
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
func (s *Server) RecordEvent(ctx context.Context, ev *corev1.Event) error {
	if _, err := s.st.RecordEvent(ctx, ev, s.clk.Now()); err != nil {
		return fmt.Errorf("record event %s for %s/%s: %w", ev.Reason, ev.InvolvedObject.Namespace, ev.InvolvedObject.Name, err)
	}
	return nil
}

// PodFinished removes a pod that has stopped everything; watchers get
// DELETED with the final object. A replacement waiting for the name is
// started.
func (s *Server) PodFinished(ctx context.Context, rec *supervisor.PodRecord) error {
	final := rec.Pod.DeepCopy()
	if cur, err := s.st.Pods().Get(ctx, final.Namespace, final.Name); err == nil && cur.Pod.UID == final.UID {
		// Keep the server's metadata and spec; the engine's status is final.
		status := final.Status
		final = cur.Pod.DeepCopy()
		final.Status = status
	}
	return s.finishPod(ctx, final)
}

func (s *Server) finishPod(ctx context.Context, final *corev1.Pod) error {
	promoted, err := s.st.FinishPod(ctx, final)
	if err != nil {
		return fmt.Errorf("remove finished pod %s/%s: %w", final.Namespace, final.Name, err)
	}
	// After the record: a crash in between leaves a log dir of an unknown
	// pod, which the boot sweep removes; the other way round a pod could
	// lose its logs and stay.
	if s.o.Logs != nil {
		if err := s.o.Logs.RemovePodLogs(final); err != nil {
			s.log.Warn("remove logs of deleted pod", zapPod(final), zap.Error(err))
		}
	}
	s.startedMu.Lock()
	delete(s.started, final.UID)
	s.startedMu.Unlock()
	if promoted == nil {
		return nil
	}
	// Start the replacement off the engine's goroutine: the engine may be
	// calling us with its own locks held.
	go func() {
		if err := s.startPod(context.WithoutCancel(ctx), promoted); err != nil {
			s.log.Error("start replacement pod", zap.String("pod", final.Namespace+"/"+final.Name),
				zap.String("uid", string(promoted.Pod.UID)), zap.Error(err))
		}
	}()
	return nil
}
