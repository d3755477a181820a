package api

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestFindContainer: init and regular containers are found by name, as
// pointers into the pod; an unknown name is nil.
func TestFindContainer(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}, {Name: "side"}},
		Containers:     []corev1.Container{{Name: "app"}},
	}}
	for _, name := range []string{"init", "side", "app"} {
		c := FindContainer(pod, name)
		if c == nil || c.Name != name {
			t.Fatalf("FindContainer(%q) = %+v", name, c)
		}
		c.Image = "found"
	}
	if pod.Spec.InitContainers[1].Image != "found" || pod.Spec.Containers[0].Image != "found" {
		t.Errorf("FindContainer returned copies, not the pod's containers: %+v", pod.Spec)
	}
	if c := FindContainer(pod, "nope"); c != nil {
		t.Errorf("FindContainer(nope) = %+v, want nil", c)
	}
}
