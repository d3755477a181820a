package supervisor

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// pullReportEvery throttles pull progress writes (each one is a store
// commit and a watch event).
const pullReportEvery = time.Second

// pullReporter shows a pull's bytes as the container's waiting message
// while the worker is blocked in PullImage (podctl apply --wait shows it).
// end must be called when PullImage returns: a report that comes later is
// dropped, so it can never overwrite a newer status.
func (w *worker) pullReporter(ctx context.Context, c *corev1.Container) (report PullProgress, end func()) {
	w.pullMu.Lock()
	w.pullActive, w.pullLast = true, time.Time{}
	w.pullMu.Unlock()
	report = func(done, total int64) {
		w.pullMu.Lock()
		defer w.pullMu.Unlock()
		now := w.m.clk.Now()
		if !w.pullActive || (!w.pullLast.IsZero() && now.Sub(w.pullLast) < pullReportEvery) {
			return
		}
		w.pullLast = now
		w.snapMu.Lock()
		rec := copyRecord(w.snap)
		setWaitingMessage(rec.Pod, c.Name, pullMessage(c.Image, done, total))
		w.snap = rec
		w.snapMu.Unlock()
		if err := w.m.sink.SavePod(ctx, copyRecord(rec)); err != nil {
			w.log.Warn("save pull progress", zap.String("container", c.Name), zap.Error(err))
		}
	}
	end = func() {
		w.pullMu.Lock()
		w.pullActive = false
		w.pullMu.Unlock()
	}
	return report, end
}

func pullMessage(image string, done, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("Pulling image %q: %s", image, megabytes(done))
	}
	return fmt.Sprintf("Pulling image %q: %s of %s", image, megabytes(done), megabytes(total))
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// setWaitingMessage sets the message of a container's waiting state.
func setWaitingMessage(pod *corev1.Pod, name, msg string) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name != name {
				continue
			}
			if list[i].State.Waiting == nil {
				list[i].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			}
			list[i].State.Waiting.Message = msg
			return
		}
	}
}
