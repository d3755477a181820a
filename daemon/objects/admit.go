package objects

import (
	"github.com/podrun/podrun/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Admit applies podrund's host policy (config file `policy:`) to a pod
// before it is stored, so a refused pod never starts: a Pod Security
// Standards violation or a hostPath outside allowedHostPaths is a 403
// worded as the API server's PodSecurity admission, an unsafe sysctl a 422
// naming the field. kind and name are the submitted object's (a Job's
// template is checked as a pod, but the refusal names the Job). A nil
// policy admits everything.
func (b *Objects) Admit(kind, name string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) error {
	if b.o.Policy == nil {
		return nil
	}
	if err := b.o.Policy.Forbidden(meta, spec); err != nil {
		return api.NewForbidden(kind, name, err)
	}
	if errs := b.o.Policy.Check(&corev1.Pod{ObjectMeta: *meta, Spec: *spec}); len(errs) > 0 {
		return api.NewInvalid(kind, name, errs)
	}
	return nil
}

// AdmitPod is Admit for a pod of its own.
func (b *Objects) AdmitPod(pod *corev1.Pod) error {
	return b.Admit("Pod", pod.Name, &pod.ObjectMeta, &pod.Spec)
}
