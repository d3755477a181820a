package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// pullReportEvery throttles pull progress writes (each one is a store
// commit and a watch event).
const pullReportEvery = time.Second

// pullTracker is a worker's image pull bookkeeping: the per-image pull
// back-off (R27), read and changed only by the worker's loop, and the
// gate of the pull in progress, shared with the runtime's progress
// callbacks under mu.
type pullTracker struct {
	clk clock.PassiveClock

	// backoff is the per-image pull back-off; loop goroutine only.
	backoff map[string]BackoffEntry

	mu     sync.Mutex
	active bool      // a PullImage is in progress: reports are shown
	last   time.Time // when the last report was shown
}

// inBackoff reports whether pulling image waits, and until when.
func (t *pullTracker) inBackoff(image string, now time.Time) (bool, time.Time) {
	return inBackoffSinceUpdate(t.backoff, image, now)
}

// failed extends the back-off of image after a pull begun at start failed.
func (t *pullTracker) failed(image string, start time.Time) {
	t.backoff = nextBackoff(t.backoff, image, start, t.clk.Now())
}

// succeeded forgets the back-off of image.
func (t *pullTracker) succeeded(image string) { delete(t.backoff, image) }

// backoffCopy is the back-off as Diagnose shows it.
func (t *pullTracker) backoffCopy() map[string]BackoffEntry { return copyMap(t.backoff) }

// reporter opens the progress gate for one pull: report calls show at
// most one update per pullReportEvery, and none after end. end must be
// called when PullImage returns, so that a late report can never
// overwrite a newer status.
func (t *pullTracker) reporter(show func(done, total int64)) (report PullProgress, end func()) {
	t.mu.Lock()
	t.active, t.last = true, time.Time{}
	t.mu.Unlock()
	report = func(done, total int64) {
		t.mu.Lock()
		defer t.mu.Unlock()
		now := t.clk.Now()
		if !t.active || (!t.last.IsZero() && now.Sub(t.last) < pullReportEvery) {
			return
		}
		t.last = now
		show(done, total)
	}
	end = func() {
		t.mu.Lock()
		t.active = false
		t.mu.Unlock()
	}
	return report, end
}

// pullReporter shows a pull's bytes as the container's waiting message
// while the worker is blocked in PullImage (podctl apply --wait shows it).
// The show runs on the runtime's goroutine, under the tracker's lock: it
// replaces the published snapshot and saves it, never the loop's record.
func (w *worker) pullReporter(ctx context.Context, c *corev1.Container) (report PullProgress, end func()) {
	return w.pulls.reporter(func(done, total int64) {
		w.snapMu.Lock()
		rec := copyRecord(w.snap)
		setWaitingMessage(rec.Pod, c.Name, pullMessage(c.Image, done, total))
		w.snap = rec
		w.snapMu.Unlock()
		if err := w.m.sink.SavePod(ctx, copyRecord(rec)); err != nil {
			w.log.Warn("save pull progress", zap.String("container", c.Name), zap.Error(err))
		}
	})
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
