package supervisor

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Container restart rules (ContainerRestartRules, docs/semantics.md §Y
// R100–R108): a container's own restartPolicy and restartPolicyRules take
// precedence over the pod's restartPolicy for plain init and regular
// containers. Sidecars (init containers with restartPolicy Always) are not
// concerned: they always restart (R1).

// matchingRestartRule returns the first rule of c whose exit-code condition
// holds for exitCode (R101). Rules without exitCodes or with an unknown
// operator never match, as in the kubelet.
func matchingRestartRule(c *corev1.Container, exitCode int32) (corev1.ContainerRestartRule, bool) {
	for _, r := range c.RestartPolicyRules {
		if r.ExitCodes == nil {
			continue
		}
		in := slices.Contains(r.ExitCodes.Values, exitCode)
		switch r.ExitCodes.Operator {
		case corev1.ContainerRestartRuleOnExitCodesOpIn:
			if in {
				return r, true
			}
		case corev1.ContainerRestartRuleOnExitCodesOpNotIn:
			if !in {
				return r, true
			}
		}
	}
	return corev1.ContainerRestartRule{}, false
}

// containerShouldRestart is the kubelet's ContainerShouldRestart for an
// exited container (R101): the first matching rule with action Restart, else
// the container's restartPolicy, else the pod's. Only the exit code counts.
func containerShouldRestart(pod *corev1.Pod, c *corev1.Container, exitCode int32) bool {
	if c.RestartPolicy != nil {
		if r, ok := matchingRestartRule(c, exitCode); ok && r.Action == corev1.ContainerRestartRuleActionRestart {
			return true
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch restartPolicy(pod) {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	}
	return true
}

// exitedShouldRestart decides whether an exited regular container restarts:
// R101 when the container has its own restartPolicy, else R28 (which also
// restarts an OOMKilled exit 0 under pod OnFailure).
func exitedShouldRestart(pod *corev1.Pod, c *corev1.Container, cur *Instance) bool {
	if c.RestartPolicy != nil {
		return containerShouldRestart(pod, c, cur.ExitCode)
	}
	switch restartPolicy(pod) {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return cur.ExitCode != 0 || cur.Reason == "OOMKilled"
	}
	return true
}

// failedInitShouldRestart decides whether a failed plain init container
// (initFailed) is started again or fails the pod (R102). An instance in an
// unknown state has no exit code: only the container's policy counts.
func failedInitShouldRestart(pod *corev1.Pod, c *corev1.Container, cur *Instance) bool {
	if c.RestartPolicy == nil {
		return restartPolicy(pod) != corev1.RestartPolicyNever // R19
	}
	if cur.State == InstanceUnknown {
		return *c.RestartPolicy != corev1.ContainerRestartPolicyNever
	}
	return containerShouldRestart(pod, c, cur.ExitCode)
}

// killRestarts tells whether a running container killed for a failed
// liveness or startup probe is restarted (R29, R103): the container's
// restartPolicy when set (rules are not evaluated: there is no exit code
// yet), else the pod's.
func killRestarts(pod *corev1.Pod, c *corev1.Container) bool {
	if c.RestartPolicy != nil {
		return *c.RestartPolicy != corev1.ContainerRestartPolicyNever
	}
	return restartPolicy(pod) != corev1.RestartPolicyNever
}

// runsOnce tells whether a regular container that exited 0 stays completed
// when the pod's sandbox is re-created (R106): the container's policy
// OnFailure when it has one, else the pod's OnFailure.
func runsOnce(pod *corev1.Pod, c *corev1.Container) bool {
	if c.RestartPolicy != nil {
		return *c.RestartPolicy == corev1.ContainerRestartPolicyOnFailure
	}
	return restartPolicy(pod) == corev1.RestartPolicyOnFailure
}
