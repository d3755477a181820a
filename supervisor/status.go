package supervisor

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	deadlineMessage     = "Pod was active on the node longer than the specified deadline"
	lostMessage         = "The container could not be located when the pod was terminated"
	initAssumedComplete = "Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally"
)

// statusInput is what the pod status is computed from.
type statusInput struct {
	Pod          *corev1.Pod // spec and the previous status
	State        *EngineState
	Sandbox      Sandbox
	SandboxReady bool
	Now          time.Time
	// Terminal: the final status after a termination (podIsTerminal, R62).
	Terminal bool
}

// computeStatus builds the API status (R78–R90) from the engine state.
func computeStatus(in *statusInput) corev1.PodStatus {
	pod := in.Pod
	prev := pod.Status
	s := *prev.DeepCopy()
	now := metav1.NewTime(in.Now)
	if s.StartTime == nil {
		s.StartTime = &now // R90: set once
	}
	if in.Sandbox.PodIP != "" {
		s.PodIP = in.Sandbox.PodIP
		s.PodIPs = []corev1.PodIP{{IP: in.Sandbox.PodIP}}
	}
	if len(in.Sandbox.HostIPs) > 0 {
		s.HostIP = in.Sandbox.HostIPs[0]
		s.HostIPs = nil
		for _, ip := range in.Sandbox.HostIPs {
			s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
		}
	}
	def := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		def = "PodInitializing" // R85
	}
	s.InitContainerStatuses = make([]corev1.ContainerStatus, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s.InitContainerStatuses[i] = containerStatus(in, c, classOf(c, true), def)
	}
	s.ContainerStatuses = make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		s.ContainerStatuses[i] = containerStatus(in, &pod.Spec.Containers[i], Regular, def)
	}
	if in.Terminal {
		finalCleanup(in, &s)
	}
	s.Phase = podPhase(pod, &s, in.Terminal, in.State.Initialized)
	applyPhaseOverrides(in, &prev, &s)
	s.Conditions = podConditions(in, &s, prev.Conditions, now)
	return s
}

// applyPhaseOverrides: terminal phases stick, DeadlineExceeded forces
// Failed (R70), final cleanup forces a terminal phase (R83), and the pod
// reason/message stay while the phase does not change (R90).
func applyPhaseOverrides(in *statusInput, prev, s *corev1.PodStatus) {
	if prev.Phase == corev1.PodSucceeded || prev.Phase == corev1.PodFailed {
		s.Phase = prev.Phase
	}
	forced := false
	if t := in.State.Terminating; t != nil && t.Reason == TermDeadlineExceeded {
		s.Phase = corev1.PodFailed
		s.Reason = TermDeadlineExceeded
		s.Message = deadlineMessage
		forced = true
	}
	if t := in.State.Terminating; t != nil && t.Reason == TermEvicted {
		// R71: Failed at once, whatever the containers' exit codes.
		s.Phase = corev1.PodFailed
		s.Reason = TermEvicted
		s.Message = t.Message
		forced = true
	}
	if in.Terminal && s.Phase != corev1.PodSucceeded && s.Phase != corev1.PodFailed {
		s.Phase = corev1.PodFailed
	}
	if s.Phase != prev.Phase && !forced {
		s.Reason, s.Message = "", ""
	}
}

// containerStatus is one container's status from its two newest instances
// (R84–R88).
func containerStatus(in *statusInput, c *corev1.Container, class ContainerClass, def string) corev1.ContainerStatus {
	st := in.State
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	started := false
	cs.Started = &started
	cur, prev := newest(st, c.Name, -1)
	w, waiting := st.Waiting[c.Name]
	if cur == nil {
		if class == PlainInit && st.Initialized {
			cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", Message: initAssumedComplete}
			cs.Ready = true
			return cs // R25
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: def}
		if waiting {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
		return cs
	}
	cs.RestartCount = cur.Attempt
	cs.ContainerID = "containerd://" + cur.ID
	if cur.ImageRef != "" {
		cs.Image = cur.ImageRef
	}
	cs.ImageID = cur.ImageID
	if prev != nil && (prev.State == InstanceExited || prev.State == InstanceUnknown) {
		cs.LastTerminationState.Terminated = terminatedState(prev)
	}
	switch cur.State {
	case InstanceCreated:
		cs.State.Waiting = &corev1.ContainerStateWaiting{}
		if waiting {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
	case InstanceRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cur.StartedAt)}
		started = class == PlainInit || st.Started[cur.ID]
		cs.Ready = class != PlainInit && started && (c.ReadinessProbe == nil || st.Ready[cur.ID])
	default:
		term := terminatedState(cur)
		if waiting && !w.Since.Before(cur.FinishedAt) {
			// R87: waiting for the next attempt, lastState = this termination.
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
			cs.LastTerminationState.Terminated = term
			return cs
		}
		cs.State.Terminated = term
		cs.Ready = class == PlainInit && term.ExitCode == 0 && term.Reason != "OOMKilled"
	}
	return cs
}

// terminatedState renders an exited instance (R86).
func terminatedState(in *Instance) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode:    in.ExitCode,
		Reason:      in.Reason,
		Message:     in.Message,
		StartedAt:   metav1.NewTime(in.StartedAt),
		FinishedAt:  metav1.NewTime(in.FinishedAt),
		ContainerID: "containerd://" + in.ID,
	}
	if t.Reason == "" {
		t.Reason = "Completed"
		if t.ExitCode != 0 {
			t.Reason = "Error"
		}
	}
	return t
}

// finalCleanup is TerminatePod (R83): statuses that are not terminated
// become ContainerStatusUnknown 137 once the pod has stopped.
func finalCleanup(in *statusInput, s *corev1.PodStatus) {
	pod := in.Pod
	if in.State.Initialized || len(pod.Spec.InitContainers) == 0 {
		for i := range s.ContainerStatuses {
			markLost(&s.ContainerStatuses[i])
		}
	}
	last := -1 // init statuses after the last attempted one stay as they are
	for i := range s.InitContainerStatuses {
		if s.InitContainerStatuses[i].ContainerID != "" {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		markLost(&s.InitContainerStatuses[i])
	}
}

func markLost(cs *corev1.ContainerStatus) {
	if cs.State.Terminated != nil {
		return
	}
	cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: "ContainerStatusUnknown", Message: lostMessage,
	}}
	cs.Ready = false
	f := false
	cs.Started = &f
}
