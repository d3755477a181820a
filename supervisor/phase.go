package supervisor

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podPhase is the kubelet's getPhase over the API statuses (R78), with
// containers' own restart policies and rules (R104): a failed plain init
// container fails the pod only when it will not be restarted, and stopped
// regular containers keep the pod Running while one of them will restart.
func podPhase(pod *corev1.Pod, s *corev1.PodStatus, podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	var pendingInit, failedInit, pendingSidecar int
	var running, waiting, stopped, restarting, succeeded, unknown int
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := statusByName(s.InitContainerStatuses, c.Name)
		if isSidecar(c) {
			switch {
			case cs == nil:
				unknown++
			case cs.State.Running != nil:
				running++
				if cs.Started == nil || !*cs.Started {
					pendingSidecar++
				}
			case cs.State.Terminated != nil:
			case cs.State.Waiting != nil:
				if cs.LastTerminationState.Terminated == nil {
					pendingSidecar++
					waiting++
				}
			default:
				pendingSidecar++
				unknown++
			}
			continue
		}
		switch {
		case cs == nil, cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if code := cs.State.Terminated.ExitCode; code != 0 && !containerShouldRestart(pod, c, code) {
				failedInit++
			}
		case cs.State.Waiting != nil:
			if lt := cs.LastTerminationState.Terminated; lt != nil {
				if lt.ExitCode != 0 && !containerShouldRestart(pod, c, lt.ExitCode) {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := statusByName(s.ContainerStatuses, c.Name)
		switch {
		case cs == nil:
			unknown++
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if containerShouldRestart(pod, c, cs.State.Terminated.ExitCode) {
				restarting++
			}
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil:
			if lt := cs.LastTerminationState.Terminated; lt != nil {
				stopped++
				if containerShouldRestart(pod, c, lt.ExitCode) {
					restarting++
				}
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	switch {
	case failedInit > 0:
		return corev1.PodFailed
	case pendingInit > 0 || (pendingSidecar > 0 && !podHasInitialized) || waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		switch {
		case restarting > 0:
			return corev1.PodRunning // at least one container is restarting
		case stopped == succeeded:
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}

func statusByName(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// podConditions computes the kubelet-owned conditions (R81, R82); other
// conditions are kept, lastTransitionTime changes only with the status.
func podConditions(in *statusInput, s *corev1.PodStatus, prev []corev1.PodCondition, now metav1.Time) []corev1.PodCondition {
	pod := in.Pod
	ready := containersReady(pod, s)
	owned := []corev1.PodCondition{
		boolCond(corev1.PodReadyToStartContainers, in.SandboxReady && !in.Terminal, "", ""),
		initializedCond(pod, s),
		readyCond(pod, s, ready, corev1.PodReady),
		ready,
		boolCond(corev1.PodScheduled, true, "", ""),
	}
	owned[3].Type = corev1.ContainersReady
	var out []corev1.PodCondition
	for _, c := range prev {
		if !isOwnedCondition(c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range owned {
		c.LastTransitionTime = now
		for _, p := range prev {
			if p.Type == c.Type && p.Status == c.Status {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		out = append(out, c)
	}
	return out
}

func isOwnedCondition(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady,
		corev1.ContainersReady, corev1.PodScheduled:
		return true
	}
	return false
}

func boolCond(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
	st := corev1.ConditionFalse
	if ok {
		st = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: st, Reason: reason, Message: msg}
}

// initializedCond is R82's Initialized.
func initializedCond(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	if len(pod.Spec.InitContainers) == 0 {
		return boolCond(corev1.PodInitialized, true, "", "")
	}
	if s.Phase == corev1.PodSucceeded {
		return boolCond(corev1.PodInitialized, true, "PodCompleted", "")
	}
	for i := range s.ContainerStatuses {
		if st := s.ContainerStatuses[i].State; st.Running != nil || st.Terminated != nil {
			return boolCond(corev1.PodInitialized, true, "", "")
		}
	}
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := statusByName(s.InitContainerStatuses, c.Name)
		done := cs != nil && cs.Ready
		if isSidecar(c) {
			done = cs != nil && cs.Started != nil && *cs.Started
		}
		if !done {
			incomplete = append(incomplete, c.Name)
		}
	}
	if len(incomplete) == 0 {
		return boolCond(corev1.PodInitialized, true, "", "")
	}
	return boolCond(corev1.PodInitialized, false, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
}

// containersReady is R82's ContainersReady over sidecars and regulars.
func containersReady(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	switch s.Phase {
	case corev1.PodSucceeded:
		return boolCond(corev1.ContainersReady, false, "PodCompleted", "")
	case corev1.PodFailed:
		return boolCond(corev1.ContainersReady, false, "PodFailed", "")
	}
	var unready []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if cs := statusByName(s.InitContainerStatuses, c.Name); isSidecar(c) && (cs == nil || !cs.Ready) {
			unready = append(unready, c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		if cs := statusByName(s.ContainerStatuses, pod.Spec.Containers[i].Name); cs == nil || !cs.Ready {
			unready = append(unready, pod.Spec.Containers[i].Name)
		}
	}
	if len(unready) > 0 {
		return boolCond(corev1.ContainersReady, false, "ContainersNotReady",
			fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	}
	return boolCond(corev1.ContainersReady, true, "", "")
}

// readyCond is R82's Ready: ContainersReady, then readiness gates.
func readyCond(pod *corev1.Pod, s *corev1.PodStatus, cr corev1.PodCondition, t corev1.PodConditionType) corev1.PodCondition {
	c := cr
	c.Type = t
	if cr.Status != corev1.ConditionTrue {
		return c
	}
	var missing []string
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, pc := range s.Conditions {
			if pc.Type == g.ConditionType && pc.Status == corev1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			missing = append(missing, string(g.ConditionType))
		}
	}
	if len(missing) > 0 {
		return boolCond(t, false, "ReadinessGatesNotReady",
			fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but False", missing[0]))
	}
	return c
}
