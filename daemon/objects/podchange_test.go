package objects

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClassifyPodChange(t *testing.T) {
	base := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent}}}}
	deadline := int64(30)
	cases := []struct {
		name string
		edit func(p *corev1.Pod)
		want podChange
	}{
		{"same", func(*corev1.Pod) {}, changeNone},
		{"label", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "2"} }, changeMeta},
		{"image and its pull policy", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image, p.Spec.Containers[0].ImagePullPolicy = "busybox:latest", corev1.PullAlways
		}, changeInPlace},
		{"activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = &deadline }, changeInPlace},
		{"pull policy alone", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways }, changeReplace},
		{"command", func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"sh"} }, changeReplace},
		{"another container", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "d", Image: "busybox:1"})
		}, changeReplace},
	}
	for _, tc := range cases {
		next := base.DeepCopy()
		tc.edit(next)
		if got := classifyPodChange(base, next); got != tc.want {
			t.Errorf("%s: change %d, want %d", tc.name, got, tc.want)
		}
	}
}
