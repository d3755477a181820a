package supervisor

import (
	"time"

	"k8s.io/utils/clock"
)

// wakeTimer is a worker's single timer (R37): it fires at the earliest of
// the last plan's wake time and the earliest retry asked for since (failed
// starts, pull back-off); there is no periodic tick. Only the worker's
// loop goroutine uses it, so it has no lock.
type wakeTimer struct {
	clk     clock.Clock
	retryAt time.Time // zero: no retry pending
	t       clock.Timer
}

// C is the channel the loop waits on; nil (never ready) while unarmed.
func (t *wakeTimer) C() <-chan time.Time {
	if t.t == nil {
		return nil
	}
	return t.t.C()
}

// retry asks for a sync at at, at the latest.
func (t *wakeTimer) retry(at time.Time) {
	if t.retryAt.IsZero() || at.Before(t.retryAt) {
		t.retryAt = at
	}
}

// syncing forgets a retry that is due: the sync starting now is it.
func (t *wakeTimer) syncing() {
	if !t.retryAt.After(t.clk.Now()) {
		t.retryAt = time.Time{}
	}
}

// arm sets the timer to the earliest of wake (zero: none) and the pending
// retry; with neither it stops the timer.
func (t *wakeTimer) arm(wake time.Time) {
	now := t.clk.Now()
	if !t.retryAt.IsZero() && !t.retryAt.After(now) {
		t.retryAt = time.Time{}
	}
	if !t.retryAt.IsZero() && (wake.IsZero() || t.retryAt.Before(wake)) {
		wake = t.retryAt
	}
	if wake.IsZero() {
		t.stop()
		return
	}
	d := max(wake.Sub(now), 0)
	if t.t == nil {
		t.t = t.clk.NewTimer(d)
		return
	}
	t.t.Stop()
	t.t.Reset(d)
}

// stop stops the timer (the loop ends, or nothing to wait for).
func (t *wakeTimer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
}
