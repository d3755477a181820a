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

func (r *eventRecorder) record(ctx context.Context, pod *corev1.Pod, path, typ, reason, msg string) {
	r.send(ctx, r.build(pod, path, typ, reason, msg))
}

// build makes the Event without sending it (the worker queues its events
// until the status they describe is committed).
func (r *eventRecorder) build(pod *corev1.Pod, path, typ, reason, msg string) *corev1.Event {
	now := metav1.NewTime(r.clk.Now())
	return &corev1.Event{
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
}

func (r *eventRecorder) send(ctx context.Context, ev *corev1.Event) {
	if err := r.sink.RecordEvent(ctx, ev); err != nil {
		r.log.Warn("record event", zap.String("pod", ev.InvolvedObject.Namespace+"/"+ev.InvolvedObject.Name),
			zap.String("reason", ev.Reason), zap.Error(err))
	}
}

// containerEvent queues an event about one of the pod's containers; it is
// stored with the next status, in the same transaction.
func (w *worker) containerEvent(name, typ, reason, msg string) {
	pod := w.rec.Pod
	w.evq = append(w.evq, w.m.events.build(pod, fieldPath(pod, name), typ, reason, msg))
}

// podEvent queues an event about the pod itself.
func (w *worker) podEvent(typ, reason, msg string) {
	w.evq = append(w.evq, w.m.events.build(w.rec.Pod, "", typ, reason, msg))
}
