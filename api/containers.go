package api

import corev1 "k8s.io/api/core/v1"

// FindContainer returns the container name of pod, init (sidecars
// included) or regular, or nil when the pod has none of that name.
// Validation makes names unique across both lists.
func FindContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
