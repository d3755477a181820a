package harness

import corev1 "k8s.io/api/core/v1"

// PodCondition returns p's condition of type ct, or nil when p has none.
func PodCondition(p *corev1.Pod, ct corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == ct {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// ConditionTrue tells whether p's condition ct is there and True.
func ConditionTrue(p *corev1.Pod, ct corev1.PodConditionType) bool {
	c := PodCondition(p, ct)
	return c != nil && c.Status == corev1.ConditionTrue
}

// PodReady tells whether p is Ready; it fits Client.WaitFor and
// PodWatch.UntilPod as a condition.
func PodReady(p *corev1.Pod) bool { return ConditionTrue(p, corev1.PodReady) }

// Waiting returns the waiting state of the container name of p, or nil.
func Waiting(p *corev1.Pod, name string) *corev1.ContainerStateWaiting {
	if s := ContainerStatus(p, name); s != nil {
		return s.State.Waiting
	}
	return nil
}
