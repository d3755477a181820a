package supervisor

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Termination reasons recorded in Termination.Reason.
const (
	TermDeleted          = "Deleted"
	TermCompleted        = "Completed"        // Job-style completion (R72)
	TermInitFailed       = "InitFailed"       // plain init failed under Never (R75)
	TermDeadlineExceeded = "DeadlineExceeded" // R70
	TermSandboxLost      = "SandboxLost"      // Never pod whose sandbox died (R14)
	TermShutdown         = "Shutdown"         // node shutdown
	TermEvicted          = "Evicted"          // R71: a local storage limit exceeded
)

// planInput is everything computeActions looks at; it does no I/O.
type planInput struct {
	Pod   *corev1.Pod
	State *EngineState
	// Probes holds the latest probe results per instance ID.
	Probes map[string]probeState
	// SandboxReady: the sandbox of State.SandboxAttempt exists.
	SandboxReady bool
	// RestartAfterKill names containers killed with "will be restarted"
	// (image change, probe failure) that restart whatever the policy (R29).
	RestartAfterKill map[string]bool
	Now              time.Time
	// StartAnchor is the engine's clock reading when it first planned with
	// status.startTime set (zero before). It carries Go's monotonic
	// reading, so activeDeadlineSeconds counted from it is not moved by a
	// wall clock set forward or back afterwards (checkDeadline).
	StartAnchor time.Time
}

// KillAction stops one running instance outside pod termination.
type KillAction struct {
	InstanceID string
	Container  string
	Reason     string // LivenessProbe, StartupProbe or "" (definition changed)
	Message    string
	Restart    bool
	// ProbeGrace is the probe-level terminationGracePeriodSeconds (R50).
	ProbeGrace *int64
}

// Plan is what one sync should do, in the order of R11.
type Plan struct {
	CreateSandbox  bool
	SandboxChanged bool   // re-initialization after sandbox loss (R14)
	Terminate      string // non-empty: stop the pod (ordered) for this reason
	Kill           []KillAction
	StartInit      []int // indexes into spec.initContainers, spec order
	StartRegular   []int // indexes into spec.containers, spec order
	// Waiting holds containers held back by crash-loop back-off (R35).
	Waiting map[string]WaitingReason
	// WakeAt is the earliest time the pod must be synced again (zero: none).
	WakeAt      time.Time
	Initialized bool
	// PrepareAhead lists the later containers that may be created ahead
	// of their turn now, in the order their turns come (planPrepareAhead).
	// The worker creates them only with Options.PrepareAhead, and removes
	// a prepared one when it leaves the list.
	PrepareAhead []PrepareItem
}

func (p *Plan) wake(t time.Time) {
	if !t.IsZero() && (p.WakeAt.IsZero() || t.Before(p.WakeAt)) {
		p.WakeAt = t
	}
}

// computeActions is the engine's computePodActions: a pure function from
// spec, engine state, probe results and now to a Plan (R11–R37, R70, R72).
func computeActions(in *planInput) Plan {
	var p Plan
	st := in.State
	if st.Terminating != nil {
		return p // R67: nothing starts once termination began
	}
	if reason, deadline := checkDeadline(in); reason != "" {
		p.Terminate = reason
		return p
	} else {
		p.wake(deadline)
	}
	planContainers(in, &p)
	if p.Terminate == "" {
		planPrepareAhead(in, &p)
	}
	return p
}

// planContainers decides the sandbox and the containers' starts and kills.
func planContainers(in *planInput, p *Plan) {
	if !in.SandboxReady {
		planSandbox(in, p)
		return
	}
	initialized, stop := planInit(in, p)
	if stop {
		return
	}
	p.Initialized = initialized
	if !initialized {
		return // R19: regular containers are not examined before init completes
	}
	planRegular(in, p)
}

// checkDeadline applies activeDeadlineSeconds from status.startTime (R70).
func checkDeadline(in *planInput) (string, time.Time) {
	ads := in.Pod.Spec.ActiveDeadlineSeconds
	start := in.Pod.Status.StartTime
	if ads == nil || start == nil {
		return "", time.Time{}
	}
	deadline := start.Add(time.Duration(*ads) * time.Second)
	if !in.StartAnchor.IsZero() {
		// How long the pod had run when the engine anchored, by the wall
		// clock of that moment; from there on the monotonic clock counts.
		// A wall clock found behind startTime (set back since, or ahead
		// when the pod started) counts as no time run, so the deadline is
		// never postponed by how far the clock was off.
		ran := max(in.StartAnchor.Sub(start.Time), 0)
		deadline = in.StartAnchor.Add(time.Duration(*ads)*time.Second - ran)
	}
	if !in.Now.Before(deadline) {
		return TermDeadlineExceeded, time.Time{}
	}
	return "", deadline
}

// planSandbox decides what to do without a ready sandbox (R14).
func planSandbox(in *planInput, p *Plan) {
	st := in.State
	pod := in.Pod
	first := st.SandboxAttempt == 0
	created := len(st.Instances) > 0
	if !first && created && restartPolicy(pod) == corev1.RestartPolicyNever {
		p.Terminate = TermSandboxLost
		return
	}
	if !first {
		needed, everCreated := 0, false
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			if cur, _ := newest(st, c.Name, -1); cur != nil {
				everCreated = true
			}
			if completedForGood(st, pod, c) {
				continue // R106
			}
			needed++
		}
		if needed == 0 && everCreated {
			p.Terminate = TermSandboxLost
			return
		}
	}
	p.CreateSandbox = true
	p.SandboxChanged = !first
	if len(pod.Spec.InitContainers) > 0 {
		p.StartInit = []int{0}
		return
	}
	for i := range pod.Spec.Containers {
		if completedForGood(st, pod, &pod.Spec.Containers[i]) {
			continue // R106
		}
		p.StartRegular = append(p.StartRegular, i)
	}
}

// backoffGate checks the crash-loop back-off of container c whose newest
// instance is cur; it returns true when c may start now (R35).
func backoffGate(in *planInput, p *Plan, c *corev1.Container, cur *Instance) bool {
	if cur == nil || cur.State != InstanceExited {
		return true
	}
	wait, d, until := inBackoffSince(in.State.Backoff, backoffKey(c), cur.FinishedAt, in.Now)
	if !wait {
		return true
	}
	if p.Waiting == nil {
		p.Waiting = make(map[string]WaitingReason)
	}
	p.Waiting[c.Name] = WaitingReason{
		Reason: "CrashLoopBackOff",
		Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
			d, c.Name, in.Pod.Name, in.Pod.Namespace, in.Pod.UID),
		Since: cur.FinishedAt,
	}
	p.wake(until)
	return false
}
