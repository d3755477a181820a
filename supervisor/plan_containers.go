package supervisor

import (
	"fmt"
	"slices"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// planInit is computeInitContainerActions (R19): it walks init containers
// from last to first and returns whether the pod is initialized; stop is
// true when the plan ended in a pod termination (R75).
func planInit(in *planInput, p *Plan) (initialized, stop bool) {
	inits := in.Pod.Spec.InitContainers
	if len(inits) == 0 {
		return true, false
	}
	w := initWalk{in: in, p: p, last: len(inits) - 1, initialized: regularBegun(in)}
	w.seenLater = w.initialized
	for i := w.last; i >= 0; i-- {
		if w.visit(i) {
			p.Terminate = TermInitFailed // R75, R102
			p.StartInit = nil
			return false, true
		}
	}
	if !w.seenLater {
		w.starts = append(w.starts, 0) // R19: nothing ran yet, the first one starts
	}
	planInitStarts(in, p, w.starts)
	return w.initialized, false
}

// regularBegun is R19's initial "initialized": a regular container has an
// instance created or running in this sandbox (exited ones do not count:
// that is the reboot case).
func regularBegun(in *planInput) bool {
	for i := range in.Pod.Spec.Containers {
		cur, _ := newest(in.State, in.Pod.Spec.Containers[i].Name, in.State.SandboxAttempt)
		if cur != nil && (cur.State == InstanceCreated || cur.State == InstanceRunning) {
			return true
		}
	}
	return false
}

// initWalk is R19's walk over the init containers, last to first.
type initWalk struct {
	in          *planInput
	p           *Plan
	last        int // index of the last init container
	initialized bool
	seenLater   bool  // a later init container (or a regular one) has an instance
	starts      []int // init containers to start, in any order, maybe twice
}

// visit decides init container i by its newest instance in this sandbox;
// it returns true when the pod must be killed instead (R75).
func (w *initWalk) visit(i int) (terminate bool) {
	c := &w.in.Pod.Spec.InitContainers[i]
	cur, _ := newest(w.in.State, c.Name, w.in.State.SandboxAttempt)
	later := w.seenLater
	if cur != nil {
		w.seenLater = true // R19: for every earlier one
	}
	switch {
	case cur == nil:
		if later && isSidecar(c) {
			w.starts = append(w.starts, i) // R25: a missing sidecar starts again
		}
	case later && !isSidecar(c):
		// R25: a completed plain init container never runs again.
	case cur.State == InstanceCreated:
		w.starts = append(w.starts, i) // R19: created but never running
	case cur.State == InstanceRunning:
		w.running(i, c, cur, later)
	default:
		return w.stopped(i, c, cur)
	}
	return false
}

// running decides a running init container: a plain one is waited for; a
// sidecar, once started (R17), lets the next one start and may be killed
// for an image change or a liveness failure.
func (w *initWalk) running(i int, c *corev1.Container, cur *Instance, later bool) {
	if !isSidecar(c) || !sidecarStarted(w.in, c, cur, w.p) {
		return
	}
	w.done(i, later)
	planRunningSidecar(w.in, w.p, c, cur)
}

// stopped decides an exited (or unknown) init container: a sidecar starts
// again (R19, R20), a failed plain one starts again or kills the pod
// (R21, R75, R102), a succeeded plain one lets the next one start.
func (w *initWalk) stopped(i int, c *corev1.Container, cur *Instance) (terminate bool) {
	if cur.State == InstanceUnknown {
		w.p.Kill = append(w.p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
			Message: fmt.Sprintf("Init container %s is in an unknown state", c.Name)})
	}
	switch {
	case isSidecar(c):
		w.starts = append(w.starts, i)
	case initFailed(cur):
		if !failedInitShouldRestart(w.in.Pod, c, cur) {
			return true
		}
		w.starts = append(w.starts, i)
	default:
		w.done(i, false)
	}
	return false
}

// done moves on from init container i, completed or started (R16): after
// the last one the pod is initialized, else the next one starts unless a
// later one has an instance already.
func (w *initWalk) done(i int, later bool) {
	switch {
	case i == w.last:
		w.initialized = true
	case !later:
		w.starts = append(w.starts, i+1)
	}
}

// planInitStarts puts the chosen init containers into the plan in spec
// order (R11), each once, skipping one still running (being killed: it
// restarts once it exited) and those held back by crash-loop back-off.
func planInitStarts(in *planInput, p *Plan, starts []int) {
	slices.Sort(starts)
	for _, i := range slices.Compact(starts) {
		c := &in.Pod.Spec.InitContainers[i]
		cur, _ := newest(in.State, c.Name, in.State.SandboxAttempt)
		if cur != nil && cur.State == InstanceRunning {
			continue
		}
		if backoffGate(in, p, c, cur) {
			p.StartInit = append(p.StartInit, i)
		}
	}
}

// sidecarStarted is R17; a startup probe Failure kills the sidecar (R23).
func sidecarStarted(in *planInput, c *corev1.Container, cur *Instance, p *Plan) bool {
	if c.StartupProbe != nil {
		switch in.Probes[cur.ID].Startup {
		case results.Failure:
			p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
				Reason: "StartupProbe", Message: fmt.Sprintf("Init container %s failed startup probe", c.Name),
				ProbeGrace: c.StartupProbe.TerminationGracePeriodSeconds})
			return false
		case results.Success:
		default:
			return false
		}
	}
	return in.State.Started[cur.ID]
}

// planRunningSidecar restarts a started sidecar whose image changed (R93)
// or whose liveness probe failed (R47).
func planRunningSidecar(in *planInput, p *Plan, c *corev1.Container, cur *Instance) {
	if cur.SpecHash != "" && cur.SpecHash != specHash(c) {
		p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
			Message: fmt.Sprintf("Init container %s definition changed", c.Name)})
		return
	}
	if c.LivenessProbe != nil && in.Probes[cur.ID].Liveness == results.Failure {
		p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
			Reason: "LivenessProbe", Message: fmt.Sprintf("Init container %s failed liveness probe", c.Name),
			ProbeGrace: c.LivenessProbe.TerminationGracePeriodSeconds})
	}
}

// shouldRestart is ShouldContainerBeRestarted for a regular container whose
// newest instance is not running (R28).
func shouldRestart(in *planInput, c *corev1.Container, cur *Instance) bool {
	if in.Pod.DeletionTimestamp != nil {
		return false
	}
	if cur == nil || cur.State == InstanceCreated || cur.State == InstanceUnknown {
		return true
	}
	if in.RestartAfterKill[c.Name] {
		return true // R29: killed with "will be restarted"
	}
	return exitedShouldRestart(in.Pod, c, cur) // R28, R101
}

// planRegular decides starts and kills of regular containers once the pod
// is initialized (R26–R30) and turns into Job-style completion (R72).
func planRegular(in *planInput, p *Plan) {
	pod := in.Pod
	keep := 0
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur, _ := newest(in.State, c.Name, in.State.SandboxAttempt)
		if cur == nil || cur.State != InstanceRunning {
			if !shouldRestart(in, c, cur) {
				continue
			}
			if cur != nil && cur.State == InstanceUnknown {
				p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
					Message: fmt.Sprintf("Container %s is in an unknown state, will be restarted", c.Name)})
			}
			keep++ // to be (re)started, possibly after back-off
			if backoffGate(in, p, c, cur) {
				p.StartRegular = append(p.StartRegular, i)
			}
			continue
		}
		keep++
		if k, ok := regularKill(in, c, cur); ok {
			p.Kill = append(p.Kill, k)
			if !k.Restart {
				keep-- // killed for good: it no longer keeps the pod alive
			}
		}
	}
	if keep == 0 {
		p.Terminate = TermCompleted // R30/R72
		p.StartInit = nil
	}
}

// regularKill checks the kill reasons of R29 in order.
func regularKill(in *planInput, c *corev1.Container, cur *Instance) (KillAction, bool) {
	k := KillAction{InstanceID: cur.ID, Container: c.Name, Restart: killRestarts(in.Pod, c)} // R103
	switch {
	case cur.SpecHash != "" && cur.SpecHash != specHash(c):
		k.Restart = true
		k.Message = fmt.Sprintf("Container %s definition changed", c.Name)
	case c.LivenessProbe != nil && in.Probes[cur.ID].Liveness == results.Failure:
		k.Reason = "LivenessProbe"
		k.Message = fmt.Sprintf("Container %s failed liveness probe", c.Name)
		k.ProbeGrace = c.LivenessProbe.TerminationGracePeriodSeconds
	case c.StartupProbe != nil && in.Probes[cur.ID].Startup == results.Failure:
		k.Reason = "StartupProbe"
		k.Message = fmt.Sprintf("Container %s failed startup probe", c.Name)
		k.ProbeGrace = c.StartupProbe.TerminationGracePeriodSeconds
	default:
		return k, false
	}
	if k.Restart {
		k.Message += ", will be restarted"
	}
	return k, true
}
