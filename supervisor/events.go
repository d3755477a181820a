package supervisor

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
)

// eventRecorder turns kubelet-style reasons into corev1.Events (R99) and
// hands them to the Sink. It is safe for concurrent use.
type eventRecorder struct {
	sink Sink
	clk  clock.PassiveClock
	log  *zap.Logger
	seq  atomic.Uint64
}

// fieldPath names a container as the kubelet does: spec.initContainers{n}
// or spec.containers{n}.
func fieldPath(pod *corev1.Pod, name string) string {
	if _, init := findContainer(pod, name); init {
		return "spec.initContainers{" + name + "}"
	}
	return "spec.containers{" + name + "}"
}

func (r *eventRecorder) container(ctx context.Context, pod *corev1.Pod, name, typ, reason, msg string) {
	r.record(ctx, pod, fieldPath(pod, name), typ, reason, msg)
}

func (r *eventRecorder) pod(ctx context.Context, pod *corev1.Pod, typ, reason, msg string) {
	r.record(ctx, pod, "", typ, reason, msg)
}

func (r *eventRecorder) record(ctx context.Context, pod *corev1.Pod, path, typ, reason, msg string) {
	now := metav1.NewTime(r.clk.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x%s", pod.Name, now.UnixNano(), strconv.FormatUint(r.seq.Add(1), 36)),
			Namespace: pod.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, FieldPath: path,
		},
		Reason:         reason,
		Message:        msg,
		Type:           typ,
		Source:         corev1.EventSource{Component: "podrund"},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	if err := r.sink.RecordEvent(ctx, ev); err != nil {
		r.log.Warn("record event", zap.String("pod", pod.Namespace+"/"+pod.Name),
			zap.String("reason", reason), zap.Error(err))
	}
}
