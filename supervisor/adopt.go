package supervisor

import (
	"context"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"go.uber.org/zap"
)

// adoptListRetry is how soon adoption lists the runtime again after the
// listing failed: the kubelet's relist period (R96).
const adoptListRetry = time.Second

// adoptInstances reconciles a pod from the store with the runtime after a
// podrund restart (R94): running instances are adopted with their Started
// and Ready values, instances that exited meanwhile are reaped as if
// podrund had been there, lost ones become ContainerStatusUnknown (R88),
// and a lost sandbox leads to re-initialization (R14, R95). It returns
// false when ctx ended before the runtime could be listed.
func (w *worker) adoptInstances(ctx context.Context) bool {
	st := &w.rec.Engine
	pod := w.rec.Pod
	if t := st.Terminating; t != nil && t.Reason == TermShutdown {
		st.Terminating = nil // the node came back: run the pod again
	}
	if st.SandboxAttempt > 0 {
		ok, err := w.m.rt.SandboxExists(ctx, pod)
		if err != nil {
			w.log.Warn("check sandbox", zap.Error(err))
			ok = true
		}
		if ok {
			sb, err := w.m.rt.EnsureSandbox(ctx, pod, st.SandboxAttempt)
			if err != nil {
				w.log.Warn("re-open sandbox", zap.Error(err))
			} else {
				w.sandbox, w.sandboxReady = sb, true
			}
		}
	}
	listed, ok := w.listForAdoption(ctx)
	if !ok {
		return false
	}
	w.reconcile(ctx, listed)
	w.adoptUnrecorded(ctx, listed)
	return true
}

// listForAdoption lists this pod's runtime containers, again every
// adoptListRetry while the runtime answers with an error (a shim that a
// SIGKILLed podrund left half-created dies while containerd reads its
// task). Nothing may be started before the runtime was seen: an instance
// the stopped podrund started without recording it would run a second
// time (R94). The kubelet, too, syncs a pod only after a relist succeeded.
func (w *worker) listForAdoption(ctx context.Context) (map[string]RuntimeContainer, bool) {
	for {
		listed, err := w.m.runtimeContainers(ctx, w.uid)
		if err == nil {
			return listed, true
		}
		w.log.Warn("list runtime containers for adoption; trying again",
			zap.Duration("in", adoptListRetry), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, false
		case <-w.m.clk.After(adoptListRetry):
		}
	}
}

// reobserve re-reads the runtime after a reconnect: exits missed while the
// connection was down are reaped now.
func (w *worker) reobserve(ctx context.Context) {
	if w.sandboxReady {
		if ok, err := w.m.rt.SandboxExists(ctx, w.rec.Pod); err == nil && !ok {
			w.sandboxReady = false // R14: lost with the runtime (reboot, containerd restart)
		}
	}
	list, err := w.m.rt.ListContainers(ctx)
	if err != nil {
		w.log.Warn("list runtime containers", zap.Error(err))
		return
	}
	byID := make(map[string]RuntimeContainer, len(list))
	for _, rc := range list {
		if rc.PodUID == string(w.uid) {
			byID[rc.ID] = rc
		}
	}
	w.reconcile(ctx, byID)
}

// reconcile applies the runtime's view of this pod's instances.
func (w *worker) reconcile(ctx context.Context, listed map[string]RuntimeContainer) {
	st := &w.rec.Engine
	now := w.m.clk.Now()
	for i := 0; i < len(st.Instances); i++ {
		in := &st.Instances[i]
		if in.State == InstanceExited && in.Unreaped {
			w.reapUnreaped(ctx, in, listed)
			continue
		}
		if in.State != InstanceRunning && in.State != InstanceCreated {
			continue
		}
		rc, ok := listed[in.ID]
		if ev, exited := w.m.takeEarly(in.ID); exited && ok {
			rc.State = InstanceExited // exited after the runtime was listed
			if rc.Exit == nil {
				rc.Exit = &ExitStatus{ExitCode: ev.ExitCode, FinishedAt: ev.At}
			}
		}
		switch {
		case ok && rc.State == InstanceRunning && in.State == InstanceRunning:
			w.adoptRunning(in)
		case ok && rc.State == InstanceExited:
			at := now
			if rc.Exit != nil {
				at = rc.Exit.FinishedAt
			}
			w.reap(ctx, in, 0, at)
		case ok && rc.State == InstanceCreated, in.State == InstanceCreated:
			if err := w.m.rt.RemoveContainer(ctx, in.ID); err != nil {
				w.log.Warn("remove never-started instance", zap.String("id", in.ID), zap.Error(err))
			}
			w.dropInstance(in.ID)
			i--
		default:
			// Gone from the runtime while running (R88): lost, 137. A
			// container whose task is gone (reboot, containerd state lost)
			// is removed here: it is recorded as exited, so nothing else
			// would remove it, and it would outlive the pod's deletion.
			if ok {
				if err := w.m.rt.RemoveContainer(ctx, in.ID); err != nil {
					w.log.Warn("remove lost instance", zap.String("id", in.ID), zap.Error(err))
				}
			}
			w.recordExit(in, ExitStatus{ExitCode: 137, FinishedAt: now})
			in.Reason = "ContainerStatusUnknown"
			in.Message = lostMessage
		}
	}
}

// adoptRunning restores the probe state of an adopted instance from the
// persisted Started/Ready values so nothing flaps (R94).
func (w *worker) adoptRunning(in *Instance) {
	if _, ok := w.probes[in.ID]; ok {
		return
	}
	c, _ := findContainer(w.rec.Pod, in.Container)
	if c == nil {
		return
	}
	st := &w.rec.Engine
	ps := initialProbeState(c)
	if st.Started[in.ID] {
		ps.Startup = results.Success
	}
	if st.Ready[in.ID] {
		ps.Readiness = results.Success
	}
	w.probes[in.ID] = ps
	if w.m.opts.Probes != nil {
		w.m.opts.Probes.AddInstance(w.rec.Pod, c, in.ID, in.StartedAt)
	}
}
