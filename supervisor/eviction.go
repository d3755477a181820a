package supervisor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// evictionGrace is the pod grace of an eviction for a local storage limit:
// the kubelet's immediateEvictionGracePeriodSeconds (each container still
// gets the 2 s minimum stop window, R61).
const evictionGrace int64 = 1

// Evict stops the pod because it exceeded a local storage limit (an
// emptyDir's sizeLimit, a container's or the pod's ephemeral-storage
// limit), as the kubelet's eviction manager does (R71): a Warning event
// Evicted with message, every container stopped in pod order with a 1 s
// pod grace, nothing restarted whatever the restart policy, and the phase
// Failed with reason Evicted and message. The pod stays in the store.
// Unlike a node-pressure eviction, the kubelet adds no DisruptionTarget
// condition for a local storage limit (it passes none to evictPod), so
// neither does this: a Job's podFailurePolicy sees a plain failure.
func (m *Manager) Evict(ctx context.Context, uid types.UID, message string) error {
	w := m.worker(uid)
	if w == nil {
		return fmt.Errorf("evict pod %s: %w", uid, ErrPodNotFound)
	}
	if !w.tryPush(workerMsg{kind: msgEvict, message: message}) {
		return fmt.Errorf("evict pod %s: it has already stopped", uid)
	}
	return nil
}

// evict begins the eviction; a pod already terminating keeps its reason
// (the kubelet evicts only pods that are still active).
func (w *worker) evict(ctx context.Context, message string) {
	if w.rec.Engine.Terminating != nil || w.finished {
		return
	}
	w.podEvent(corev1.EventTypeWarning, TermEvicted, message)
	w.startTermination(ctx, &Termination{Reason: TermEvicted, Since: w.m.clk.Now(),
		GracePeriod: evictionGrace, Message: message})
}
