package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/uuid"
)

func newUID() string { return string(uuid.NewUUID()) }

// SetPending stores (or replaces) the pod that will take over the name once
// the running pod with that name has stopped. It gets a resourceVersion like
// any write so that apply can tell "configured" from "unchanged".
func (s *Store) SetPending(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	c := s.PendingPods()
	err := s.update(ctx, func(w *writeTx) error {
		return c.putTx(w, pod, Modified)
	})
	return pod, err
}

// ErrPodGone is what SavePodWithEvents's mutate returns when the stored
// pod is not the one the engine reports on; the events are kept anyway.
var ErrPodGone = errors.New("the pod is gone")

// SavePodWithEvents applies mutate to the pod record namespace/name and
// stores the events that explain the change, in one transaction: one
// fsync per engine sync instead of one per event, which is what a device's
// flash pays for (docs/architecture.md, "Files on the host"). A pod that
// is gone, or for which mutate returns ErrPodGone, leaves the record as
// it is; the events are stored all the same.
func (s *Store) SavePodWithEvents(ctx context.Context, namespace, name string,
	mutate func(*supervisor.PodRecord) (*supervisor.PodRecord, error), events []*corev1.Event, now time.Time) error {
	pods := s.Pods()
	return s.update(ctx, func(w *writeTx) error {
		if _, err := pods.mutateTx(w, namespace, name, mutate); err != nil && !errors.Is(err, ErrPodGone) && !apierrors.IsNotFound(err) {
			return err
		}
		for _, ev := range events {
			if _, err := s.recordEventTx(w, ev, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// FinishPod removes a pod whose every container has stopped (the engine's
// Sink.PodFinished) and, in the same transaction, promotes a pending
// replacement to the pods bucket. final is the object watchers get with
// DELETED. The promoted pod, if any, is returned for the engine to start.
// A pod that is already gone is not an error (the call is idempotent).
func (s *Store) FinishPod(ctx context.Context, final *corev1.Pod) (*supervisor.PodRecord, error) {
	pods, pending := s.Pods(), s.PendingPods()
	var promoted *supervisor.PodRecord
	err := s.update(ctx, func(w *writeTx) error {
		ns, name := final.Namespace, final.Name
		if v := pods.b(w.tx).Get(Key(ns, name)); v != nil {
			rec, err := pods.decode(v)
			if err != nil {
				return err
			}
			if rec.Pod.UID != final.UID {
				return nil // the name already belongs to the replacement
			}
			_, err = pods.deleteTx(w, ns, name, final.UID, func(*supervisor.PodRecord) *supervisor.PodRecord {
				return &supervisor.PodRecord{Pod: final.DeepCopy(), Engine: rec.Engine}
			})
			if err != nil {
				return err
			}
		}
		v := pending.b(w.tx).Get(Key(ns, name))
		if v == nil {
			return nil
		}
		next, err := pending.decode(v)
		if err != nil {
			return err
		}
		if err := pending.b(w.tx).Delete(Key(ns, name)); err != nil {
			return fmt.Errorf("remove pending pod %s/%s: %w", ns, name, err)
		}
		promoted = &supervisor.PodRecord{Pod: next}
		return pods.putTx(w, promoted, Added)
	})
	return promoted, err
}
