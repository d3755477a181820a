package secopts

import (
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Policy is what the daemon's config file allows pods to ask for. A nil
// *Policy allows everything, as the kubelet does (only root reaches the
// socket). It is checked when a pod is submitted, so a refused pod never
// starts and the client sees field errors.
type Policy struct {
	// AllowPrivileged admits privileged containers.
	AllowPrivileged bool `json:"allowPrivileged"`
	// AllowHostNamespaces admits hostNetwork, hostPID and hostIPC.
	AllowHostNamespaces bool `json:"allowHostNamespaces"`
	// AllowedHostPaths are the path prefixes hostPath volumes may use
	// ("/var/log" admits /var/log and /var/log/app, not /var/logs; "/"
	// admits all). Empty: no hostPath volume is admitted, as in
	// daemon/config's policy.
	AllowedHostPaths []string `json:"allowedHostPaths,omitempty"`
	// AllowedUnsafeSysctls are sysctls besides the safe set, each a name or a
	// prefix ending in "*" (the kubelet's --allowed-unsafe-sysctls).
	AllowedUnsafeSysctls []string `json:"allowedUnsafeSysctls,omitempty"`
}

// Check returns the pod's violations of the policy, with field paths.
func (p *Policy) Check(pod *corev1.Pod) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if !p.AllowHostNamespaces {
		for _, f := range []struct {
			name string
			on   bool
		}{{"hostNetwork", pod.Spec.HostNetwork}, {"hostPID", pod.Spec.HostPID}, {"hostIPC", pod.Spec.HostIPC}} {
			if f.on {
				errs = append(errs, field.Forbidden(spec.Child(f.name), "host namespaces are not allowed by the podrund policy"))
			}
		}
	}
	if !p.AllowPrivileged {
		errs = append(errs, privilegedErrs(spec.Child("initContainers"), pod.Spec.InitContainers)...)
		errs = append(errs, privilegedErrs(spec.Child("containers"), pod.Spec.Containers)...)
		for i, c := range pod.Spec.EphemeralContainers {
			if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				errs = append(errs, field.Forbidden(spec.Child("ephemeralContainers").Index(i).Child("securityContext", "privileged"),
					"privileged containers are not allowed by the podrund policy"))
			}
		}
	}
	for i, v := range pod.Spec.Volumes {
		if v.HostPath != nil && !p.hostPathAllowed(v.HostPath.Path) {
			errs = append(errs, field.Forbidden(spec.Child("volumes").Index(i).Child("hostPath", "path"),
				"hostPath "+v.HostPath.Path+" is not under a path allowed by the podrund policy ("+strings.Join(p.AllowedHostPaths, ", ")+")"))
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for i, s := range psc.Sysctls {
			if !IsSafeSysctl(s.Name) && !p.unsafeSysctlAllowed(s.Name) {
				errs = append(errs, field.Forbidden(spec.Child("securityContext", "sysctls").Index(i).Child("name"),
					"unsafe sysctl "+s.Name+" is not allowed by the podrund policy"))
			}
		}
	}
	return errs
}

func privilegedErrs(path *field.Path, cs []corev1.Container) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Forbidden(path.Index(i).Child("securityContext", "privileged"),
				"privileged containers are not allowed by the podrund policy"))
		}
	}
	return errs
}

// hostPathAllowed compares cleaned paths element-wise, so ".." cannot climb
// out of an allowed prefix and "/var/logs" does not match "/var/log".
func (p *Policy) hostPathAllowed(path string) bool {
	clean := filepath.Clean("/" + path)
	for _, prefix := range p.AllowedHostPaths {
		pre := filepath.Clean("/" + prefix)
		if clean == pre || pre == "/" || strings.HasPrefix(clean, pre+"/") {
			return true
		}
	}
	return false
}

func (p *Policy) unsafeSysctlAllowed(name string) bool {
	name = normalizeSysctl(name)
	for _, a := range p.AllowedUnsafeSysctls {
		if a == name || strings.HasSuffix(a, "*") && strings.HasPrefix(name, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}
