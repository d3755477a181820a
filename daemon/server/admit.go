package server

import (
	"github.com/podrun/podrun/api"
	corev1 "k8s.io/api/core/v1"
)

// admit applies podrund's host policy (config file `policy:`: privileged
// containers, host namespaces, hostPath prefixes, unsafe sysctls) to a
// pod before it is stored, so a refused pod never starts and the client
// gets a 422 whose causes name the fields. A nil policy admits everything.
func (s *Server) admit(pod *corev1.Pod) error {
	if s.o.Policy == nil {
		return nil
	}
	if errs := s.o.Policy.Check(pod); len(errs) > 0 {
		return api.NewInvalid("Pod", pod.Name, errs)
	}
	return nil
}
