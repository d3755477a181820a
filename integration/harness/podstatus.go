package harness

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// ContainerStatus returns the status of the container name of p, init
// (sidecars included) or regular, or nil when p has none yet.
func ContainerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	named := func(s corev1.ContainerStatus) bool { return s.Name == name }
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		if i := slices.IndexFunc(list, named); i >= 0 {
			return &list[i]
		}
	}
	return nil
}

// Running tells whether the container name of p is running.
func Running(p *corev1.Pod, name string) bool {
	s := ContainerStatus(p, name)
	return s != nil && s.State.Running != nil
}

// Terminated returns the terminated state of the container name of p, or nil.
func Terminated(p *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	if s := ContainerStatus(p, name); s != nil {
		return s.State.Terminated
	}
	return nil
}
