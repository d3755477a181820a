// Package printer renders podrund's objects for a person (kubectl-style
// tables and describe) and for tools (json, yaml, name).
package printer

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PodStatusColumns computes the READY, STATUS and RESTARTS columns of
// `get pods` exactly as kubectl's printPod does (docs/semantics.md R91–R92),
// relative to the current time.
func PodStatusColumns(pod *corev1.Pod) (ready, status, restarts string) {
	return podStatusColumns(pod, time.Now())
}

// podColumns accumulates the walk of R92.
type podColumns struct {
	reason          string
	readyCount      int
	total           int
	restarts        int
	lastRestart     time.Time
	sidecarRestarts int
	lastSidecar     time.Time
}

func podStatusColumns(pod *corev1.Pod, now time.Time) (ready, status, restarts string) {
	c := &podColumns{total: len(pod.Spec.Containers)}
	// R92.1: phase, or the pod's reason, or SchedulingGated.
	c.reason = string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		c.reason = pod.Status.Reason
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonSchedulingGated {
			c.reason = corev1.PodReasonSchedulingGated
		}
	}
	sidecars := map[string]bool{}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			sidecars[pod.Spec.InitContainers[i].Name] = true
			c.total++ // R91: sidecars count in READY's total.
		}
	}
	initializing := c.walkInit(pod, sidecars)
	// R92.3: the regular walk also runs once Initialized is True, which is
	// why a crash-looping sidecar of a running pod shows Init:CrashLoopBackOff.
	if !initializing || conditionTrue(pod, corev1.PodInitialized) {
		c.walkRegular(pod)
	}
	// R92.4
	if pod.DeletionTimestamp != nil && pod.Status.Reason == "NodeLost" {
		c.reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && !terminalPhase(pod.Status.Phase) {
		c.reason = "Terminating"
	}
	// R92.5
	restarts = strconv.Itoa(c.restarts)
	if c.restarts != 0 && !c.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", c.restarts, Age(c.lastRestart, now))
	}
	return fmt.Sprintf("%d/%d", c.readyCount, c.total), c.reason, restarts
}

// walkInit is R92.2; it reports whether an init container holds the pod.
func (c *podColumns) walkInit(pod *corev1.Pod, sidecars map[string]bool) bool {
	for i, st := range pod.Status.InitContainerStatuses {
		c.restarts += int(st.RestartCount)
		c.noteLastState(st, &c.lastRestart)
		if sidecars[st.Name] {
			c.sidecarRestarts += int(st.RestartCount)
			c.noteLastState(st, &c.lastSidecar)
		}
		term, wait := st.State.Terminated, st.State.Waiting
		switch {
		case term != nil && term.ExitCode == 0:
			continue
		case sidecars[st.Name] && st.Started != nil && *st.Started:
			if st.Ready {
				c.readyCount++
			}
			continue
		case term != nil:
			switch {
			case term.Reason != "":
				c.reason = "Init:" + term.Reason
			case term.Signal != 0:
				c.reason = fmt.Sprintf("Init:Signal:%d", term.Signal)
			default:
				c.reason = fmt.Sprintf("Init:ExitCode:%d", term.ExitCode)
			}
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			c.reason = "Init:" + wait.Reason
		default:
			c.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		return true
	}
	return false
}

// walkRegular is R92.3: regular statuses from last to first.
func (c *podColumns) walkRegular(pod *corev1.Pod) {
	c.restarts = c.sidecarRestarts
	c.lastRestart = c.lastSidecar
	hasRunning := false
	for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
		st := pod.Status.ContainerStatuses[i]
		c.restarts += int(st.RestartCount)
		c.noteLastState(st, &c.lastRestart)
		term, wait := st.State.Terminated, st.State.Waiting
		switch {
		case wait != nil && wait.Reason != "":
			c.reason = wait.Reason
		case term != nil && term.Reason != "":
			c.reason = term.Reason
		case term != nil && term.Signal != 0:
			c.reason = fmt.Sprintf("Signal:%d", term.Signal)
		case term != nil:
			c.reason = fmt.Sprintf("ExitCode:%d", term.ExitCode)
		case st.Ready && st.State.Running != nil:
			hasRunning = true
			c.readyCount++
		}
	}
	if c.reason == "Completed" && hasRunning {
		if conditionTrue(pod, corev1.PodReady) {
			c.reason = "Running"
		} else {
			c.reason = "NotReady"
		}
	}
}

func (c *podColumns) noteLastState(st corev1.ContainerStatus, last *time.Time) {
	if t := st.LastTerminationState.Terminated; t != nil && last.Before(t.FinishedAt.Time) {
		*last = t.FinishedAt.Time
	}
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func terminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// Age renders the time since t as kubectl does (5s, 3m2s, 2d3h);
// "<unknown>" for a zero time.
func Age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return humanDuration(now.Sub(t))
}

func ageOf(t metav1.Time, now time.Time) string { return Age(t.Time, now) }

func humanDuration(d time.Duration) string { return duration.HumanDuration(d) }
