package objects

import (
	"context"
	"errors"
	"fmt"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ApplyPod applies a PUT: compared with the newest wanted pod under that
// name (a pending replacement, else the running one).
func (b *Objects) ApplyPod(ctx context.Context, next *corev1.Pod) (*corev1.Pod, error) {
	ns, name := next.Namespace, next.Name
	cur, err := b.st.Pods().Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	pending, err := b.st.PendingPods().Get(ctx, ns, name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("read pending pod %s/%s: %w", ns, name, err)
	}
	base := cur.Pod
	if pending != nil {
		base = pending
	}
	change := classifyPodChange(base, next)
	if change == changeInPlace && (pending != nil || cur.Pod.DeletionTimestamp != nil) {
		change = changeReplace // nothing running to update: the newest wish wins
	}
	switch change {
	case changeNone:
		return base.DeepCopy(), nil
	case changeMeta:
		if pending != nil {
			pending.Labels, pending.Annotations, pending.ManagedFields = next.Labels, next.Annotations, next.ManagedFields
			return b.st.SetPending(ctx, pending)
		}
		return b.updateStoredPod(ctx, cur.Pod.UID, next, false)
	case changeInPlace:
		updated, err := b.updateStoredPod(ctx, cur.Pod.UID, next, true)
		if err != nil {
			return nil, err
		}
		if e := b.Engine(); e != nil {
			err := e.UpdatePod(context.WithoutCancel(ctx), updated.DeepCopy())
			if err != nil && !errors.Is(err, supervisor.ErrPodNotFound) {
				return nil, fmt.Errorf("update pod %s/%s in place: %w", ns, name, err)
			}
		}
		return updated, nil
	default:
		return b.replacePod(ctx, cur, next)
	}
}

// updateStoredPod writes next's labels and annotations (and, withSpec,
// its spec) onto the stored pod of that UID.
func (b *Objects) updateStoredPod(ctx context.Context, uid types.UID, next *corev1.Pod, withSpec bool) (*corev1.Pod, error) {
	rec, err := b.st.Pods().Mutate(ctx, next.Namespace, next.Name, func(rec *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		if rec.Pod.UID != uid {
			return nil, api.NewConflict("pod", next.Name, fmt.Errorf("the pod was replaced meanwhile"))
		}
		if err := checkVersion(podResource, &next.ObjectMeta, &rec.Pod.ObjectMeta); err != nil {
			return nil, err // written since the caller read it
		}
		rec.Pod.Labels, rec.Pod.Annotations, rec.Pod.ManagedFields = next.Labels, next.Annotations, next.ManagedFields
		if withSpec {
			rec.Pod.Spec = next.Spec
			rec.Pod.Generation++
		}
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	return rec.Pod, nil
}

// replacePod queues next (with a new UID) and begins the graceful stop of
// the running pod; Sink.PodFinished promotes and starts the replacement.
func (b *Objects) replacePod(ctx context.Context, cur *supervisor.PodRecord, next *corev1.Pod) (*corev1.Pod, error) {
	b.newPodIdentity(next)
	pending, err := b.st.SetPending(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("queue replacement of pod %s/%s: %w", next.Namespace, next.Name, err)
	}
	b.log.Info("replacing pod: the old one stops first", zap.String("pod", next.Namespace+"/"+next.Name),
		zap.String("oldUID", string(cur.Pod.UID)), zap.String("newUID", string(next.UID)))
	if cur.Pod.DeletionTimestamp == nil {
		if _, err := b.beginDelete(ctx, cur, nil); err != nil {
			return nil, err
		}
	}
	return pending.DeepCopy(), nil
}

// RequestDeletion begins the graceful deletion of a pod by name, as a
// DELETE does: grace (nil: the pod's own) may only shorten it (R61).
// Deleting a name also drops a replacement that waits for it.
func (b *Objects) RequestDeletion(ctx context.Context, ns, name string, grace *int64) (*corev1.Pod, error) {
	rec, err := b.st.Pods().Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if _, err := b.st.PendingPods().Delete(ctx, ns, name, "", nil); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("drop pending replacement of %s/%s: %w", ns, name, err)
	}
	return b.beginDelete(ctx, rec, grace)
}

// beginDelete marks the pod deleted (deletionTimestamp, grace that only
// ever decreases: R61) and asks the engine to stop it. A pod the engine
// does not run is removed at once.
func (b *Objects) beginDelete(ctx context.Context, rec *supervisor.PodRecord, grace *int64) (*corev1.Pod, error) {
	pod := rec.Pod
	g := grace
	if g == nil {
		g = pod.Spec.TerminationGracePeriodSeconds
	}
	now := metav1.NewTime(b.clk.Now())
	mark := func(p *corev1.Pod) {
		if p.DeletionTimestamp == nil {
			p.DeletionTimestamp = &now
		}
		if g != nil && (p.DeletionGracePeriodSeconds == nil || *g < *p.DeletionGracePeriodSeconds) {
			v := *g
			p.DeletionGracePeriodSeconds = &v
		}
	}
	e := b.Engine()
	if e == nil {
		return nil, errNoEngine
	}
	if _, running := e.Get(pod.UID); !running {
		final := pod.DeepCopy()
		mark(final)
		if err := b.finishPod(ctx, final); err != nil {
			return nil, err
		}
		return final, nil
	}
	updated, err := b.st.Pods().Mutate(ctx, pod.Namespace, pod.Name, func(r *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		if r.Pod.UID != pod.UID {
			return nil, api.NewConflict("pod", pod.Name, fmt.Errorf("the pod was replaced meanwhile"))
		}
		mark(r.Pod)
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.Delete(context.WithoutCancel(ctx), pod.UID, grace); err != nil {
		return nil, fmt.Errorf("stop pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return updated.Pod.DeepCopy(), nil
}
