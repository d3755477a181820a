package supervisor

import (
	"context"
	"sort"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// A podrund stopped (SIGKILL) between starting an instance and committing
// the status that names it leaves a started container the store does not
// know: the worker saves the status at the end of a sync. Removing it and
// starting the container again would run its process twice (R94: nothing
// re-runs after an agent restart). The kubelet, which persists nothing,
// adopts every container from its runtime labels; podrund adopts such an
// instance when it is exactly the one the engine would have created next:
//
//   - its process was started (Running or Exited; a Created one never ran
//     and is removed, the engine creates it again by its own rules);
//   - it belongs to a container of the pod's spec;
//   - its attempt is the next one: the newest recorded attempt + 1, or 0;
//   - it lives in the current sandbox attempt (for a pod whose record has
//     no sandbox yet, the sandbox the stopped podrund created: attempt 1);
//   - the container's newest recorded instance is not still running (a
//     second running instance of one container is never adopted);
//   - it is the only one: of two candidates for one container the first
//     started is adopted, the other removed.
//
// Anything else is removed as before (removeUnknown). An adopted running
// instance is treated like a recorded one (adoptRunning); an exited one is
// reaped as if podrund had been there, with the restart count and back-off
// that follow (the planner sees it as the container's newest instance).
//
// R17 and postStart: the engine runs postStart right after the start and
// counts a container without a startup probe as Started once the hook
// returned. Whether the hook of an adopted instance ran, or finished, is
// unknowable. The kubelet never runs postStart for a container it finds
// running (the hook belongs to startContainer) and reports such a container
// started by its startup probe alone; podrund does the same: the hook is
// not run again and the instance is Started at once without a startup
// probe, from its probe's first success with one.

// adoptUnrecorded adopts or removes this pod's runtime containers that the
// stored record does not name; it runs after reconcile, so the recorded
// instances show their runtime state (an exit while podrund was down is
// recorded before the next instance is adopted).
func (w *worker) adoptUnrecorded(ctx context.Context, listed map[string]RuntimeContainer) {
	var unknown []RuntimeContainer
	for id, rc := range listed {
		if findInstance(&w.rec.Engine, id) == nil {
			unknown = append(unknown, rc)
		}
	}
	if len(unknown) == 0 {
		return
	}
	// The first started first, so that of two candidates for one container
	// the choice does not depend on map order.
	sort.Slice(unknown, func(i, j int) bool {
		a, b := unknown[i], unknown[j]
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.ID < b.ID
	})
	sb := w.adoptionSandbox(ctx, unknown)
	for _, rc := range unknown {
		c, reason := w.adoptable(rc, sb)
		if c == nil {
			w.removeUnknown(ctx, rc, reason)
			continue
		}
		w.adoptOne(ctx, c, rc)
	}
}

// wasStarted tells whether the runtime says the instance's process was started.
func wasStarted(rc RuntimeContainer) bool {
	return rc.State == InstanceRunning || rc.State == InstanceExited
}

// adoptionSandbox is the sandbox attempt whose started instances can be
// adopted, or -1 when there is none. A pod whose record has no sandbox yet
// (podrund stopped in the pod's first sync) gets the sandbox the stopped
// podrund created, as createSandbox would have recorded it, if one of the
// unknown instances ran in it and it still exists.
func (w *worker) adoptionSandbox(ctx context.Context, unknown []RuntimeContainer) int32 {
	st := &w.rec.Engine
	if st.SandboxAttempt > 0 {
		if !w.sandboxReady {
			return -1 // lost or not re-opened: the planner re-creates it (R14)
		}
		return st.SandboxAttempt
	}
	wanted := false
	for _, rc := range unknown {
		wanted = wanted || (wasStarted(rc) && rc.SandboxAttempt == 1)
	}
	if !wanted {
		return -1
	}
	pod := w.rec.Pod
	if ok, err := w.m.rt.SandboxExists(ctx, pod); err != nil || !ok {
		if err != nil {
			w.log.Warn("check sandbox of unrecorded instances", zap.Error(err))
		}
		return -1
	}
	sb, err := w.m.rt.EnsureSandbox(ctx, pod, 1)
	if err != nil || sb.Attempt != 1 {
		w.log.Warn("re-open sandbox of unrecorded instances", zap.Int32("attempt", sb.Attempt), zap.Error(err))
		return -1
	}
	st.SandboxAttempt, st.Initialized = 1, false
	w.sandbox, w.sandboxReady = sb, true
	return 1
}

// adoptable returns the spec container rc can be adopted for, or nil and
// why not.
func (w *worker) adoptable(rc RuntimeContainer, sb int32) (*corev1.Container, string) {
	st := &w.rec.Engine
	if !wasStarted(rc) {
		return nil, "never started"
	}
	c, _ := findContainer(w.rec.Pod, rc.Container)
	if c == nil {
		return nil, "not a container of the pod's spec"
	}
	if sb < 0 || rc.SandboxAttempt != sb {
		return nil, "not of the current sandbox"
	}
	next := int32(0)
	if cur, _ := newest(st, c.Name, -1); cur != nil {
		// After reconcile a recorded instance is Running only when the
		// runtime still runs it: rc would be a second instance.
		if cur.State == InstanceRunning || cur.State == InstanceCreated {
			return nil, "the container's recorded instance still runs"
		}
		next = cur.Attempt + 1
	}
	if rc.Attempt != next {
		return nil, "not the next attempt"
	}
	return c, ""
}

// removeUnknown removes a runtime container of this pod that the stored
// record does not name and that cannot be adopted: a podrund that stops
// between creating an instance and committing the status naming it
// (SIGKILL; or SIGTERM cancelling the start, whose SavePod then fails)
// leaves such a container behind, and nothing else would ever remove it.
// Instances dropped from the bounded history are removed too. The engine
// starts the container again by its own rules.
func (w *worker) removeUnknown(ctx context.Context, rc RuntimeContainer, reason string) {
	w.log.Warn("removing a container the store does not know (podrund stopped while creating it)",
		zap.String("container", rc.Container), zap.String("id", rc.ID), zap.Int32("attempt", rc.Attempt),
		zap.String("state", string(rc.State)), zap.String("reason", reason))
	if err := w.m.rt.RemoveContainer(ctx, rc.ID); err != nil {
		w.log.Warn("remove unknown container", zap.String("id", rc.ID), zap.Error(err))
	}
}

// adoptOne makes rc the newest instance of c, as startContainer would have
// recorded it, then lets it run on (adoptRunning) or reaps its exit.
func (w *worker) adoptOne(ctx context.Context, c *corev1.Container, rc RuntimeContainer) {
	st := &w.rec.Engine
	now := w.m.clk.Now()
	in := w.adoptedInstance(ctx, c, rc)
	if cur, _ := newest(st, c.Name, st.SandboxAttempt); cur != nil && cur.State == InstanceExited {
		st.Backoff = nextBackoff(st.Backoff, backoffKey(c), cur.FinishedAt, in.StartedAt) // R35
	}
	w.appendInstance(in)
	if _, init := findContainer(w.rec.Pod, c.Name); !init {
		st.Initialized = true
	}
	delete(st.Waiting, c.Name)
	delete(w.restartAfterKill, c.Name)
	w.log.Info("adopting a started container the store does not know (podrund stopped before recording it)",
		zap.String("container", c.Name), zap.String("id", rc.ID), zap.Int32("attempt", rc.Attempt),
		zap.String("state", string(rc.State)))
	exit := rc.Exit
	if ev, exited := w.m.takeEarly(rc.ID); exited && exit == nil {
		exit = &ExitStatus{ExitCode: ev.ExitCode, FinishedAt: ev.At} // exited after the listing
	}
	adopted := findInstance(st, rc.ID)
	if rc.State == InstanceExited || exit != nil {
		if exit == nil {
			exit = &ExitStatus{FinishedAt: now}
		}
		w.reap(ctx, adopted, exit.ExitCode, exit.FinishedAt)
		return
	}
	if c.StartupProbe == nil {
		st.Started[rc.ID] = true // R17 without re-running postStart (see above)
	}
	w.adoptRunning(adopted)
	w.noteReady(rc.ID)
}

// adoptedInstance is the Instance startContainer would have recorded for
// rc: the spec's image and hash, the rest from the runtime.
func (w *worker) adoptedInstance(ctx context.Context, c *corev1.Container, rc RuntimeContainer) Instance {
	in := Instance{ID: rc.ID, Container: c.Name, Attempt: rc.Attempt, SandboxAttempt: rc.SandboxAttempt,
		Image: c.Image, ImageRef: rc.ImageRef, SpecHash: specHash(c), StopSignal: rc.StopSignal,
		LogPath: rc.LogPath, State: InstanceRunning, CreatedAt: rc.CreatedAt, StartedAt: rc.StartedAt}
	in.ImageID = w.adoptedImageID(ctx, c, rc)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = w.m.clk.Now()
	}
	if in.StartedAt.IsZero() { // stopped before the start time was written
		in.StartedAt = in.CreatedAt
	}
	return in
}

// adoptedImageID is the image ID of an adopted instance: of the image the
// runtime created it from (the spec's when the runtime did not say); empty
// when that image is gone.
func (w *worker) adoptedImageID(ctx context.Context, c *corev1.Container, rc RuntimeContainer) string {
	ref := rc.ImageRef
	if ref == "" {
		ref = c.Image
	}
	img, err := w.m.rt.ImageStatus(ctx, ref)
	if err != nil {
		w.log.Warn("image of an adopted instance", zap.String("container", c.Name), zap.String("image", ref), zap.Error(err))
		return ""
	}
	return img.ID
}
