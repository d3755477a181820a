package supervisor

import (
	"hash/fnv"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// isSidecar reports whether an init container is a restartable one (R1).
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// classOf returns the class of init container c or of a regular container.
func classOf(c *corev1.Container, init bool) ContainerClass {
	switch {
	case !init:
		return Regular
	case isSidecar(c):
		return Sidecar
	default:
		return PlainInit
	}
}

// specHash covers only name and image, as the kubelet's hash does for
// "definition changed" (R29) and the back-off key (R35).
func specHash(c *corev1.Container) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(c.Name))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(c.Image))
	return strconv.FormatUint(h.Sum64(), 16)
}

// backoffKey is the crash-loop back-off key of a container (R35).
func backoffKey(c *corev1.Container) string {
	return c.Name + "/" + specHash(c)
}

// findContainer returns the spec container called name and whether it is
// an init container.
func findContainer(pod *corev1.Pod, name string) (*corev1.Container, bool) {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i], true
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], false
		}
	}
	return nil, false
}

func hasSidecar(pod *corev1.Pod) bool {
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			return true
		}
	}
	return false
}

func restartPolicy(pod *corev1.Pod) corev1.RestartPolicy {
	if pod.Spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return pod.Spec.RestartPolicy
}

// podGrace is the grace of kills that are not a deletion: the pod's
// deletionGracePeriodSeconds, else TGPS, else 30 (R58, R72).
func podGrace(pod *corev1.Pod) int64 {
	if pod.DeletionGracePeriodSeconds != nil {
		return *pod.DeletionGracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return 30
}

// newest returns the newest instance of container name (in sandbox attempt
// sb, or any sandbox when sb < 0) and the one before it.
func newest(st *EngineState, name string, sb int32) (cur, prev *Instance) {
	for i := len(st.Instances) - 1; i >= 0; i-- {
		in := &st.Instances[i]
		if in.Container != name || (sb >= 0 && in.SandboxAttempt != sb) {
			continue
		}
		if cur == nil {
			cur = in
		} else {
			return cur, in
		}
	}
	return cur, nil
}

// findInstance returns the instance with runtime ID id.
func findInstance(st *EngineState, id string) *Instance {
	for i := range st.Instances {
		if st.Instances[i].ID == id {
			return &st.Instances[i]
		}
	}
	return nil
}

// initFailed is the kubelet's isInitContainerFailed: exit ≠ 0, OOMKilled
// even with exit 0, or an unknown state (R19).
func initFailed(in *Instance) bool {
	return in.State == InstanceUnknown || in.ExitCode != 0 || in.Reason == "OOMKilled"
}
