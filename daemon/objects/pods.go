package objects

import (
	"context"
	"fmt"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Pod reads a stored pod.
func (b *Objects) Pod(ctx context.Context, ns, name string) (*supervisor.PodRecord, error) {
	return b.st.Pods().Get(ctx, ns, name)
}

// PodRecords lists the stored pods of ns ("" = all) and the store's
// resourceVersion they were read at.
func (b *Objects) PodRecords(ctx context.Context, ns string) ([]*supervisor.PodRecord, uint64, error) {
	return b.st.Pods().List(ctx, ns)
}

// LivePod is the pod as the engine holds it now, else as stored (a
// finished pod the engine no longer runs).
func (b *Objects) LivePod(ctx context.Context, ns, name string) (*supervisor.PodRecord, error) {
	rec, err := b.st.Pods().Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if e := b.Engine(); e != nil {
		if live, ok := e.Get(rec.Pod.UID); ok {
			return live, nil
		}
	}
	return rec, nil
}

// SubmitPod gives a defaulted, validated and admitted pod its identity,
// stores it and starts it. A pod the engine refuses is taken back, so
// the client sees a clean failure.
func (b *Objects) SubmitPod(ctx context.Context, pod *corev1.Pod) (*supervisor.PodRecord, error) {
	if b.Engine() == nil {
		return nil, errNoEngine // refused before anything is stored
	}
	b.newPodIdentity(pod)
	rec, err := b.st.Pods().Create(ctx, &supervisor.PodRecord{Pod: pod})
	if err != nil {
		return nil, err
	}
	if err := b.startPod(ctx, rec); err != nil {
		if _, derr := b.st.Pods().Delete(context.WithoutCancel(ctx), pod.Namespace, pod.Name, pod.UID, nil); derr != nil {
			b.log.Error("remove pod that failed to start", zap.String("pod", pod.Namespace+"/"+pod.Name), zap.Error(derr))
		}
		return nil, fmt.Errorf("start pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return rec, nil
}

// errNoEngine answers what needs the engine before daemon/app connected it.
var errNoEngine = api.NewServiceUnavailable("the pod engine is not running yet")

// newPodIdentity gives a pod the fields only podrund sets.
func (b *Objects) newPodIdentity(pod *corev1.Pod) {
	pod.UID = uuid.NewUUID()
	pod.CreationTimestamp = metav1.NewTime(b.clk.Now())
	pod.ResourceVersion = ""
	pod.DeletionTimestamp = nil
	pod.DeletionGracePeriodSeconds = nil
	pod.Generation = 1
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
}

// startPod hands a stored pod to the engine. The engine's pod worker
// outlives the request, so it gets a context that the request's end does
// not cancel.
func (b *Objects) startPod(ctx context.Context, rec *supervisor.PodRecord) error {
	e := b.Engine()
	if e == nil {
		return errNoEngine
	}
	cp := &supervisor.PodRecord{Pod: rec.Pod.DeepCopy(), Engine: rec.Engine}
	return e.Start(context.WithoutCancel(ctx), cp)
}
