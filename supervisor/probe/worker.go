package probe

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// worker probes one instance for one probe kind. Its state is touched only
// by its own goroutine.
type worker struct {
	inst *instance
	kind results.Kind
	spec *corev1.Probe

	ctx  context.Context // ends with RemoveInstance or, for liveness/startup, termination
	stop context.CancelFunc
	// trigger asks for an out-of-band attempt (R44); readiness only.
	trigger chan struct{}

	current results.Result // the result reported so far
	last    results.Result // result of the last attempt
	streak  int            // consecutive attempts with result last

	erroring bool // the last attempt could not be made
}

func newWorker(inst *instance, kind results.Kind, spec *corev1.Probe) *worker {
	ctx, cancel := context.WithCancel(inst.ctx)
	return &worker{
		inst:    inst,
		kind:    kind,
		spec:    spec,
		ctx:     ctx,
		stop:    cancel,
		trigger: make(chan struct{}, 1),
		current: results.Initial(kind),
	}
}

// run is the worker's goroutine: liveness and readiness wait until the
// container is started (R43); then an attempt at once and one per period
// (R42). It returns when the instance is removed, when liveness/startup are
// stopped for termination (R49), after startup succeeded, or after a
// liveness/startup failure (on hold until a new instance: R43).
func (w *worker) run() {
	defer w.inst.wg.Done()
	if w.kind != results.Startup {
		select {
		case <-w.inst.started:
		case <-w.ctx.Done():
			w.stopped()
			return
		}
	}
	period := seconds(w.spec.PeriodSeconds, 10)
	if !w.spread(period) {
		w.stopped()
		return
	}
	ticker := w.inst.m.clk.NewTicker(period)
	defer func() { ticker.Stop() }()
	for {
		if !w.attempt() {
			w.stopped()
			return
		}
		select {
		case <-w.ctx.Done():
			w.stopped()
			return
		case <-ticker.C():
		case <-w.trigger:
			// An out-of-band attempt restarts the period (R44).
			ticker.Stop()
			ticker = w.inst.m.clk.NewTicker(period)
		}
	}
}

// spread delays the first attempt of an instance adopted after a podrund
// restart by a random part of the period while podrund is younger than one
// period (R42), so that the probes of many adopted pods do not tick
// together. It returns false if the worker was stopped meanwhile.
func (w *worker) spread(period time.Duration) bool {
	m := w.inst.m
	if !w.inst.startedAt.Before(m.start) || m.clk.Since(m.start) >= period {
		return true
	}
	t := m.clk.NewTimer(rand.N(period))
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-w.ctx.Done():
		return false
	}
}

// stopped reports the forced Success of a liveness/startup worker stopped
// for termination (R49); a removed instance reports nothing.
func (w *worker) stopped() {
	if w.inst.ctx.Err() != nil || w.ctx.Err() == nil || w.kind == results.Readiness {
		return
	}
	if w.kind == results.Startup {
		defer w.inst.markStarted()
	}
	if w.current != results.Success {
		w.current = results.Success
		w.send(results.Success, "", false, false)
	}
}

// attempt makes one probe attempt unless the initial delay has not passed,
// and applies the thresholds (R42). It returns false when the worker is done.
func (w *worker) attempt() bool {
	select {
	case <-w.trigger: // this attempt serves a pending out-of-band request
	default:
	}
	if w.ctx.Err() != nil {
		return false
	}
	// Integer seconds, as the kubelet compares them.
	if int32(w.inst.m.clk.Since(w.inst.startedAt).Seconds()) < w.spec.InitialDelaySeconds {
		return true
	}
	o := runProbe(w.ctx, &w.inst.t, w.spec)
	if w.ctx.Err() != nil {
		return false // stopped during the attempt: its result is meaningless
	}
	if o.err != nil {
		// Said once per run of errors: a broken probe would log every period.
		if !w.erroring {
			w.inst.log.Warn("probe errored, attempt ignored", zap.String("probe", string(w.kind)), zap.Error(o.err))
		}
		w.erroring = true
		return true
	}
	w.erroring = false
	if o.result == w.last {
		w.streak++
	} else {
		w.last, w.streak = o.result, 1
	}
	// Every failed attempt is reported, as the kubelet records an Unhealthy
	// event per failure, not only when the threshold flips the result.
	failed := o.result == results.Failure
	if w.streak < w.threshold(o.result) {
		if o.warning || failed {
			w.send(w.current, o.output, o.warning, failed)
		}
		return true
	}
	changed := o.result != w.current
	w.current = o.result
	fatal := failed && w.kind != results.Readiness
	if changed || fatal || o.warning || failed {
		w.send(o.result, o.output, o.warning, failed)
	}
	switch {
	case w.kind == results.Startup && o.result == results.Success:
		w.inst.markStarted()
		return false // startup stops once started (R43)
	case fatal:
		return false // on hold until a new instance (R43)
	}
	return true
}

func (w *worker) threshold(r results.Result) int {
	if r == results.Success {
		return int(orDefault(w.spec.SuccessThreshold, 1))
	}
	return int(orDefault(w.spec.FailureThreshold, 3))
}

// send hands an update to the engine unless the instance is removed first.
func (w *worker) send(r results.Result, output string, warning, failed bool) {
	u := results.Update{
		PodUID:     w.inst.t.pod.UID,
		Container:  w.inst.t.container.Name,
		InstanceID: w.inst.t.instanceID,
		Kind:       w.kind,
		Result:     r,
		Output:     output,
		Warning:    warning,
		Failed:     failed,
	}
	select {
	case w.inst.m.updates <- u:
		if w.inst.m.observe != nil {
			w.inst.m.observe(u)
		}
	case <-w.inst.ctx.Done():
	}
}

// orDefault applies the R6 default to an unset (zero) field.
func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

func seconds(v, def int32) time.Duration {
	return time.Duration(orDefault(v, def)) * time.Second
}
