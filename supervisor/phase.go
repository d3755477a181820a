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
	var n phaseCounts
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := statusByName(s.InitContainerStatuses, c.Name)
		if isSidecar(c) {
			n.countSidecar(cs)
		} else {
			n.countPlainInit(pod, c, cs)
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		n.countRegular(pod, c, statusByName(s.ContainerStatuses, c.Name))
	}
	return n.phase(podIsTerminal, podHasInitialized)
}

// statusKind is what R78 tells apart in a container status.
type statusKind int

const (
	statusMissing      statusKind = iota // no status at all
	statusRunning                        // state running
	statusTerminated                     // state terminated
	statusWaitingAgain                   // waiting after an earlier termination
	statusWaiting                        // waiting, never terminated
	statusEmpty                          // a status with no state
)

// classify returns the kind of cs and, for the terminated kinds, the exit
// code of that termination.
func classify(cs *corev1.ContainerStatus) (statusKind, int32) {
	switch {
	case cs == nil:
		return statusMissing, 0
	case cs.State.Running != nil:
		return statusRunning, 0
	case cs.State.Terminated != nil:
		return statusTerminated, cs.State.Terminated.ExitCode
	case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
		return statusWaitingAgain, cs.LastTerminationState.Terminated.ExitCode
	case cs.State.Waiting != nil:
		return statusWaiting, 0
	}
	return statusEmpty, 0
}

// phaseCounts are R78's counters.
type phaseCounts struct {
	pendingInit, failedInit, pendingSidecar                   int
	running, waiting, stopped, restarting, succeeded, unknown int
}

// countSidecar is R78's sidecar counting: a sidecar that ran and stopped
// counts for nothing (it restarts, whatever the policy).
func (n *phaseCounts) countSidecar(cs *corev1.ContainerStatus) {
	switch kind, _ := classify(cs); kind {
	case statusMissing:
		n.unknown++
	case statusRunning:
		n.running++
		if cs.Started == nil || !*cs.Started {
			n.pendingSidecar++
		}
	case statusWaiting:
		n.pendingSidecar++
		n.waiting++
	case statusEmpty:
		n.pendingSidecar++
		n.unknown++
	}
}

// countPlainInit is R78's plain init counting: one that failed for good
// (R104: it will not be restarted) fails the pod, one that has not
// finished keeps it pending, one that succeeded counts for nothing.
func (n *phaseCounts) countPlainInit(pod *corev1.Pod, c *corev1.Container, cs *corev1.ContainerStatus) {
	switch kind, code := classify(cs); kind {
	case statusTerminated, statusWaitingAgain:
		if code != 0 && !containerShouldRestart(pod, c, code) {
			n.failedInit++
		}
	default:
		n.pendingInit++
	}
}

// countRegular is R78's regular counting, with R104's restarting: a
// stopped container its policy restarts.
func (n *phaseCounts) countRegular(pod *corev1.Pod, c *corev1.Container, cs *corev1.ContainerStatus) {
	switch kind, code := classify(cs); kind {
	case statusMissing, statusEmpty:
		n.unknown++
	case statusRunning:
		n.running++
	case statusWaiting:
		n.waiting++
	case statusTerminated, statusWaitingAgain:
		n.stopped++
		if containerShouldRestart(pod, c, code) {
			n.restarting++
		}
		if kind == statusTerminated && code == 0 {
			n.succeeded++
		}
	}
}

// phase is R78's decision, first match wins.
func (n *phaseCounts) phase(podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	switch {
	case n.failedInit > 0:
		return corev1.PodFailed
	case n.pendingInit > 0 || (n.pendingSidecar > 0 && !podHasInitialized) || n.waiting > 0:
		return corev1.PodPending
	case n.unknown > 0:
		return corev1.PodPending // rules 3 and 4 need every container known
	case n.running > 0:
		return corev1.PodRunning
	case n.stopped > 0:
		return n.stoppedPhase(podIsTerminal)
	}
	return corev1.PodPending
}

// stoppedPhase is R78's rule 4 (nothing runs, something stopped): a
// terminal pod succeeded when everything stopped succeeded; before that a
// container that will restart keeps the pod Running (R104).
func (n *phaseCounts) stoppedPhase(podIsTerminal bool) corev1.PodPhase {
	allSucceeded := n.stopped == n.succeeded
	switch {
	case podIsTerminal && allSucceeded:
		return corev1.PodSucceeded
	case podIsTerminal:
		return corev1.PodFailed
	case n.restarting > 0:
		return corev1.PodRunning
	case allSucceeded:
		return corev1.PodSucceeded
	}
	return corev1.PodFailed
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
