package server

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/podrun/podrun/api"
	corev1 "k8s.io/api/core/v1"
)

// admit applies podrund's host policy (config file `policy:`) to a pod:
// privileged containers, host namespaces and hostPath volumes are refused
// unless the operator allowed them. The message says how to allow it.
func (s *Server) admit(pod *corev1.Pod) error {
	var errs []error
	p := s.o.Policy
	spec := &pod.Spec
	if !p.AllowHostNamespaces {
		for _, ns := range []struct {
			on   bool
			name string
		}{{spec.HostNetwork, "hostNetwork"}, {spec.HostPID, "hostPID"}, {spec.HostIPC, "hostIPC"}} {
			if ns.on {
				errs = append(errs, fmt.Errorf("spec.%s is not allowed by podrund's policy (set policy.allowHostNamespaces: true in the --config file)", ns.name))
			}
		}
	}
	if !p.AllowPrivileged {
		each := func(path string, c *corev1.Container) {
			if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				errs = append(errs, fmt.Errorf("%s.securityContext.privileged is not allowed by podrund's policy (set policy.allowPrivileged: true in the --config file)", path))
			}
		}
		for i := range spec.InitContainers {
			each(fmt.Sprintf("spec.initContainers[%d]", i), &spec.InitContainers[i])
		}
		for i := range spec.Containers {
			each(fmt.Sprintf("spec.containers[%d]", i), &spec.Containers[i])
		}
	}
	for i, v := range spec.Volumes {
		if v.HostPath != nil && !hostPathAllowed(v.HostPath.Path, p.AllowedHostPaths) {
			errs = append(errs, fmt.Errorf("spec.volumes[%d].hostPath %q is outside policy.allowedHostPaths %v", i, v.HostPath.Path, p.AllowedHostPaths))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return api.NewForbidden("pod", pod.Name, errors.Join(errs...))
}

func hostPathAllowed(path string, allowed []string) bool {
	path = filepath.Clean(path)
	for _, a := range allowed {
		a = filepath.Clean(a)
		if path == a || a == "/" || strings.HasPrefix(path, a+"/") {
			return true
		}
	}
	return false
}
