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
	st := in.State
	pod := in.Pod
	sb := st.SandboxAttempt
	if len(pod.Spec.InitContainers) == 0 {
		return true, false
	}
	for i := range pod.Spec.Containers {
		cur, _ := newest(st, pod.Spec.Containers[i].Name, sb)
		if cur != nil && (cur.State == InstanceCreated || cur.State == InstanceRunning) {
			initialized = true
			break
		}
	}
	inits := pod.Spec.InitContainers
	seenLater := initialized
	var starts []int
	for i := len(inits) - 1; i >= 0; i-- {
		c := &inits[i]
		sidecar := isSidecar(c)
		cur, _ := newest(st, c.Name, sb)
		if cur == nil {
			if seenLater && sidecar {
				starts = append(starts, i) // R25: missing sidecars start again
			}
			continue
		}
		if seenLater && !sidecar {
			continue // R25: completed plain init containers never re-run
		}
		switch cur.State {
		case InstanceCreated:
			starts = append(starts, i)
		case InstanceRunning:
			if !sidecar {
				break // wait for the plain init container to exit
			}
			if !sidecarStarted(in, c, cur, p) {
				break
			}
			if i == len(inits)-1 {
				initialized = true
			} else if !seenLater {
				starts = append(starts, i+1)
			}
			planRunningSidecar(in, p, c, cur)
		default: // Exited or Unknown
			if cur.State == InstanceUnknown {
				p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
					Message: fmt.Sprintf("Init container %s is in an unknown state", c.Name)})
			}
			switch {
			case sidecar:
				starts = append(starts, i)
			case initFailed(cur):
				if !failedInitShouldRestart(pod, c, cur) {
					p.Terminate = TermInitFailed // R75, R102
					p.StartInit = nil
					return false, true
				}
				starts = append(starts, i)
			case i == len(inits)-1:
				initialized = true
			default:
				starts = append(starts, i+1)
			}
		}
		seenLater = true
	}
	if !seenLater && len(inits) > 0 {
		starts = append(starts, 0)
	}
	slices.Sort(starts)
	for _, i := range slices.Compact(starts) {
		c := &inits[i]
		cur, _ := newest(st, c.Name, sb)
		if cur != nil && cur.State == InstanceRunning {
			continue // being killed; restarts once it exited
		}
		if backoffGate(in, p, c, cur) {
			p.StartInit = append(p.StartInit, i)
		}
	}
	return initialized, false
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
