package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// keepInstances is how many instances per container the state remembers:
// the newest is the state, the one before it lastState (R86).
const keepInstances = 2

// execute carries out one plan in the order of R11 and reports whether it
// changed anything that deserves another plan right away.
func (w *worker) execute(ctx context.Context, p *Plan) bool {
	st := &w.rec.Engine
	pod := w.rec.Pod
	for _, k := range p.Kill {
		if !w.kills.busy(k.InstanceID) {
			w.killOne(ctx, k)
		}
	}
	for name, wr := range p.Waiting {
		old := st.Waiting[name]
		if old.Reason != wr.Reason || !old.Since.Equal(wr.Since) {
			w.containerEvent(name, corev1.EventTypeWarning, "BackOff",
				fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)", name, pod.Name, pod.Namespace, pod.UID))
		}
		st.Waiting[name] = wr
	}
	ctx, cancel := context.WithCancel(ctx)
	w.snapMu.Lock()
	w.cancelStart = cancel
	w.snapMu.Unlock()
	defer func() {
		w.snapMu.Lock()
		w.cancelStart = nil
		w.snapMu.Unlock()
		cancel()
	}()
	if p.CreateSandbox {
		if err := w.createSandbox(ctx, p.SandboxChanged); err != nil {
			w.log.Error("create sandbox", zap.Error(err))
			w.retry(w.m.clk.Now().Add(errorRetry))
			return false
		}
	}
	starts := planStarts(pod, p)
	if len(starts) == 0 {
		w.prepareAhead(p)
	}
	progressed := false
	for k, c := range starts {
		if ctx.Err() != nil {
			return progressed // deleted meanwhile
		}
		var prepare func()
		if k == 0 {
			// The critical path first (R117): later containers are
			// prepared only once the first start's task started (or the
			// start failed), so that their creation never competes with
			// it: a pod's first container runs as soon as without
			// preparing.
			prepare = sync.OnceFunc(func() { w.prepareAhead(p) })
		}
		ok := w.startContainer(ctx, c.spec, c.class, prepare)
		if prepare != nil {
			prepare()
		}
		switch {
		case ok:
			progressed = true
		case c.class == PlainInit:
			return progressed // R12: a plain init failure aborts the sync
		}
		// R12, R13: a failed sidecar or regular start does not stop the next.
	}
	return progressed
}

// plannedStart is one container a plan starts.
type plannedStart struct {
	spec  *corev1.Container
	class ContainerClass
}

// planStarts lists the plan's starts in the order of R11: init
// containers, then regular ones, each in spec order.
func planStarts(pod *corev1.Pod, p *Plan) []plannedStart {
	starts := make([]plannedStart, 0, len(p.StartInit)+len(p.StartRegular))
	for _, i := range p.StartInit {
		c := &pod.Spec.InitContainers[i]
		starts = append(starts, plannedStart{c, classOf(c, true)})
	}
	for _, i := range p.StartRegular {
		starts = append(starts, plannedStart{&pod.Spec.Containers[i], Regular})
	}
	return starts
}

// createSandbox creates the first sandbox or, after sandbox loss, a new one
// with every container re-initialized (R14, R95).
func (w *worker) createSandbox(ctx context.Context, changed bool) error {
	st := &w.rec.Engine
	pod := w.rec.Pod
	if changed {
		w.podEvent(corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		w.prep.end() // prepared for the lost sandbox: never started
		for i := range st.Instances {
			if in := &st.Instances[i]; in.State == InstanceRunning || in.State == InstanceCreated {
				if err := w.m.rt.RemoveContainer(ctx, in.ID); err != nil {
					w.log.Warn("remove instance of the lost sandbox", zap.String("id", in.ID), zap.Error(err))
				}
				w.recordExit(in, ExitStatus{ExitCode: 137})
				in.Reason = "ContainerStatusUnknown"
			}
		}
		if err := w.m.rt.RemoveSandbox(ctx, pod); err != nil {
			w.log.Warn("remove lost sandbox", zap.Error(err))
		}
		clear(st.Waiting)
	}
	sb, err := w.m.rt.EnsureSandbox(ctx, pod, st.SandboxAttempt+1)
	if err != nil {
		return fmt.Errorf("ensure sandbox attempt %d: %w", st.SandboxAttempt+1, err)
	}
	st.SandboxAttempt++
	st.Initialized = false
	w.sandbox = sb
	w.sandboxReady = true
	w.prep.madeSandbox(st.SandboxAttempt)
	return nil
}

// startContainer is the kubelet's startContainer (R11, R27, R52): image,
// create, start, postStart; it returns false when the start failed.
// taskStarted, if not nil, is called as soon as the task started, before
// postStart.
func (w *worker) startContainer(ctx context.Context, c *corev1.Container, class ContainerClass, taskStarted func()) bool {
	st := &w.rec.Engine
	pod := w.rec.Pod
	img, err := w.ensureImage(ctx, c)
	if ctx.Err() != nil {
		return false // deleted while pulling: no start, no failure
	}
	if err != nil {
		w.startFailed(ctx, c, err, "ErrImagePull")
		return false
	}
	attempt := int32(0)
	if cur, _ := newest(st, c.Name, -1); cur != nil {
		attempt = cur.Attempt + 1
	}
	now := w.m.clk.Now()
	if cur, _ := newest(st, c.Name, st.SandboxAttempt); cur != nil && cur.State == InstanceExited {
		st.Backoff = nextBackoff(st.Backoff, backoffKey(c), cur.FinishedAt, now) // R35
	}
	req := CreateRequest{Pod: pod, Container: c, Class: class, Attempt: attempt, Sandbox: w.sandbox, ImageRef: img.Ref}
	inst, ok := w.prep.take(ctx, req, img, st.SandboxAttempt)
	if !ok {
		if inst, err = w.m.rt.CreateContainer(ctx, req); err != nil {
			w.startFailed(ctx, c, err, "CreateContainerError")
			return false
		}
	}
	inst.Container, inst.Attempt, inst.SandboxAttempt = c.Name, attempt, st.SandboxAttempt
	inst.Image, inst.SpecHash, inst.State = c.Image, specHash(c), InstanceCreated
	if inst.ImageRef == "" {
		inst.ImageRef = img.Ref
	}
	if inst.ImageID == "" {
		inst.ImageID = img.ID
	}
	if inst.CreatedAt.IsZero() {
		inst.CreatedAt = now
	}
	w.appendInstance(inst)
	if class == Regular {
		st.Initialized = true
	}
	w.containerEvent(c.Name, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	startedAt, err := w.m.rt.StartContainer(ctx, inst.ID)
	if err != nil {
		// The start often failed because the pod was deleted (ctx ended):
		// the removal must still run, or the created instance is left.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		rerr := w.m.rt.RemoveContainer(rctx, inst.ID)
		cancel()
		if rerr != nil {
			w.log.Warn("remove instance that failed to start", zap.String("id", inst.ID), zap.Error(rerr))
		}
		w.dropInstance(inst.ID)
		w.startFailed(ctx, c, err, "RunContainerError")
		return false
	}
	if taskStarted != nil {
		taskStarted()
	}
	in := findInstance(st, inst.ID)
	in.State, in.StartedAt = InstanceRunning, startedAt
	delete(st.Waiting, c.Name)
	delete(w.restartAfterKill, c.Name)
	w.containerEvent(c.Name, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	w.probes[inst.ID] = initialProbeState(c)
	if w.m.opts.Probes != nil {
		w.m.opts.Probes.AddInstance(pod, c, inst.ID, startedAt)
	}
	return w.postStart(ctx, c, inst.ID)
}

// postStart runs the hook synchronously (R52); on failure the instance is
// killed and the start reported as PostStartHookError (R53).
func (w *worker) postStart(ctx context.Context, c *corev1.Container, id string) bool {
	st := &w.rec.Engine
	pod := w.rec.Pod
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil && w.m.opts.RunHook != nil {
		w.publish(ctx) // the container shows Running while its hook runs
		err := w.m.opts.RunHook(ctx, pod, c, id, c.Lifecycle.PostStart)
		if ctx.Err() != nil {
			return false // deleted while the hook ran: termination stops it
		}
		if err != nil {
			w.containerEvent(c.Name, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed")
			w.killOne(ctx, KillAction{InstanceID: id, Container: c.Name, Reason: "FailedPostStartHook",
				Message: fmt.Sprintf("FailedPostStartHook: %v", err)})
			st.Waiting[c.Name] = WaitingReason{Reason: "PostStartHookError", Message: err.Error(), Since: w.m.clk.Now()}
			return false
		}
	}
	if c.StartupProbe == nil {
		st.Started[id] = true // R17: running, postStart returned, no startup probe
		w.noteReady(id)
	}
	return true
}

// startFailed records a failed start as the container's waiting reason
// (R87) and schedules the error retry (R36).
func (w *worker) startFailed(ctx context.Context, c *corev1.Container, err error, reason string) {
	var se *StartError
	if !errors.As(err, &se) {
		se = &StartError{Reason: reason, Message: err.Error(), Err: err}
	}
	now := w.m.clk.Now()
	w.rec.Engine.Waiting[c.Name] = WaitingReason{Reason: se.Reason, Message: se.Message, Since: now}
	if se.Reason != "ImagePullBackOff" && se.Reason != "ErrImagePull" {
		w.containerEvent(c.Name, corev1.EventTypeWarning, "Failed", "Error: "+se.Message)
		w.retry(now.Add(errorRetry))
	}
	w.log.Info("start container failed", zap.String("container", c.Name), zap.String("reason", se.Reason), zap.Error(err))
}

// appendInstance adds a new instance, keeping the newest keepInstances
// per container.
func (w *worker) appendInstance(inst Instance) {
	st := &w.rec.Engine
	st.Instances = append(st.Instances, inst)
	n := 0
	for i := len(st.Instances) - 1; i >= 0; i-- {
		if st.Instances[i].Container != inst.Container {
			continue
		}
		n++
		if n > keepInstances && st.Instances[i].State != InstanceRunning && !st.Instances[i].Unreaped {
			w.dropInstance(st.Instances[i].ID)
		}
	}
}

func (w *worker) dropInstance(id string) {
	st := &w.rec.Engine
	for i := range st.Instances {
		if st.Instances[i].ID == id {
			st.Instances = append(st.Instances[:i], st.Instances[i+1:]...)
			break
		}
	}
	delete(st.Started, id)
	delete(st.Ready, id)
	delete(w.probes, id)
}

// killOne starts the kill of one instance outside pod termination, with
// the pod grace or the probe-level grace (R50, R58).
func (w *worker) killOne(ctx context.Context, k KillAction) {
	c, _ := findContainer(w.rec.Pod, k.Container)
	if c == nil {
		return
	}
	grace := podGrace(w.rec.Pod)
	if k.ProbeGrace != nil {
		grace = *k.ProbeGrace
	}
	if k.Restart {
		w.restartAfterKill[k.Container] = true
	}
	w.launchKill(ctx, killRequest{Pod: w.rec.Pod, Container: c, InstanceID: k.InstanceID,
		Grace: grace, Reason: k.Reason, Message: k.Message})
}

// launchKill runs a kill in its own goroutine so the worker keeps reacting;
// the result comes back as msgKillDone.
func (w *worker) launchKill(ctx context.Context, r killRequest) {
	w.kills.begin(r.InstanceID)
	r.signalled = func(at time.Time) { w.noteSignalled(r.InstanceID, at) }
	if w.baseCtx != nil {
		ctx = w.baseCtx
	}
	go func() {
		err := w.m.killer.kill(ctx, r)
		w.mb.push(workerMsg{kind: msgKillDone, id: r.InstanceID, err: err})
	}()
}
